"""The Dagster instance `rag-ft run` and `rag-ft ui` share: its home folder and its dagster.yaml."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from filelock import FileLock

from rag_ft_pipeline.settings import MAX_RUNS_ENV, Settings

# A dagster.yaml carrying this line is rag-ft's own and is rewritten from the settings; remove the
# line to keep hand edits.
MARKER = "# written by rag-ft"

INSTANCE_YAML = """{marker}: remove this line to keep your own edits
telemetry:
  enabled: false
concurrency:
  runs:
    # Runs launched from the UI, the sensor or the schedule wait in a queue beyond this many
    # ({env} sets it). A training run takes the whole machine.
    max_concurrent_runs: {max_runs}
  pools:
    # Writers of the same store (pools documents, question_cache, vector_store, training) run one
    # at a time; other steps go on.
    default_limit: 1
run_monitoring:
  # The daemon marks runs whose process died as failed, and gives back the pool slots of ended runs.
  enabled: true
  poll_interval_seconds: 30
  free_slots_after_run_end_seconds: 30
"""


def open_instance(settings: Settings) -> dg.DagsterInstance:
    """The instance in $DAGSTER_HOME when set, else in <artifact root>/dagster_home, with a config
    that fits one machine (SQLite storage in the folder, a run queue, one writer per store)."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(settings.artifacts_dir / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    # Two first runs at once would both write the config and create the SQLite tables: one would fail.
    with FileLock(home / "rag_ft_instance.lock"):
        config = home / "dagster.yaml"
        if not config.exists() or config.read_text().startswith(MARKER):
            max_runs = settings.max_concurrent_runs
            config.write_text(INSTANCE_YAML.format(marker=MARKER, env=MAX_RUNS_ENV, max_runs=max_runs))
        return dg.DagsterInstance.get()


def workspace_file(home: Path) -> Path:
    """A workspace naming the code location `rag_ft_pipeline`, as workspace.yaml, `dg` and deploy/ do."""
    path = home / "workspace.yaml"
    path.write_text(
        "load_from:\n  - python_module:\n      module_name: rag_ft_pipeline.definitions\n"
        "      location_name: rag_ft_pipeline\n"
    )
    return path
