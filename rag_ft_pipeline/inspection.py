"""Trying models by hand: search a stored index, or evaluate any saved model, outside a Dagster run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from chromadb.api.models.Collection import Collection

from rag_ft_pipeline.chunking import Chunk
from rag_ft_pipeline.evaluation import SEARCH_DEPTH, exact_rankings
from rag_ft_pipeline.golden import GoldenRelevance
from rag_ft_pipeline.model_evaluation import EvaluationResult, evaluate_retriever

Encoder = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Hit:
    doc_id: str
    score: float  # cosine similarity
    text: str


def search_collection(collection: Collection, query_embedding: np.ndarray, k: int) -> list[Hit]:
    found = collection.query(query_embeddings=query_embedding[None, :], n_results=k, include=["documents", "metadatas", "distances"])
    return [
        Hit(doc_id=meta["doc_id"], score=1.0 - distance, text=text)
        for text, meta, distance in zip(found["documents"][0], found["metadatas"][0], found["distances"][0])
    ]


def evaluate_saved_model(
    name: str, encode_passages: Encoder, encode_queries: Encoder, chunks: Sequence[Chunk],
    eval_pairs: pd.DataFrame, golden: GoldenRelevance | None,
) -> EvaluationResult:
    """Score a model with exact search over all chunks (no index needed)."""
    return evaluate_embeddings(name, encode_passages([c.text for c in chunks]), encode_queries, chunks, eval_pairs, golden)


def evaluate_embeddings(
    name: str, corpus: np.ndarray, encode_queries: Encoder, chunks: Sequence[Chunk],
    eval_pairs: pd.DataFrame, golden: GoldenRelevance | None,
) -> EvaluationResult:
    """Score chunk embeddings already made (one row per chunk, in order) with exact search."""
    ids = [c.chunk_id for c in chunks]
    return evaluate_retriever(
        name, lambda queries: exact_rankings(encode_queries(queries), corpus, ids, SEARCH_DEPTH),
        eval_pairs, golden, {c.chunk_id: c.doc_id for c in chunks},
    )
