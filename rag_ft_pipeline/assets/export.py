"""The optional ONNX int8 export of the best model, measured beside its torch original."""


import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from rag_ft_pipeline.assets.documents import chunks, current_document_ids, load_chunks
from rag_ft_pipeline.assets.retrieval import golden_set, require_eval_questions
from rag_ft_pipeline.embedding import Encoder, encode, load_model
from rag_ft_pipeline.inspection import evaluate_saved_model
from rag_ft_pipeline.model_evaluation import EvaluationResult
from rag_ft_pipeline.onnx_export import OnnxEncoder, export_onnx
from rag_ft_pipeline.paths import ProjectPathsResource
from rag_ft_pipeline.progress import progress_logger
from rag_ft_pipeline.resources import EmbeddingModelResource

RECALL_TOLERANCE = 0.01  # one point of Recall@10
CHECK_TEXTS = 64  # chunks encoded by torch and both graphs to verify the export


class OnnxExportConfig(dg.Config):
    per_channel: bool = True  # per-channel int8 weights; per-tensor is a little faster and loses recall
    reduce_range: bool = False  # 7-bit weights, for x86 CPUs without VNNI where 8-bit products can saturate
    threads: int | None = None  # onnxruntime threads; None: one per physical core


Encode = Callable[[Sequence[str]], np.ndarray]


def timed_encoders(
    model: Encoder, batch_size: int, prompt: str | None, seconds: list[float], log: logging.Logger, label: str,
) -> tuple[Encode, Encode]:
    """Passage and query encoders for `evaluate_saved_model`; the passage one adds its wall time to `seconds`."""

    def passages(texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        embeddings = encode(model, texts, batch_size=batch_size, progress=progress_logger(log, f"embedding chunks with {label}"))
        seconds.append(time.perf_counter() - started)
        return embeddings

    return passages, lambda queries: encode(model, queries, batch_size=batch_size, prompt=prompt)


def golden_table(results: dict[str, EvaluationResult]) -> pd.DataFrame:
    """Golden-set metrics, one column per model and level."""
    return pd.DataFrame({f"{name} ({level})": scores for name, r in results.items() for level, scores in (r.golden or {}).items()})


@dg.asset(group_name="export", kinds={"onnx", "sentencetransformers"}, deps=[chunks])
def onnx_model(
    context: dg.AssetExecutionContext, config: OnnxExportConfig, finetuned_model: dict[str, Any],
    base_metrics: EvaluationResult, finetuned_metrics: EvaluationResult, eval_pairs: pd.DataFrame,
    paths: ProjectPathsResource, embedding_model: EmbeddingModelResource,
) -> dg.Output[dict[str, Any]]:
    """The better of the base and fine-tuned model (NDCG@10 on the eval questions) exported to ONNX
    and quantized to int8 for fast CPU inference, with its metrics measured beside the torch
    model's: every chunk and question encoded by both, searched exactly, scored alike. Optional:
    `rag-ft run --onnx`, or materialize it in the UI; the full pipeline leaves it out."""
    require_eval_questions(eval_pairs)
    # As the comparison names the best model: a tie goes to the base model.
    finetuned_is_best = finetuned_metrics.metrics["ndcg@10"] > base_metrics.metrics["ndcg@10"]
    source = "finetuned" if finetuned_is_best else "base"
    model_path = finetuned_model["model_path"] if finetuned_is_best else embedding_model.resolved_path
    all_chunks = load_chunks(paths, current_document_ids(context.instance))
    folder = paths.artifact_dir("onnx_model") / context.run_id  # one folder per run, as the models
    export = export_onnx(model_path, folder, [c.text for c in all_chunks[:CHECK_TEXTS]], config.per_channel, config.reduce_range, context.log)

    golden, prompt, batch_size = golden_set(paths, all_chunks), embedding_model.effective_query_prompt, embedding_model.batch_size
    torch_model = load_model(model_path, embedding_model.device) if finetuned_is_best else embedding_model.load()
    models = {"torch": torch_model, "onnx_int8": OnnxEncoder(folder, threads=config.threads)}
    seconds: dict[str, list[float]] = {name: [] for name in models}
    results = {
        name: evaluate_saved_model(name, *timed_encoders(model, batch_size, prompt, seconds[name], context.log, name),
                                   all_chunks, eval_pairs, golden)
        for name, model in models.items()
    }
    metrics = {name: {**r.metrics, **({"golden": r.golden} if r.golden else {})} for name, r in results.items()}
    speedup = seconds["torch"][0] / seconds["onnx_int8"][0]
    report = {
        "source": source, "source_model": model_path, "folder": str(folder), "metrics": metrics,
        "chunks_per_second": {name: len(all_chunks) / s[0] for name, s in seconds.items()}, "speedup": speedup,
        "int8_cosine_to_torch": {"min": export.int8_min_cosine, "mean": export.int8_mean_cosine},
        "settings": config.model_dump(),
    }
    (folder / "onnx_metrics.json").write_text(json.dumps(report, indent=2))
    table = pd.DataFrame({name: r.metrics for name, r in results.items()})
    table["difference"] = table["onnx_int8"] - table["torch"]
    context.log.info(f"onnx int8 vs torch: {speedup:.2f}x chunks/s; recall@10 {table.loc['recall@10', 'difference']:+.4f}")
    return dg.Output(
        {"folder": str(folder), "source": source, "source_model": model_path, "metrics": metrics, "speedup": speedup},
        metadata={
            **config.model_dump(),
            "folder": dg.MetadataValue.path(str(folder)),
            "source": source,
            "source_model": model_path,
            "metrics": dg.MetadataValue.md(table.round(4).to_markdown()),
            "recall@10_difference": float(table.loc["recall@10", "difference"]),
            "speedup": round(speedup, 2),
            "torch_chunks_per_second": round(report["chunks_per_second"]["torch"], 1),
            "onnx_chunks_per_second": round(report["chunks_per_second"]["onnx_int8"], 1),
            "int8_min_cosine": export.int8_min_cosine,
            "fused_operators": dg.MetadataValue.json(export.fused_operators),
            "int8_size_mb": round(export.int8_path.stat().st_size / 2**20, 1),
            "fp32_size_mb": round(export.fp32_path.stat().st_size / 2**20, 1),
            "export_seconds": round(export.seconds, 1),
            **({"golden_metrics": dg.MetadataValue.md(golden_table(results).round(4).to_markdown())} if golden else {}),
        },
    )


@dg.asset_check(asset=onnx_model, description="Warns when the int8 model's Recall@10 is more than one point below the torch model's.")
def onnx_model_keeps_recall(onnx_model: dict[str, Any]) -> dg.AssetCheckResult:
    torch_recall, onnx_recall = (onnx_model["metrics"][name]["recall@10"] for name in ("torch", "onnx_int8"))
    return dg.AssetCheckResult(
        passed=onnx_recall >= torch_recall - RECALL_TOLERANCE,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"torch_recall@10": torch_recall, "onnx_int8_recall@10": onnx_recall},
    )
