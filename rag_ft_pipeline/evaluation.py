"""Stage 6: retrieval metrics of a model's index on held-out questions."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from chromadb.api.models.Collection import Collection

from rag_ft_pipeline.indexing import search

KS = (1, 3, 5, 10)
NDCG_K = 10
Encoder = Callable[[Sequence[str]], np.ndarray]


def metric_names(ks: Sequence[int] = KS) -> list[str]:
    return [f"recall@{k}" for k in ks] + [f"mrr@{k}" for k in ks] + [f"ndcg@{NDCG_K}"]


def query_metrics(ranking: Sequence[str], relevant: set[str], ks: Sequence[int] = KS) -> dict[str, float]:
    """Recall@k (share of relevant items in the top k), MRR@k (1/rank of the first relevant item
    within k) and NDCG@10 with binary relevance, for one query."""
    first_hit = next((rank for rank, id_ in enumerate(ranking, start=1) if id_ in relevant), None)
    scores: dict[str, float] = {}
    for k in ks:
        scores[f"recall@{k}"] = len(relevant.intersection(ranking[:k])) / len(relevant)
    for k in ks:
        scores[f"mrr@{k}"] = 1.0 / first_hit if first_hit is not None and first_hit <= k else 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank, id_ in enumerate(ranking[:NDCG_K], start=1) if id_ in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), NDCG_K) + 1))
    scores[f"ndcg@{NDCG_K}"] = dcg / ideal
    return scores


def retrieval_metrics(rankings: Sequence[Sequence[str]], relevant: Sequence[set[str]], ks: Sequence[int] = KS) -> dict[str, float]:
    """Each metric averaged over queries."""
    if not rankings:
        raise ValueError("no queries to evaluate")
    per_query = pd.DataFrame([query_metrics(r, rel, ks) for r, rel in zip(rankings, relevant, strict=True)])
    return {name: float(per_query[name].mean()) for name in metric_names(ks)}


def evaluate_index(collection: Collection, encoder: Encoder, eval_pairs: pd.DataFrame) -> tuple[dict[str, float], pd.DataFrame]:
    """Search every eval question in the collection; the chunk it came from is the relevant one.

    Returns the averaged metrics and a per-question table (rank of the right chunk, or None).
    """
    rankings = search(collection, encoder(eval_pairs["query"].tolist()), max(KS))
    relevant = [{chunk_id} for chunk_id in eval_pairs["chunk_id"]]
    metrics = retrieval_metrics(rankings, relevant)
    ranks = [next((r for r, id_ in enumerate(ranking, start=1) if id_ in rel), None) for ranking, rel in zip(rankings, relevant)]
    per_question = pd.DataFrame(
        {"query": eval_pairs["query"].tolist(), "chunk_id": eval_pairs["chunk_id"].tolist(), "rank": ranks,
         "top_hit": [ranking[0] if ranking else None for ranking in rankings]}
    )
    return metrics, per_question
