import os
import time
from pathlib import Path

import pytest

from rag_ft_pipeline.training.retention import remove, run_folders, runs_to_remove, stale_checkpoints


def make_runs(root: Path, count: int) -> list[Path]:
    runs = []
    for i in range(count):
        run = root / f"run{i}"
        (run / "model").mkdir(parents=True)
        os.utime(run, (time.time() - 1000 + i, time.time() - 1000 + i))  # run4 is the newest
        runs.append(run)
    (root / "checkpoints").mkdir()
    return runs


def test_the_newest_runs_and_the_protected_one_stay(tmp_path: Path):
    runs = make_runs(tmp_path, 5)
    assert sorted(run_folders(tmp_path)) == runs  # checkpoints are not a run
    assert runs_to_remove(run_folders(tmp_path), keep=3) == [runs[1], runs[0]]
    assert runs_to_remove(run_folders(tmp_path), keep=3, protected=[runs[0]]) == [runs[1]]
    assert remove([runs[1]]) == [str(runs[1])] and not runs[1].exists()
    with pytest.raises(ValueError):
        runs_to_remove(runs, keep=0)


def test_only_checkpoints_left_alone_for_a_while_are_stale(tmp_path: Path):
    fresh, old = tmp_path / "abc", tmp_path / "def"
    for folder in (fresh, old):
        (folder / "checkpoint-2").mkdir(parents=True)
        (folder / "checkpoint-2" / "trainer_state.json").write_text("{}")
    two_hours_ago = time.time() - 7200
    for path in (old, old / "checkpoint-2", old / "checkpoint-2" / "trainer_state.json"):
        os.utime(path, (two_hours_ago, two_hours_ago))
    assert stale_checkpoints(tmp_path) == [old]
    assert stale_checkpoints(tmp_path / "missing") == []
