"""Progress reports for long steps, throttled so a run's log stays readable."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

# A `(done, total)` callback, called as a long step goes on.
Progress = Callable[[int, int], None]


def progress_logger(log: logging.Logger, label: str, every_seconds: float = 10.0) -> Progress:
    """A callback that logs the first report (so the rate and time left show at once), then at most
    every `every_seconds`, and always the end."""
    started = time.monotonic()
    last: float | None = None

    def report(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if done < total and last is not None and now - last < every_seconds:
            return
        last = now
        elapsed = now - started
        rate = done / elapsed if elapsed > 0 else 0.0
        remaining = (total - done) / rate if rate > 0 else 0.0
        log.info(f"{label}: {done}/{total} ({done / max(total, 1):.0%}), {rate:.1f}/s, ~{remaining:.0f}s left")

    return report
