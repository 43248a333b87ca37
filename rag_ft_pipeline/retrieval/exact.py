"""Exact (brute-force) search over normalized embeddings: the truth an approximate index is checked against."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sentence_transformers.util import dot_score, semantic_search


def exact_rankings(queries: np.ndarray, corpus: np.ndarray, ids: Sequence[str], k: int) -> list[list[str]]:
    """The ids of the top `k` chunks for each query by cosine (dot product of normalized embeddings)."""
    if len(queries) == 0:
        return []
    hits = semantic_search(queries, corpus, top_k=min(k, len(ids)), score_function=dot_score)
    return [[ids[hit["corpus_id"]] for hit in found] for found in hits]


def top_k_agreement(approximate: Sequence[Sequence[str]], exact: Sequence[Sequence[str]], k: int = 10) -> list[float]:
    """Per query, the share of the exact top k that the approximate search also returned in its top k."""
    return [len(set(a[:k]) & set(e[:k])) / max(len(e[:k]), 1) for a, e in zip(approximate, exact, strict=True)]
