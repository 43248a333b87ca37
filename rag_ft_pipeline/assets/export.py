"""The optional ONNX int8 export of the best model, measured beside its torch original."""


import json
from typing import Any

import dagster as dg
import pandas as pd

from rag_ft_pipeline.assets import EXPORT_GROUP
from rag_ft_pipeline.assets.documents import chunks, current_document_ids, load_chunks
from rag_ft_pipeline.assets.retrieval import golden_set, require_eval_questions
from rag_ft_pipeline.embedding import load_model
from rag_ft_pipeline.model_evaluation import EvaluationResult, best_retriever
from rag_ft_pipeline.onnx_export import OnnxEncoder, compare_with_torch, export_onnx
from rag_ft_pipeline.paths import ProjectPathsResource
from rag_ft_pipeline.progress import progress_logger
from rag_ft_pipeline.resources import EmbeddingModelResource

RECALL_TOLERANCE = 0.01  # one point of Recall@10
CHECK_TEXTS = 64  # chunks encoded by torch and both graphs to verify the export


class OnnxExportConfig(dg.Config):
    per_channel: bool = True  # per-tensor scales moved some MiniLM embeddings to a cosine of 0.65 against torch
    reduce_range: bool = False  # 7-bit weights, for x86 CPUs without VNNI where 8-bit products can saturate
    threads: int | None = None  # onnxruntime threads; None: one per physical core


@dg.asset(group_name=EXPORT_GROUP, kinds={"onnx", "sentencetransformers"}, deps=[chunks])
def onnx_model(
    context: dg.AssetExecutionContext, config: OnnxExportConfig, finetuned_model: dict[str, Any],
    base_metrics: EvaluationResult, finetuned_metrics: EvaluationResult, eval_pairs: pd.DataFrame,
    paths: ProjectPathsResource, embedding_model: EmbeddingModelResource,
) -> dg.Output[dict[str, Any]]:
    """The better of the base and fine-tuned model (NDCG@10 on the eval questions, as the comparison
    names it) exported to ONNX and quantized to int8 for fast CPU inference, with its metrics and
    speed measured beside the torch model's on the CPU: every chunk and question encoded by both,
    searched exactly, scored alike. Optional: `rag-ft run --onnx` or the UI; jobs leave it out."""
    require_eval_questions(eval_pairs)
    source = best_retriever({"base": base_metrics, "finetuned": finetuned_metrics})
    model_path = finetuned_model["model_path"] if source == "finetuned" else embedding_model.resolved_path
    all_chunks = load_chunks(paths, current_document_ids(context.instance))
    folder = paths.artifact_dir("onnx_model") / context.run_id  # one folder per run, as the models
    export = export_onnx(model_path, folder, [c.text for c in all_chunks[:CHECK_TEXTS]],
                         per_channel=config.per_channel, reduce_range=config.reduce_range, log=context.log)
    comparison = compare_with_torch(
        load_model(model_path, "cpu"), OnnxEncoder(folder, threads=config.threads), all_chunks, eval_pairs,
        golden_set(paths, all_chunks), embedding_model.effective_query_prompt, embedding_model.batch_size,
        progress=lambda name: progress_logger(context.log, f"embedding chunks with {name}"),
    )
    metrics = {name: r.report() for name, r in comparison.results.items()}
    report = {
        "source": source, "source_model": model_path, "folder": str(folder), "metrics": metrics,
        "chunks_per_second": comparison.chunks_per_second, "speedup": comparison.speedup,
        "cosine_to_torch": {"min": comparison.cosine_min, "mean": comparison.cosine_mean},
        "fused_operators": export.fused_operators, "settings": config.model_dump(),
    }
    (folder / "onnx_metrics.json").write_text(json.dumps(report, indent=2))
    context.log.info(f"onnx int8 vs torch: {comparison.speedup:.2f}x chunks/s; recall@10 {comparison.recall_difference:+.4f}")
    return dg.Output(
        {"folder": str(folder), "source": source, "source_model": model_path, "metrics": metrics, "speedup": comparison.speedup},
        metadata={
            **config.model_dump(),
            "folder": dg.MetadataValue.path(str(folder)),
            "source": source,
            "source_model": model_path,
            "metrics": dg.MetadataValue.md(comparison.table().round(4).to_markdown()),
            "recall@10_difference": comparison.recall_difference,
            "speedup": round(comparison.speedup, 2),
            "torch_chunks_per_second": round(comparison.chunks_per_second["torch"], 1),
            "onnx_chunks_per_second": round(comparison.chunks_per_second["onnx_int8"], 1),
            "cosine_to_torch_min": comparison.cosine_min,
            "fused_operators": dg.MetadataValue.json(export.fused_operators),
            "int8_size_mb": round(export.int8_path.stat().st_size / 2**20, 1),
            "fp32_size_mb": round(export.fp32_path.stat().st_size / 2**20, 1),
            "export_seconds": round(export.seconds, 1),
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
