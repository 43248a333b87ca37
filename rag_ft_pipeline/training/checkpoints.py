"""Resuming an interrupted training: checkpoints are keyed by what was trained, and only whole ones count."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd

from rag_ft_pipeline.training.settings import TrainingSettings


def training_fingerprint(base_model_path: str, settings: TrainingSettings, train: pd.DataFrame) -> str:
    """Same model, settings and data: the same training, so its checkpoints can be resumed."""
    data = pd.util.hash_pandas_object(train[["query", "positive"]], index=False).to_numpy().tobytes()
    # Where the curves are reported does not change the training: a run resumes whichever it names.
    key = json.dumps([base_model_path, settings.model_dump(exclude={"report_to"})], sort_keys=True).encode() + data
    return hashlib.sha256(key).hexdigest()[:16]


def resumable_checkpoint(checkpoints: Path) -> tuple[Path | None, int]:
    """The newest complete checkpoint and its step. The trainer writes trainer_state.json last, so a
    checkpoint without a whole one (or without weights) was cut off mid-write: it is removed."""
    complete: dict[int, Path] = {}
    for path in checkpoints.glob("checkpoint-*"):
        try:
            json.loads((path / "trainer_state.json").read_text())
            whole = any(path.glob("*.safetensors")) or any(path.glob("*.bin"))
        except (OSError, ValueError):
            whole = False
        if whole:
            complete[int(path.name.rsplit("-", 1)[1])] = path
        else:
            shutil.rmtree(path, ignore_errors=True)
    step = max(complete, default=0)
    return complete.get(step), step
