"""A ChromaDB collection kept in step with the chunks, embedding only what changed, and searched."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from chromadb.api.models.Collection import Collection

from rag_ft_pipeline.common.progress import Progress
from rag_ft_pipeline.common.types import Chunk, Encoder

COSINE = {"hnsw:space": "cosine"}


@dataclass(frozen=True)
class VectorIndex:
    """A model's chunk embeddings in the vector store: what the index assets hand on."""

    collection: str
    model: str  # the hub id or folder the chunks were embedded with
    chunks: int


@dataclass(frozen=True)
class IndexUpdate:
    added: int
    updated: int
    removed: int
    unchanged: int

    @property
    def embedded(self) -> int:
        return self.added + self.updated


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    doc_id: str
    score: float  # cosine similarity
    text: str


def collection_name(prefix: str, model_id: str) -> str:
    """A valid Chroma collection name (3-512 of [a-zA-Z0-9._-], alphanumeric at both ends),
    readable and unique per model."""
    readable = re.sub(r"[^a-zA-Z0-9._-]+", "-", model_id.rstrip("/").split("/")[-1])[:60].strip("-._")
    digest = hashlib.sha1(model_id.encode("utf-8")).hexdigest()[:8]
    return f"{prefix}-{readable}-{digest}" if readable else f"{prefix}-{digest}"


def chunk_metadata(chunk: Chunk) -> dict[str, str | int]:
    return {
        "doc_id": chunk.doc_id,
        "chunk_index": chunk.chunk_index,
        "start": chunk.start,
        "end": chunk.end,
        "token_count": chunk.token_count,
        "content_hash": chunk.content_hash,
    }


def sync_index(
    collection: Collection,
    chunks: Sequence[Chunk],
    encoder: Encoder,
    batch_size: int = 512,
    progress: Progress | None = None,
) -> IndexUpdate:
    """Make the collection hold exactly `chunks`: new and changed chunks are embedded and upserted,
    chunks no longer present are deleted, unchanged ones are left alone. Every write is an upsert
    or delete by chunk id, so a run killed half-way leaves no duplicate: the next run finds what
    was stored and does the rest."""
    stored = collection.get(include=["metadatas"])
    stored_hash = {id_: (meta or {}).get("content_hash") for id_, meta in zip(stored["ids"], stored["metadatas"])}
    wanted = {chunk.chunk_id for chunk in chunks}
    stale = [id_ for id_ in stored_hash if id_ not in wanted]
    for start in range(0, len(stale), batch_size):
        collection.delete(ids=stale[start : start + batch_size])

    todo = [chunk for chunk in chunks if stored_hash.get(chunk.chunk_id) != chunk.content_hash]
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        collection.upsert(
            ids=[c.chunk_id for c in batch],
            embeddings=encoder([c.text for c in batch]),
            documents=[c.text for c in batch],
            metadatas=[chunk_metadata(c) for c in batch],
        )
        if progress is not None:
            progress(start + len(batch), len(todo))
    updated = sum(1 for c in todo if c.chunk_id in stored_hash)
    return IndexUpdate(
        added=len(todo) - updated, updated=updated, removed=len(stale), unchanged=len(chunks) - len(todo)
    )


def search_collection(collection: Collection, query_embeddings: np.ndarray, k: int) -> list[list[Hit]]:
    """The top `k` chunks of each query embedding, best first."""
    found = collection.query(
        query_embeddings=query_embeddings, n_results=k, include=["documents", "metadatas", "distances"]
    )
    return [
        [
            Hit(chunk_id=id_, doc_id=meta["doc_id"], score=1.0 - distance, text=text)
            for id_, text, meta, distance in zip(ids, texts, metas, distances)
        ]
        for ids, texts, metas, distances in zip(
            found["ids"], found["documents"], found["metadatas"], found["distances"]
        )
    ]
