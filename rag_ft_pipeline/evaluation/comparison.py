"""Base, fine-tuned, BM25 and their hybrids side by side: the golden set of human questions first,
then the synthetic eval, each difference from the base model with a paired bootstrap interval, the
best model, and one verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from rag_ft_pipeline.evaluation.metrics import METRICS, paired_bootstrap
from rag_ft_pipeline.evaluation.scoring import GOLDEN_LEVELS, EvaluationResult
from rag_ft_pipeline.retrieval.retrievers import MODELS, Retriever

BASE, FINETUNED = Retriever.BASE, Retriever.FINETUNED
VERDICT_METRIC = "hit@1"
BEST_BY = "ndcg@10"
# Every retriever at or above this on the synthetic eval: it no longer tells them apart.
SATURATED = 0.98

Interval = tuple[float, float, float]  # difference, low, high
Outcome = Literal["better", "worse", "no measurable change"]


@dataclass(frozen=True)
class Block:
    """One question set at one level: metrics per retriever, and each one's difference from the base."""

    name: str  # "golden (chunk)", "golden (document)", "synthetic"
    questions: int
    metrics: pd.DataFrame  # index: metric, columns: retrievers
    intervals: dict[str, dict[str, Interval]]  # retriever -> metric -> (difference, low, high), vs base

    @property
    def saturated(self) -> bool:
        return bool((self.metrics.loc["ndcg@10"] >= SATURATED).all())

    def to_json(self) -> dict[str, object]:
        return {
            "questions": self.questions,
            "saturated": self.saturated,
            "metrics": {model: self.metrics[model].to_dict() for model in self.metrics.columns},
            "minus_base": {
                model: {m: dict(zip(("difference", "ci95_low", "ci95_high"), v)) for m, v in by_metric.items()}
                for model, by_metric in self.intervals.items()
            },
        }


@dataclass(frozen=True)
class Verdict:
    question_set: str
    metric: str
    difference: float
    low: float
    high: float
    serve: str  # the best retriever: what to serve

    @property
    def outcome(self) -> Outcome:
        if self.low > 0:
            return "better"
        if self.high < 0:
            return "worse"
        return "no measurable change"

    @property
    def text(self) -> str:
        return (
            f"fine-tuned vs base on {self.question_set}: {self.metric} {self.difference:+.2f} "
            f"(95% CI {self.low:+.2f} to {self.high:+.2f}): {self.outcome}; serve {self.serve}"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "question_set": self.question_set,
            "metric": self.metric,
            "difference": self.difference,
            "ci95_low": self.low,
            "ci95_high": self.high,
            "outcome": self.outcome,
            "serve": self.serve,
            "text": self.text,
        }


@dataclass(frozen=True)
class Comparison:
    blocks: list[Block]  # golden levels first when there is a golden set, then the synthetic eval
    best_retriever: str  # of every row, fusions included: what to serve
    best_model: str  # of the models alone: what can be exported as one
    best_by: str
    verdict: Verdict
    extra: dict[str, object] = field(default_factory=dict)

    def block(self, name: str) -> Block | None:
        return next((b for b in self.blocks if b.name == name), None)

    def to_json(self) -> dict[str, object]:
        return {
            "verdict": self.verdict.to_json(),
            "best_retriever": self.best_retriever,
            "best_model": self.best_model,
            "best_by": self.best_by,
            **{_key(block.name): block.to_json() for block in self.blocks},
            **self.extra,
        }


def _key(name: str) -> str:
    return name.replace(" (", "_").replace(")", "")


def _block(name: str, frames: dict[str, pd.DataFrame]) -> Block:
    """Per-question metric frames (same questions, same order) of each retriever, base first."""
    metrics = pd.DataFrame({model: frame[list(METRICS)].mean() for model, frame in frames.items()})
    metrics.index.name = "metric"
    base = frames[BASE]
    intervals = {
        model: {m: paired_bootstrap(base[m].to_numpy(), frame[m].to_numpy()) for m in METRICS}
        for model, frame in frames.items()
        if model != BASE
    }
    return Block(name, len(base), metrics, intervals)


def compare(results: dict[str, EvaluationResult]) -> Comparison:
    """The comparison of retrievers scored on the same questions; `results` holds at least the base
    and the fine-tuned model. Raises ValueError when they were scored on different questions."""
    base = results[BASE]
    for name, result in results.items():
        if result.per_query.get("query", pd.Series()).tolist() != base.per_query.get("query", pd.Series()).tolist():
            raise ValueError(f"{name} was scored on other eval questions than the base model")
    blocks = []
    if base.golden_per_query:
        for level in GOLDEN_LEVELS:
            blocks.append(_block(f"golden ({level})", {n: r.golden_per_query[level] for n, r in results.items()}))
    if not base.per_query.empty:
        blocks.append(_block("synthetic", {n: r.per_query for n, r in results.items()}))
    if not blocks:
        raise ValueError("nothing to compare: no eval questions and no golden set")
    lead = blocks[0]
    # A tie goes to the simpler retriever: the enumeration lists models first, the base first.
    best = max((r for r in Retriever if r in results), key=lambda r: lead.metrics.loc[BEST_BY, r]).value
    best_model = max(MODELS, key=lambda model: lead.metrics.loc[BEST_BY, model]).value
    difference, low, high = lead.intervals[FINETUNED][VERDICT_METRIC]
    question_set = "your golden set" if lead.name.startswith("golden") else "the synthetic eval questions"
    return Comparison(
        blocks=blocks,
        best_retriever=best,
        best_model=best_model,
        best_by=f"{BEST_BY} on {lead.name}",
        verdict=Verdict(question_set, VERDICT_METRIC, difference, low, high, serve=best),
    )
