"""The retention step on real folders and a real embedded Chroma: what it removes, what it never
removes, and what its metadata says."""

import os
import time
from pathlib import Path

import dagster as dg
import numpy as np

from rag_ft_pipeline.common.types import Chunk
from rag_ft_pipeline.defs.resources import ProjectPathsResource, VectorStoreResource
from rag_ft_pipeline.defs.retention import RetentionConfig, retention
from rag_ft_pipeline.evaluation.comparison import Comparison, Verdict
from rag_ft_pipeline.retrieval.retrievers import Retriever
from rag_ft_pipeline.training.trainer import MODEL_FOLDER


def _aged(path: Path, seconds_ago: float) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for item in [path, *path.rglob("*")]:
        os.utime(item, (time.time() - seconds_ago, time.time() - seconds_ago))
    return path


def test_retention_keeps_the_last_runs_the_measured_model_and_live_checkpoints(tmp_path: Path):
    models = tmp_path / "artifacts" / "finetuned_model"
    runs = [_aged(models / f"run{i}" / MODEL_FOLDER, 1000 - i).parent for i in range(4)]  # run3 is the newest
    for run in runs:
        os.utime(run, (time.time() - 1000 + int(run.name[-1]), time.time() - 1000 + int(run.name[-1])))
    stale = _aged(models / "checkpoints" / "abandoned" / "checkpoint-4", 2 * 3600).parent
    live = _aged(models / "checkpoints" / "training-now" / "checkpoint-2", 60).parent
    exports = [_aged(tmp_path / "artifacts" / "onnx_model" / f"export{i}", 1000 - i) for i in range(3)]

    paths = ProjectPathsResource(docs_dir=str(tmp_path / "docs"), artifacts_dir=str(tmp_path / "artifacts"))
    store = VectorStoreResource(persist_dir=str(tmp_path / "artifacts" / "chroma"))
    chunk = Chunk("d#0", "d", 0, 0, 5, 2, "h", "hello")
    indexes = {}
    for run in runs:
        name = Retriever.FINETUNED.index_name(str(run / MODEL_FOLDER))  # as finetuned_index names it
        store.index(name).update([chunk], encoder=lambda texts: np.ones((len(texts), 3), dtype=np.float32))
        indexes[run.name] = name

    # The comparison measured the oldest model (another run trained since): it stays.
    verdict = Verdict("golden", "hit@1", 0.1, 0.05, 0.15, "finetuned")
    measured = Comparison(
        [], "finetuned", "finetuned", "ndcg@10", verdict, {"finetuned_model_path": str(runs[0] / MODEL_FOLDER)}
    )
    result = retention(
        dg.build_asset_context(), RetentionConfig(keep_last_runs=2), measured, paths=paths, vector_store=store
    )

    assert [run.exists() for run in runs] == [True, False, True, True]
    assert store.index(indexes["run1"]).versions() == {}
    assert all(store.index(indexes[run]).current() is not None for run in ("run0", "run2", "run3"))
    assert [export.exists() for export in exports] == [False, True, True]
    assert not stale.exists() and live.exists()  # a training in progress keeps its resume point
    metadata = result.metadata
    counts = [metadata[f"removed_{kind}"] for kind in ("models", "indexes", "onnx_exports", "checkpoints")]
    assert counts == [1, 1, 1, 1] and metadata["kept_model"].path == str(runs[0])
    removed = {(row.data["what"], row.data["path"]) for row in metadata["removed"].records}
    assert ("model", str(runs[1])) in removed and ("checkpoints", str(stale)) in removed
    store.close()
