"""The instance `rag-ft` opens: first runs started at once share it instead of racing to create it."""

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

# Each process imports first, then waits for the same moment, so all create the instance at once.
OPEN_AT = """
import sys, time
from pathlib import Path
from rag_ft_pipeline.cli.home import open_instance
from rag_ft_pipeline.settings import Settings
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
open_instance(Settings(docs_dir=Path("docs"), artifacts_dir=Path("artifacts"), base_model="m")).dispose()
"""


def test_first_runs_started_at_once_all_open_the_one_new_instance(tmp_path: Path):
    home = tmp_path / "dagster_home"
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    at = str(time.time() + 20)  # after every process has imported dagster, even on a busy machine
    processes = [
        subprocess.Popen([sys.executable, "-c", OPEN_AT, at], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    for process in processes:
        # Without the lock, two of them create the SQLite tables at once: "table ... already exists".
        assert process.wait(timeout=180) == 0, process.stderr.read()[-2000:]
    assert "# written by rag-ft" in (home / "dagster.yaml").read_text()
    instance = dg.DagsterInstance.from_config(str(home))  # the storage the four made is whole
    try:
        assert instance.get_runs() == [] and instance.run_coordinator.__class__.__name__ == "QueuedRunCoordinator"
    finally:
        instance.dispose()
