"""Stage 6: retrieval metrics on held-out questions, an exact-search cross-check, and uncertainty."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

KS = (1, 3, 5, 10)
NDCG_K = 10
MAP_K = 100
SEARCH_DEPTH = MAP_K  # how many results each query fetches


def query_metrics(ranking: Sequence[str], relevant: set[str], ks: Sequence[int] = KS) -> dict[str, float]:
    """For one query with binary relevance: Recall@k (share of relevant items in the top k),
    MRR@k (1/rank of the first relevant item within k), NDCG@10 and MAP@100 (average precision
    over the top 100, normalized by the number of relevant items, at most 100)."""
    hits = [rank for rank, id_ in enumerate(ranking[:MAP_K], start=1) if id_ in relevant]
    scores: dict[str, float] = {}
    for k in ks:
        scores[f"recall@{k}"] = len(relevant.intersection(ranking[:k])) / len(relevant)
    for k in ks:
        scores[f"mrr@{k}"] = 1.0 / hits[0] if hits and hits[0] <= k else 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank in hits if rank <= NDCG_K)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), NDCG_K) + 1))
    scores[f"ndcg@{NDCG_K}"] = dcg / ideal
    scores[f"map@{MAP_K}"] = sum((i + 1) / rank for i, rank in enumerate(hits)) / min(len(relevant), MAP_K)
    return scores


def per_query_metrics(rankings: Sequence[Sequence[str]], relevant: Sequence[set[str]], ks: Sequence[int] = KS) -> pd.DataFrame:
    """One row of metrics per query."""
    if not rankings:
        raise ValueError("no queries to evaluate")
    return pd.DataFrame([query_metrics(r, rel, ks) for r, rel in zip(rankings, relevant, strict=True)])


def retrieval_metrics(rankings: Sequence[Sequence[str]], relevant: Sequence[set[str]], ks: Sequence[int] = KS) -> dict[str, float]:
    """Each metric averaged over queries."""
    return {name: float(value) for name, value in per_query_metrics(rankings, relevant, ks).mean().items()}


def exact_rankings(queries: np.ndarray, corpus: np.ndarray, ids: Sequence[str], k: int) -> list[list[str]]:
    """Brute-force cosine top-k over normalized embeddings: the truth an approximate index is checked against."""
    if len(queries) == 0:
        return []
    scores = queries @ corpus.T
    k = min(k, len(ids))
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    ordered = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1), axis=1)
    return [[ids[i] for i in row] for row in ordered]


def top_k_agreement(approximate: Sequence[Sequence[str]], exact: Sequence[Sequence[str]], k: int = 10) -> float:
    """Mean share of the exact top k that the approximate search also returned in its top k."""
    shares = [len(set(a[:k]) & set(e[:k])) / max(len(e[:k]), 1) for a, e in zip(approximate, exact, strict=True)]
    return float(np.mean(shares)) if shares else 1.0


def paired_bootstrap(base: np.ndarray, other: np.ndarray, confidence: float = 0.95, resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """The mean of `other - base` over the same queries, with a percentile bootstrap interval
    (queries resampled with replacement, pairs kept together)."""
    difference = np.asarray(other, dtype=float) - np.asarray(base, dtype=float)
    mean = float(difference.mean())
    if np.allclose(difference, difference[0]):  # no spread: the interval is the value itself
        return mean, mean, mean
    interval = bootstrap(
        (difference,), np.mean, confidence_level=confidence, n_resamples=resamples,
        method="percentile", rng=np.random.default_rng(seed),
    ).confidence_interval
    return mean, float(interval.low), float(interval.high)
