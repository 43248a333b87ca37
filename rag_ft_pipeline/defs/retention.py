"""Keeping disk use bounded after each comparison (group `retention`): older runs' models, their
indexes and ONNX exports, and checkpoints that no training will resume."""

from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from rag_ft_pipeline.defs.metadata import table
from rag_ft_pipeline.defs.resources import ProjectPathsResource, VectorStoreResource
from rag_ft_pipeline.evaluation.comparison import Comparison
from rag_ft_pipeline.retrieval.retrievers import Retriever
from rag_ft_pipeline.training.retention import (
    STALE_CHECKPOINT_SECONDS,
    remove,
    run_folders,
    runs_to_remove,
    stale_checkpoints,
)
from rag_ft_pipeline.training.trainer import MODEL_FOLDER

GROUP = "retention"
# What was removed, counted in the metadata under these names.
COUNTS = {
    "model": "removed_models",
    "index": "removed_indexes",
    "onnx export": "removed_onnx_exports",
    "checkpoints": "removed_checkpoints",
}


class RetentionConfig(dg.Config):
    keep_last_runs: int = Field(
        default=3,
        ge=1,
        description="Fine-tuned models (with their indexes) and ONNX exports of the last this many runs are kept; "
        "older ones are removed. The model the comparison measured is always kept.",
    )


@dg.asset(group_name=GROUP, kinds={"python"})
def retention(
    context: dg.AssetExecutionContext,
    config: RetentionConfig,
    comparison: Comparison,
    paths: ProjectPathsResource,
    vector_store: VectorStoreResource,
) -> dg.MaterializeResult:
    """After a comparison: the fine-tuned models (with their indexes) and ONNX exports of all but the
    last `keep_last_runs` runs, never the model the comparison measured, and checkpoints untouched
    for an hour (a training in progress writes them every few minutes)."""
    measured = Path(comparison.extra["finetuned_model_path"]).parent
    models = runs_to_remove(run_folders(paths.artifact_dir("finetuned_model")), config.keep_last_runs, {measured})
    exports = runs_to_remove(run_folders(paths.artifact_dir("onnx_model")), config.keep_last_runs)
    rows = [{"what": "model", "path": p} for p in remove(models)]
    with vector_store.writing("removing old indexes", context.log):
        for folder in models:
            index = Retriever.FINETUNED.index_name(str(folder / MODEL_FOLDER))
            rows += [{"what": "index", "path": name} for name in vector_store.index(index).drop()]
    rows += [{"what": "onnx export", "path": p} for p in remove(exports)]
    checkpoints = stale_checkpoints(paths.artifact_dir("finetuned_model") / "checkpoints")
    rows += [{"what": "checkpoints", "path": p} for p in remove(checkpoints)]
    removed = pd.DataFrame(rows, columns=["what", "path"])
    context.log.info(f"removed {len(removed)} old artifacts (keep_last_runs={config.keep_last_runs})")
    counts = removed["what"].value_counts()
    return dg.MaterializeResult(
        metadata={
            **{key: int(counts.get(what, 0)) for what, key in COUNTS.items()},
            "kept_model": dg.MetadataValue.path(str(measured)),
            "keep_last_runs": config.keep_last_runs,
            "checkpoints_removed_after_hours": STALE_CHECKPOINT_SECONDS / 3600,
            "removed": table(removed, rows=None),
        }
    )
