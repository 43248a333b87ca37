"""Retrieval metrics per question, and paired bootstrap intervals for differences between retrievers."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

HIT_KS = (1, 3, 5, 10)
RECALL_K = 10
MRR_K = 10
NDCG_K = 10
MAP_K = 100
SEARCH_DEPTH = MAP_K  # how many results each query fetches
METRICS = (*(f"hit@{k}" for k in HIT_KS), f"recall@{RECALL_K}", f"mrr@{MRR_K}", f"ndcg@{NDCG_K}", f"map@{MAP_K}")


def query_metrics(ranking: Sequence[str], relevant: set[str]) -> dict[str, float]:
    """For one query with binary relevance:
    - hit@k: 1 when any relevant item is in the top k (the "Recall@k" of papers with one relevant
      passage per question);
    - recall@10: the share of the relevant items found in the top 10 (below hit@10 when a question
      has several relevant chunks, as golden questions do);
    - mrr@10 (1/rank of the first relevant item within 10), ndcg@10, and map@100 (average precision
      over the top 100, normalized by the number of relevant items, at most 100)."""
    hits = [rank for rank, id_ in enumerate(ranking[:MAP_K], start=1) if id_ in relevant]
    first = hits[0] if hits else math.inf
    scores = {f"hit@{k}": float(first <= k) for k in HIT_KS}
    scores[f"recall@{RECALL_K}"] = len(relevant.intersection(ranking[:RECALL_K])) / len(relevant)
    scores[f"mrr@{MRR_K}"] = 1.0 / first if first <= MRR_K else 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank in hits if rank <= NDCG_K)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), NDCG_K) + 1))
    scores[f"ndcg@{NDCG_K}"] = dcg / ideal
    scores[f"map@{MAP_K}"] = sum((i + 1) / rank for i, rank in enumerate(hits)) / min(len(relevant), MAP_K)
    return scores


def per_query_metrics(rankings: Sequence[Sequence[str]], relevant: Sequence[set[str]]) -> pd.DataFrame:
    """One row of metrics per query."""
    if not rankings:
        raise ValueError("no queries to evaluate")
    return pd.DataFrame([query_metrics(r, rel) for r, rel in zip(rankings, relevant, strict=True)])


def means(frame: pd.DataFrame) -> dict[str, float]:
    """Each metric column averaged over queries."""
    return {name: float(frame[name].mean()) for name in METRICS if name in frame}


def paired_bootstrap(
    base: np.ndarray, other: np.ndarray, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """The mean of `other - base` over the same queries, with a percentile bootstrap interval
    (queries resampled with replacement, pairs kept together)."""
    difference = np.asarray(other, dtype=float) - np.asarray(base, dtype=float)
    mean = float(difference.mean())
    if np.allclose(difference, difference[0]):  # no spread: the interval is the value itself
        return mean, mean, mean
    interval = bootstrap(
        (difference,),
        np.mean,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    ).confidence_interval
    return mean, float(interval.low), float(interval.high)
