"""Keeping disk use bounded: the last few training runs' folders stay, older ones go."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from pathlib import Path

# Checkpoints untouched this long belong to no training in progress: it writes them every few minutes.
STALE_CHECKPOINT_SECONDS = 3600


def runs_to_remove(folders: Iterable[Path], keep: int, protected: Iterable[Path] = ()) -> list[Path]:
    """All but the `keep` newest run folders (by modification time), never one in `protected`."""
    if keep < 1:
        raise ValueError("keep at least one run")
    keep_always = {p.resolve() for p in protected}
    newest_first = sorted(folders, key=lambda p: p.stat().st_mtime, reverse=True)
    return [p for p in newest_first[keep:] if p.resolve() not in keep_always]


def run_folders(root: Path) -> list[Path]:
    """The run folders under an asset's artifact folder: visible subfolders, not `checkpoints`."""
    if not root.is_dir():
        return []
    return [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != "checkpoints"]


def stale_checkpoints(root: Path, older_than_seconds: float = STALE_CHECKPOINT_SECONDS) -> list[Path]:
    """Checkpoint folders of trainings that were interrupted and not resumed for a while."""
    cutoff = time.time() - older_than_seconds
    return [p for p in run_folders(root) if max((f.stat().st_mtime for f in p.rglob("*")), default=0) < cutoff]


def remove(folders: Iterable[Path]) -> list[str]:
    removed = []
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(str(folder))
    return removed
