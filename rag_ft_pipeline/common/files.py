"""Files a later step reads are never seen half-written, and shared stores have one writer at a time."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

# How long a second writer waits for the first before it gives up with a clear error.
DEFAULT_LOCK_TIMEOUT_SECONDS = 3600.0


class LockTimeout(RuntimeError):
    """Another process held a store for longer than this one would wait."""


def lock_path(artifacts_dir: Path | str, store: str) -> Path:
    """Where the lock that serializes writers of a shared store lives, under the artifact root."""
    return Path(artifacts_dir) / ".locks" / f"{store}.lock"


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write to a temporary file with a unique name beside `path`, flush it to disk, then rename it
    over `path`: readers see the old file or the new one, never a part, and concurrent writers never
    take each other's temporary files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_directory(path: Path) -> Iterator[Path]:
    """A temporary folder beside `path` to fill; on success it takes the place of `path` (an earlier
    folder there is moved aside, then removed), on failure it is removed. A folder at `path` is
    therefore always complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    previous = path.with_name(f".{path.name}.{os.getpid()}.old.tmp")
    try:
        yield temporary
        if path.exists():
            os.replace(path, previous)
        os.replace(temporary, path)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        shutil.rmtree(previous, ignore_errors=True)


def remove_partial_files(folder: Path) -> int:
    """Delete what writers interrupted mid-write left behind (temporary files and folders)."""
    removed = 0
    for leftover in folder.glob(".*.tmp"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        removed += 1
    return removed


@contextmanager
def exclusive(
    lock_file: Path, what: str, log: logging.Logger | None = None, timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS
) -> Iterator[None]:
    """Hold an inter-process lock on `lock_file` while writing `what`. A second writer logs that it
    waits and for what, then waits up to `timeout` seconds. The operating system releases the lock
    of a process that dies, so a killed run never leaves it held."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_file)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        (log or logging.getLogger(__name__)).info(f"waiting for another process to finish writing {what} ({lock_file})")
        try:
            lock.acquire(timeout=timeout)
        except Timeout as error:
            raise LockTimeout(
                f"{what} stayed locked by another process for {timeout:.0f} s ({lock_file}); "
                "wait for the other run to finish, or stop it"
            ) from error
    try:
        yield
    finally:
        lock.release()
