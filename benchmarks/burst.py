"""A burst of documents landing while the sensor and the daemon run: runs started, time, memory.

    .venv/bin/python -m benchmarks.burst [--burst-docs 20]   # RESULTS.md: --burst-docs 100

`rag-ft ui` (the Dagster webserver, daemon and code server) starts on a project with one FDA
text, the documents sensor is switched on (over the webserver's GraphQL, as the UI's toggle does),
and N more FDA texts are copied into the folder at once. Measured until every document's
`clean_markdown` and `chunks` partitions are materialized, then until the sensor's run is done
(question pairs and the base index updated too): the runs the burst caused (target: at most 2),
the seconds, and the peak resident memory of all Dagster processes together (sampled every 0.5 s)
against their memory at rest before the burst.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from benchmarks.common import Figure, Result, fda_paths, print_table, run_alone
from rag_ft_pipeline_tests.helpers import free_port, graphql, stop_process_group

NAME = "burst"
RUNS = "{ runsOrError { ... on Runs { results { runId status } } } }"
PARTITIONS = (
    '{ assetNodeOrError(assetKey: {path: ["%s"]}) { ... on AssetNode { partitionStats { numMaterialized } } } }'
)
START_SENSOR = """mutation { startSensor(sensorSelector: {repositoryLocationName: "rag_ft_pipeline",
  repositoryName: "__repository__", sensorName: "documents_folder_sensor"}) { __typename } }"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--burst-docs", type=int, default=20, help="burst: documents dropped into the folder at once")


def tree_rss_mb(root: psutil.Process) -> float:
    total = 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:  # a child ended while the tree was listed: count again
        return tree_rss_mb(root)
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):  # a process that ended while counted
            total += process.memory_info().rss
    return total / 2**20


def materialized(port: int, asset: str) -> int:
    stats = graphql(port, PARTITIONS % asset)["data"]["assetNodeOrError"]["partitionStats"]
    return stats["numMaterialized"] if stats else 0


def wait_until(what: str, check, timeout: float, log: Path, every: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s; the UI's log ends:\n{log.read_text()[-3000:]}")
        time.sleep(every)


def run(args: argparse.Namespace) -> Result:
    first, *burst = fda_paths(args.burst_docs + 1, args.fda_start)
    rag_ft = Path(sys.executable).with_name("rag-ft")
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        shutil.copy(first, docs / first.name)
        port = free_port()
        env = {
            **os.environ,
            "RAG_FT_DOCS_DIR": str(docs),
            "RAG_FT_ARTIFACTS_DIR": str(Path(tmp) / "artifacts"),
            "HF_HUB_OFFLINE": "1",
        }
        env.pop("DAGSTER_HOME", None)
        log = Path(tmp) / "ui.log"
        with log.open("w") as out:
            ui = subprocess.Popen(
                [str(rag_ft), "ui", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until("the UI", lambda: _answers(port), 300, log)
            graphql(port, START_SENSOR)
            root = psutil.Process(ui.pid)
            # The first document's tick and run, then rest: the burst must not share a tick with it.
            wait_until(
                "the first document's run", lambda: materialized(port, "chunks") >= 1 and _all_done(port), 900, log
            )
            runs_before = len(_runs(port))
            at_rest = tree_rss_mb(root)
            peak = [at_rest]
            sampling = threading.Event()
            sampling.set()

            def sample() -> None:
                while sampling.is_set():
                    peak.append(tree_rss_mb(root))
                    time.sleep(0.5)

            sampler = threading.Thread(target=sample)
            sampler.start()
            started = time.monotonic()
            for path in burst:
                shutil.copy(path, docs / path.name)
            total = len(burst) + 1
            wait_until("every document chunked", lambda: materialized(port, "chunks") >= total, 3600, log)
            chunked = time.monotonic() - started
            wait_until("the burst's runs", lambda: _all_done(port), 3600, log)
            finished = time.monotonic() - started
            sampling.clear()
            sampler.join()
            runs = _runs(port)[: len(_runs(port)) - runs_before]
        finally:
            stop_process_group(ui, 120)
    rows = [
        {"figure": "documents dropped", "value": len(burst)},
        {"figure": "runs the burst started", "value": len(runs)},
        {"figure": "runs failed", "value": sum(r["status"] != "SUCCESS" for r in runs)},
        {"figure": "seconds until every document was chunked", "value": round(chunked, 1)},
        {"figure": "seconds until the run was done (questions, index)", "value": round(finished, 1)},
        {"figure": "Dagster processes at rest, MB", "value": round(at_rest)},
        {"figure": "Dagster processes at peak, MB", "value": round(max(peak))},
    ]
    print_table(rows)
    return Result(
        NAME,
        [
            Figure("runs started by the burst", len(runs), None, "runs", at_most=2),
            Figure("peak memory during the burst vs at rest", max(peak), at_rest, "MB"),
            Figure("seconds to chunk every document", chunked, None, "s"),
        ],
        {"rows": rows, "runs": runs},
    )


def _answers(port: int) -> bool:
    try:
        return bool(graphql(port, "{ assetNodes { id } }")["data"]["assetNodes"])
    except (OSError, KeyError, TypeError):
        return False


def _runs(port: int) -> list[dict]:
    return graphql(port, RUNS)["data"]["runsOrError"]["results"]


def _all_done(port: int) -> bool:
    return all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in _runs(port))


if __name__ == "__main__":
    run_alone(__name__)
