"""The optional ONNX int8 export of the best model, measured beside its torch original (group `export`)."""

import json
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd

from rag_ft_pipeline.common.files import atomic_directory, write_atomic
from rag_ft_pipeline.common.progress import progress_logger
from rag_ft_pipeline.common.types import Corpus
from rag_ft_pipeline.defs.dense import require_eval_questions
from rag_ft_pipeline.defs.jobs import EXPORT_GROUP
from rag_ft_pipeline.defs.metadata import table
from rag_ft_pipeline.defs.resources import EmbeddingModelResource, ProjectPathsResource
from rag_ft_pipeline.evaluation.comparison import Comparison
from rag_ft_pipeline.evaluation.golden import GoldenRelevance
from rag_ft_pipeline.evaluation.onnx_comparison import OnnxComparison, compare_with_torch
from rag_ft_pipeline.retrieval.inference import OnnxEncoder
from rag_ft_pipeline.retrieval.retrievers import Retriever
from rag_ft_pipeline.training.onnx_export import OnnxExport, OnnxSettings, export_onnx
from rag_ft_pipeline.training.trainer import FineTunedModel

HIT_TOLERANCE = 0.01  # one point of hit@10
CHECK_TEXTS = 64  # chunks encoded by torch and both graphs to verify the export


@dataclass(frozen=True)
class OnnxModel:
    """The export and how it measured against torch."""

    folder: Path
    source: str  # Retriever.BASE or FINETUNED, by value
    source_model: str
    torch_hit_at_10: float
    onnx_hit_at_10: float
    speedup: float


class OnnxExportConfig(dg.Config, OnnxSettings):
    pass


@dg.asset(group_name=EXPORT_GROUP, kinds={"onnx", "sentencetransformers"})
def onnx_model(
    context: dg.AssetExecutionContext,
    config: OnnxExportConfig,
    comparison: Comparison,
    finetuned_model: FineTunedModel,
    eval_pairs: pd.DataFrame,
    chunks: Corpus,
    golden_questions: GoldenRelevance | None,
    paths: ProjectPathsResource,
    embedding_model: EmbeddingModelResource,
) -> dg.Output[OnnxModel]:
    """The comparison's best model (chosen on the golden set when there is one) exported to ONNX and
    quantized to int8 for fast CPU inference, with its metrics and speed measured beside the torch
    model's on the CPU: every chunk and question encoded by both, searched exactly, scored alike.
    Optional: `rag-ft run --onnx` or the UI; jobs leave it out."""
    require_eval_questions(eval_pairs)
    source = comparison.best_model
    if source == Retriever.FINETUNED.value:
        model_path, prompts = str(finetuned_model.model_path), finetuned_model.prompts
    else:
        model_path, prompts = embedding_model.resolved_path, embedding_model.prompts()
    settings = OnnxSettings.model_validate(config.model_dump())
    folder = paths.artifact_dir("onnx_model") / context.run_id  # one folder per run, as the models
    with atomic_directory(folder) as staging:
        texts = [c.text for c in chunks.chunks[:CHECK_TEXTS]]
        export = export_onnx(model_path, staging, texts, settings, context.log, prompts=prompts)
    measured = compare_with_torch(
        embedding_model.load(model_path),
        OnnxEncoder(folder, threads=settings.threads),
        chunks.chunks,
        eval_pairs,
        golden_questions,
        prompts,
        embedding_model.batch_size,
        progress=lambda name: progress_logger(context.log, f"embedding chunks with {name}"),
    )
    write_atomic(
        folder / "onnx_metrics.json",
        json.dumps(_report(measured, export, folder, settings, source, model_path), indent=2),
    )
    hits = {name: measured.hit(name) for name in ("torch", "onnx_int8")}
    context.log.info(
        f"onnx int8 vs torch: {measured.speedup:.2f}x chunks/s; hit@10 {hits['onnx_int8'] - hits['torch']:+.4f}"
    )
    return dg.Output(
        OnnxModel(folder, source, model_path, hits["torch"], hits["onnx_int8"], measured.speedup),
        metadata={
            **settings.model_dump(),
            "source": source,
            "source_model": model_path,
            **_metadata(measured, export, folder),
        },
    )


def _report(
    measured: OnnxComparison, export: OnnxExport, folder: Path, settings: OnnxSettings, source: str, model_path: str
) -> dict:
    """onnx_metrics.json: both models' metrics, the speed, the cosines and how it was exported."""
    return {
        "source": source,
        "source_model": model_path,
        "folder": str(folder),
        "metrics": {name: r.report() for name, r in measured.results.items()},
        "chunks_per_second": measured.chunks_per_second,
        "speedup": measured.speedup,
        "cosine_to_torch": {"min": measured.cosine_min, "mean": measured.cosine_mean},
        "fused_operators": export.fused_operators,
        "settings": settings.model_dump(),
    }


def _metadata(measured: OnnxComparison, export: OnnxExport, folder: Path) -> dict:
    """`export.folder` was the staging folder: the files are now in `folder`."""
    hits = {name: measured.hit(name) for name in ("torch", "onnx_int8")}
    return {
        "folder": dg.MetadataValue.path(str(folder)),
        "metrics": table(measured.table().round(4), rows=None, index=True),
        "hit@10_difference": hits["onnx_int8"] - hits["torch"],
        "speedup": round(measured.speedup, 2),
        "torch_chunks_per_second": round(measured.chunks_per_second["torch"], 1),
        "onnx_chunks_per_second": round(measured.chunks_per_second["onnx_int8"], 1),
        "cosine_to_torch_min": measured.cosine_min,
        "fused_operators": dg.MetadataValue.json(export.fused_operators),
        "int8_size_mb": round((folder / export.int8_path.name).stat().st_size / 2**20, 1),
        "fp32_size_mb": round((folder / export.fp32_path.name).stat().st_size / 2**20, 1),
        "export_seconds": round(export.seconds, 1),
    }


@dg.asset_check(
    asset=onnx_model,
    description="Warns when the int8 model's hit@10 is more than one point below the torch model's "
    "(on the golden set when there is one).",
)
def onnx_model_keeps_recall(onnx_model: OnnxModel) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=onnx_model.onnx_hit_at_10 >= onnx_model.torch_hit_at_10 - HIT_TOLERANCE,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"torch_hit@10": onnx_model.torch_hit_at_10, "onnx_int8_hit@10": onnx_model.onnx_hit_at_10},
    )
