"""Scoring one retriever (a model's index, exact search over embeddings, BM25, or a fusion of two)
on the synthetic eval questions and on a golden set of human questions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from chromadb.api.models.Collection import Collection
from sentence_transformers.util import truncate_embeddings

from rag_ft_pipeline.common.types import Chunk, Encoder
from rag_ft_pipeline.evaluation.golden import GoldenRelevance, document_ranking
from rag_ft_pipeline.evaluation.metrics import SEARCH_DEPTH, means, per_query_metrics
from rag_ft_pipeline.retrieval.exact import exact_rankings, top_k_agreement

Ranker = Callable[[Sequence[str]], list[list[str]]]  # queries -> chunk ids, best first
GOLDEN_LEVELS = ("chunk", "document")


@dataclass
class EvaluationResult:
    """What the metrics assets return (small: it goes through the IO manager). Rankings are kept so
    that retrievers can be fused afterwards without searching again."""

    retriever: str
    metrics: dict[str, float]  # synthetic eval: means over questions
    per_query: pd.DataFrame  # one row per eval question: metrics, rank of its chunk, top hit
    rankings: list[list[str]] = field(default_factory=list)  # per eval question
    golden: dict[str, dict[str, float]] | None = None  # {"chunk": means, "document": means}
    golden_per_query: dict[str, pd.DataFrame] = field(default_factory=dict)  # per level, one row per question
    golden_rankings: list[list[str]] = field(default_factory=list)  # chunk ids, per golden question

    def report(self) -> dict[str, object]:
        """The metrics, with the golden set's under `golden` when there is one."""
        return {**self.metrics, **({"golden": self.golden} if self.golden else {})}

    def table(self, label: str = "synthetic eval") -> pd.DataFrame:
        """One column of eval metrics (when there were eval questions) and one per golden level."""
        columns = {label: self.metrics} if self.metrics else {}
        return pd.DataFrame({**columns, **{f"golden ({level})": m for level, m in (self.golden or {}).items()}})


def score_rankings(
    name: str,
    eval_pairs: pd.DataFrame,
    rankings: list[list[str]],
    golden: GoldenRelevance | None,
    golden_rankings: list[list[str]],
    doc_of: dict[str, str],
) -> EvaluationResult:
    """Score rankings of the eval questions (each one's own chunk is the relevant one) and of the
    golden questions (relevant chunks and documents as the golden set says)."""
    result = EvaluationResult(retriever=name, metrics={}, per_query=pd.DataFrame())
    if not eval_pairs.empty:
        per_query = per_query_metrics(rankings, [{c} for c in eval_pairs["chunk_id"]])
        per_query.insert(0, "query", eval_pairs["query"].tolist())
        per_query.insert(1, "chunk_id", eval_pairs["chunk_id"].tolist())
        per_query["rank"] = [
            next((r for r, id_ in enumerate(ranking, 1) if id_ == c), None)
            for ranking, c in zip(rankings, eval_pairs["chunk_id"])
        ]
        per_query["top_hit"] = [ranking[0] if ranking else None for ranking in rankings]
        result.metrics, result.per_query, result.rankings = means(per_query), per_query, rankings
    if golden is not None and golden.questions:
        by_level = {
            "chunk": per_query_metrics(golden_rankings, golden.chunks),
            "document": per_query_metrics([document_ranking(r, doc_of) for r in golden_rankings], golden.documents),
        }
        for frame in by_level.values():
            frame.insert(0, "question", golden.questions)
        result.golden = {level: means(frame) for level, frame in by_level.items()}
        result.golden_per_query, result.golden_rankings = by_level, golden_rankings
    return result


def evaluate_retriever(
    name: str,
    ranker: Ranker,
    eval_pairs: pd.DataFrame,
    golden: GoldenRelevance | None,
    doc_of: dict[str, str],
) -> EvaluationResult:
    """Rank every eval and golden question with `ranker` and score the rankings. Without eval
    questions only the golden set is scored."""
    rankings = ranker(eval_pairs["query"].tolist()) if not eval_pairs.empty else []
    golden_rankings = ranker(golden.questions) if golden is not None and golden.questions else []
    return score_rankings(name, eval_pairs, rankings, golden, golden_rankings, doc_of)


class DenseRanker:
    """Searches a model's Chroma collection; every search is also run exactly (brute force over the
    stored embeddings) to report how often the approximate index agrees."""

    def __init__(self, collection: Collection, encode_queries: Encoder) -> None:
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
        n_results = min(SEARCH_DEPTH, len(self.ids))
        found = self.collection.query(query_embeddings=embeddings, n_results=n_results, include=[])["ids"]
        self._agreements.extend(top_k_agreement(found, exact_rankings(embeddings, self.corpus, self.ids, 10), k=10))
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
            q, c = (_normalized(truncate_embeddings(e, dim)) for e in (queries, self.corpus))
            by_dim[dim] = means(per_query_metrics(exact_rankings(q, c, self.ids, SEARCH_DEPTH), relevant))
        return by_dim


def _normalized(embeddings: np.ndarray) -> np.ndarray:
    return embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True).clip(min=1e-12)


def evaluate_embeddings(
    name: str,
    corpus: np.ndarray,
    encode_queries: Encoder,
    chunks: Sequence[Chunk],
    eval_pairs: pd.DataFrame,
    golden: GoldenRelevance | None,
) -> EvaluationResult:
    """Score chunk embeddings already made (one row per chunk, in order) with exact search: any
    model, no index needed."""
    ids = [c.chunk_id for c in chunks]
    return evaluate_retriever(
        name,
        lambda queries: exact_rankings(encode_queries(queries), corpus, ids, SEARCH_DEPTH),
        eval_pairs,
        golden,
        {c.chunk_id: c.doc_id for c in chunks},
    )


def fused_result(
    name: str,
    results: Sequence[EvaluationResult],
    eval_pairs: pd.DataFrame,
    golden: GoldenRelevance | None,
    doc_of: dict[str, str],
    fuse: Callable[[Sequence[Sequence[str]]], list[str]],
) -> EvaluationResult:
    """Score the fusion of retrievers already scored on the same questions, from their stored
    rankings: nothing is searched again."""
    rankings = [fuse(per_retriever)[:SEARCH_DEPTH] for per_retriever in zip(*(r.rankings for r in results))]
    golden_rankings = [
        fuse(per_retriever)[:SEARCH_DEPTH] for per_retriever in zip(*(r.golden_rankings for r in results))
    ]
    return score_rankings(name, eval_pairs, rankings, golden, golden_rankings, doc_of)
