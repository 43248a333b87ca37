"""Run the benchmarks: each prints its details, then one summary table; all results go to JSON.

    .venv/bin/python -m benchmarks.run [--only NAME ...] [--json PATH] [size flags]

Defaults fit a 2-core machine in a few minutes; benchmarks/README.md gives the full sizes. Each
benchmark also runs alone: `python -m benchmarks.NAME` with the same flags.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks import (
    burst,
    common,
    incremental,
    indexing,
    llm_throughput,
    onnx_inference,
    quality,
    read_path,
    scale,
    training,
)

BENCHMARKS: list[common.Benchmark] = [
    indexing,
    training,
    incremental,
    llm_throughput,
    onnx_inference,
    scale,
    read_path,
    burst,
    quality,
]


def main(argv: Sequence[str] | None = None) -> list[common.Result]:
    return common.main(BENCHMARKS, argv, choose=True, description=__doc__)


if __name__ == "__main__":
    main()
