"""The ONNX int8 export beside its torch original: the same chunks and questions, encoded, searched
exactly and scored alike, with both encoding rates."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from rag_ft_pipeline.common.progress import Progress
from rag_ft_pipeline.common.types import Chunk, Encoder
from rag_ft_pipeline.evaluation.golden import GoldenRelevance
from rag_ft_pipeline.evaluation.scoring import EvaluationResult, evaluate_embeddings
from rag_ft_pipeline.retrieval.embedding import NO_PROMPTS, EmbeddingModel, Prompts, encode


@dataclass(frozen=True)
class OnnxComparison:
    """The int8 model beside its torch original, on the same chunks and questions."""

    results: dict[str, EvaluationResult]  # "torch", "onnx_int8"
    chunks_per_second: dict[str, float]
    queries_per_second: dict[str, float]
    cosine_min: float  # between the two models' embeddings of every chunk
    cosine_mean: float

    @property
    def speedup(self) -> float:
        return self.chunks_per_second["onnx_int8"] / self.chunks_per_second["torch"]

    def hit(self, model: str, k: int = 10) -> float:
        """hit@k of "torch" or "onnx_int8": on the golden set when there is one, else on the eval questions."""
        result = self.results[model]
        return result.golden["chunk"][f"hit@{k}"] if result.golden else result.metrics[f"hit@{k}"]

    def table(self) -> pd.DataFrame:
        """Every metric of both models (eval and golden columns), and the eval difference."""
        table = pd.concat({name: r.table() for name, r in self.results.items()}, axis=1)
        table.columns = [f"{name}: {column}" for name, column in table.columns]
        for column in ("synthetic eval", "golden (chunk)"):
            if f"torch: {column}" in table:
                table[f"difference: {column}"] = table[f"onnx_int8: {column}"] - table[f"torch: {column}"]
        return table


def _timed(encode_queries: Encoder, calls: list[tuple[int, float]]) -> Encoder:
    """`encode_queries`, adding (questions, seconds) of each call to `calls`."""

    def timed(queries: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        encoded = encode_queries(queries)
        calls.append((len(queries), time.perf_counter() - started))
        return encoded

    return timed


def compare_with_torch(
    torch_model: EmbeddingModel,
    onnx_model: EmbeddingModel,
    chunks: Sequence[Chunk],
    eval_pairs: pd.DataFrame,
    golden: GoldenRelevance | None,
    prompts: Prompts = NO_PROMPTS,
    batch_size: int = 32,
    progress: Callable[[str], Progress] | None = None,
) -> OnnxComparison:
    """Encode every chunk with both models (timed, after a warm-up), search every eval and golden
    question exactly in each model's own embeddings, and score both alike."""
    texts = [c.text for c in chunks]
    results, rates, query_rates, embeddings = {}, {}, {}, {}
    for name, model in {"torch": torch_model, "onnx_int8": onnx_model}.items():
        passages = partial(encode, model, batch_size=batch_size, prompt=prompts.passage)
        passages(texts[:batch_size])  # first calls pay for kernel choice and allocation
        started = time.perf_counter()
        embeddings[name] = passages(texts, progress=progress(name) if progress else None)
        rates[name] = len(texts) / (time.perf_counter() - started)
        calls: list[tuple[int, float]] = []
        encode_queries = _timed(partial(encode, model, batch_size=batch_size, prompt=prompts.query), calls)
        results[name] = evaluate_embeddings(name, embeddings[name], encode_queries, chunks, eval_pairs, golden)
        query_rates[name] = sum(n for n, _ in calls) / max(sum(seconds for _, seconds in calls), 1e-9)
    cosines = (embeddings["torch"] * embeddings["onnx_int8"]).sum(axis=1)
    return OnnxComparison(results, rates, query_rates, float(cosines.min()), float(cosines.mean()))
