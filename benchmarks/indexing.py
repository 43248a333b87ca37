"""Indexing throughput: the pipeline's embed-and-store path against plain encode + add.

    .venv/bin/python -m benchmarks.indexing [--index-chunks 300] [--repeats 1]

The pipeline path is `sync_index` with `encode` (what `base_index` runs): it reads what the
collection holds, embeds only new or changed chunks and upserts them with their metadata. The
alternative is the obvious code: `model.encode(texts, batch_size=32, normalize_embeddings=True)`
and `collection.add(...)` of the same chunks, texts and metadata. Same model, fresh collections in
one embedded Chroma store; the two run in alternating order and the best of each counts.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.common import COSINE, Figure, Result, Stopwatch, chroma_client, fda_chunks, print_table, run_alone
from rag_ft_pipeline.common.types import Chunk
from rag_ft_pipeline.retrieval.embedding import encode, load_model
from rag_ft_pipeline.retrieval.vector_store import chunk_metadata, sync_index
from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from sentence_transformers import SentenceTransformer

NAME = "indexing"
TARGET = 0.9  # the pipeline keeps at least 90% of the plain code's throughput


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--index-chunks", type=int, default=300, help="indexing: chunks embedded and stored (from the first FDA texts)"
    )


def index_plainly(client: ClientAPI, name: str, model: SentenceTransformer, chunks: Sequence[Chunk]) -> int:
    collection = client.create_collection(name, metadata=COSINE)
    texts = [c.text for c in chunks]
    embeddings = model.encode(texts, batch_size=32, normalize_embeddings=True)
    step = client.get_max_batch_size()  # Chroma refuses larger single additions
    for start in range(0, len(chunks), step):
        part = chunks[start : start + step]
        collection.add(
            ids=[c.chunk_id for c in part],
            embeddings=embeddings[start : start + step],
            documents=texts[start : start + step],
            metadatas=[chunk_metadata(c) for c in part],
        )
    return collection.count()


def index_with_pipeline(client: ClientAPI, name: str, model: SentenceTransformer, chunks: Sequence[Chunk]) -> int:
    collection = client.create_collection(name, metadata=COSINE)
    sync_index(collection, chunks, encoder=lambda texts: encode(model, texts, batch_size=32))
    return collection.count()


def run(args: argparse.Namespace) -> Result:
    chunks = fda_chunks(args.index_chunks, args.fda_start)
    model = load_model(DEFAULT_BASE_MODEL)
    model.encode([c.text for c in chunks[:32]])  # warm-up: the first call pays one-off set-up costs
    ways = {"plain": index_plainly, "pipeline": index_with_pipeline}  # plain first, then alternating
    trials: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        client = chroma_client(Path(tmp))
        for repeat in range(1, args.repeats + 1):
            for label, index in ways.items():
                with Stopwatch() as clock:
                    stored = index(client, f"{label}-{repeat}", model, chunks)
                trials.append(
                    {
                        "run": label,
                        "repeat": repeat,
                        "chunks": len(chunks),
                        "stored": stored,
                        "seconds": round(clock.seconds, 2),
                        "chunks/s": len(chunks) / clock.seconds,
                    }
                )
    best = {label: max(t["chunks/s"] for t in trials if t["run"] == label) for label in ways}
    print(f"{len(chunks)} chunks from {len({c.doc_id for c in chunks})} FDA documents, model {DEFAULT_BASE_MODEL}")
    print_table(trials)
    return Result(
        NAME,
        [Figure("embed and store", best["pipeline"], best["plain"], "chunks/s", at_least=TARGET)],
        {"chunks": len(chunks), "documents": len({c.doc_id for c in chunks}), "trials": trials},
    )


if __name__ == "__main__":
    run_alone(__name__)
