"""Scoring one retriever (a model's index, or BM25) on the eval pairs and an optional golden set."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from chromadb.api.models.Collection import Collection

from rag_ft_pipeline.evaluation import SEARCH_DEPTH, exact_rankings, per_query_metrics, top_k_agreement
from rag_ft_pipeline.golden import GoldenRelevance, document_ranking

Ranker = Callable[[Sequence[str]], list[list[str]]]  # queries -> chunk ids, best first


@dataclass
class EvaluationResult:
    """What the metrics assets return (small: it goes through the IO manager)."""

    retriever: str
    metrics: dict[str, float]
    per_query: pd.DataFrame  # one row per eval question: metrics, rank of its chunk, top hit
    golden: dict[str, dict[str, float]] | None = None  # {"chunk": metrics, "document": metrics}

    def report(self) -> dict[str, object]:
        """The metrics, with the golden set's under `golden` when there is one (comparison.json's shape)."""
        return {**self.metrics, **({"golden": self.golden} if self.golden else {})}

    def table(self, label: str = "synthetic eval") -> pd.DataFrame:
        """One column of eval metrics (when there were eval questions) and one per golden level."""
        columns = {label: self.metrics} if self.metrics else {}
        return pd.DataFrame({**columns, **{f"golden ({level})": m for level, m in (self.golden or {}).items()}})


def best_retriever(results: dict[str, EvaluationResult], metric: str = "ndcg@10") -> str:
    """The name with the highest `metric`; a tie goes to the first named (the base model, listed first)."""
    return max(results, key=lambda name: results[name].metrics[metric])


def means(frame: pd.DataFrame) -> dict[str, float]:
    return {name: float(value) for name, value in frame.mean(numeric_only=True).items() if name != "rank"}


def evaluate_retriever(
    name: str,
    ranker: Ranker,
    eval_pairs: pd.DataFrame,
    golden: GoldenRelevance | None,
    doc_of: dict[str, str],
) -> EvaluationResult:
    """Rank every eval question (its own chunk is the relevant one) and every golden question
    (relevant chunks and documents as the golden set says), and score the rankings. Without eval
    questions only the golden set is scored."""
    result = EvaluationResult(retriever=name, metrics={}, per_query=pd.DataFrame())
    if not eval_pairs.empty:
        rankings = ranker(eval_pairs["query"].tolist())
        per_query = per_query_metrics(rankings, [{c} for c in eval_pairs["chunk_id"]])
        per_query.insert(0, "query", eval_pairs["query"].tolist())
        per_query.insert(1, "chunk_id", eval_pairs["chunk_id"].tolist())
        per_query["rank"] = [next((r for r, id_ in enumerate(ranking, 1) if id_ == c), None) for ranking, c in zip(rankings, eval_pairs["chunk_id"])]
        per_query["top_hit"] = [ranking[0] if ranking else None for ranking in rankings]
        result.metrics, result.per_query = means(per_query.drop(columns=["rank"])), per_query
    if golden is not None and golden.questions:
        golden_rankings = ranker(golden.questions)
        by_level = {
            "chunk": per_query_metrics(golden_rankings, golden.chunks),
            "document": per_query_metrics([document_ranking(r, doc_of) for r in golden_rankings], golden.documents),
        }
        result.golden = {level: means(frame) for level, frame in by_level.items()}
    return result


class DenseRanker:
    """Searches a model's Chroma collection; every search is also run exactly (brute force over the
    stored embeddings) to report how often the approximate index agrees."""

    def __init__(self, collection: Collection, encode_queries: Callable[[Sequence[str]], np.ndarray]) -> None:
        stored = collection.get(include=["embeddings"])
        self.collection = collection
        self.encode_queries = encode_queries
        self.ids: list[str] = stored["ids"]
        self.corpus = np.asarray(stored["embeddings"], dtype=np.float32)
        self._agreements: list[float] = []  # one share per query

    def __call__(self, queries: Sequence[str]) -> list[list[str]]:
        if not queries:
            return []
        embeddings = self.encode_queries(queries)
        found = self.collection.query(query_embeddings=embeddings, n_results=min(SEARCH_DEPTH, len(self.ids)), include=[])["ids"]
        exact = exact_rankings(embeddings, self.corpus, self.ids, 10)
        self._agreements.extend(top_k_agreement([a], [e], k=10) for a, e in zip(found, exact))
        return found

    @property
    def agreement(self) -> float | None:
        return float(np.mean(self._agreements)) if self._agreements else None

    def truncated_metrics(self, eval_pairs: pd.DataFrame, dims: Sequence[int]) -> dict[int, dict[str, float]]:
        """Exact-search metrics with embeddings cut to their first `dim` values (Matryoshka)."""
        queries = self.encode_queries(eval_pairs["query"].tolist())
        relevant = [{c} for c in eval_pairs["chunk_id"]]
        by_dim = {}
        for dim in dims:
            q, c = _truncate(queries, dim), _truncate(self.corpus, dim)
            by_dim[dim] = means(per_query_metrics(exact_rankings(q, c, self.ids, SEARCH_DEPTH), relevant))
        return by_dim


def _truncate(embeddings: np.ndarray, dim: int) -> np.ndarray:
    cut = embeddings[:, :dim]
    return cut / np.linalg.norm(cut, axis=1, keepdims=True).clip(min=1e-12)
