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

    name: str  # the index's name: looked up, it gives the latest published version
    collection: str  # the version this materialization published
    model: str  # the hub id or folder the chunks were embedded with
    chunks: int


@dataclass(frozen=True)
class IndexUpdate:
    """What changed against the version replaced, and how many chunks this call had to encode
    (fewer than the changes when a killed update's work was carried on)."""

    added: int
    updated: int
    removed: int
    unchanged: int
    encoded: int = 0

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
    source: Collection | None = None,
    baseline: dict[str, str | None] | None = None,
) -> IndexUpdate:
    """Make `collection` hold exactly `chunks`: chunks it already holds unchanged are left alone,
    chunks `source` holds unchanged are copied from it (no embedding), the rest are embedded;
    chunks no longer present are deleted. Every write is an upsert or delete by chunk id, so a run
    killed half-way leaves no duplicate: the next run finds what was stored and does the rest.
    The counts compare with `baseline` (the chunk hashes of the version being replaced) when given,
    else with what `collection` held."""
    have = stored_hashes(collection)
    before = baseline if baseline is not None else have
    source_hashes = stored_hashes(source) if source is not None else {}
    wanted = {chunk.chunk_id for chunk in chunks}
    stale = [id_ for id_ in have if id_ not in wanted]
    for start in range(0, len(stale), batch_size):
        collection.delete(ids=stale[start : start + batch_size])
    missing = [chunk for chunk in chunks if have.get(chunk.chunk_id) != chunk.content_hash]
    copyable = {c.chunk_id for c in missing if source_hashes.get(c.chunk_id) == c.content_hash}
    if copyable:
        ids = sorted(copyable)
        for start in range(0, len(ids), batch_size):
            found = source.get(ids=ids[start : start + batch_size], include=["embeddings", "documents", "metadatas"])
            collection.upsert(
                ids=found["ids"],
                embeddings=found["embeddings"],
                documents=found["documents"],
                metadatas=found["metadatas"],
            )
    todo = [chunk for chunk in missing if chunk.chunk_id not in copyable]
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
    changed = [c for c in chunks if before.get(c.chunk_id) != c.content_hash]
    updated = sum(1 for c in changed if c.chunk_id in before)
    return IndexUpdate(
        added=len(changed) - updated,
        updated=updated,
        removed=len(set(before) - wanted),
        unchanged=len(chunks) - len(changed),
        encoded=len(todo),
    )


def stored_hashes(collection: Collection) -> dict[str, str | None]:
    """The content hash of each chunk a collection holds, by chunk id."""
    stored = collection.get(include=["metadatas"])
    return {id_: (meta or {}).get("content_hash") for id_, meta in zip(stored["ids"], stored["metadatas"])}


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
