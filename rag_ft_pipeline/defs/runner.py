"""Headless runs: register the folder's documents as partitions and materialize in one run."""

from __future__ import annotations

import os
import socket
from typing import Any

import dagster as dg

from rag_ft_pipeline.defs.ingestion import documents_partitions
from rag_ft_pipeline.defs.jobs import DEFAULT_SELECTION
from rag_ft_pipeline.ingestion.discovery import document_ids
from rag_ft_pipeline.settings import Settings


def register_documents(settings: Settings, instance: dg.DagsterInstance) -> list[str]:
    """Make the `documents` partitions match the folder: add new files, drop removed ones."""
    doc_ids = document_ids(settings.docs_dir)
    name = documents_partitions.name
    known = set(instance.get_dynamic_partitions(name))
    for gone in sorted(known - set(doc_ids)):
        instance.delete_dynamic_partition(name, gone)
    instance.add_dynamic_partitions(name, [d for d in doc_ids if d not in known])
    return doc_ids


# Which process runs an in-process run: when it dies, nothing else marks the run failed or gives
# back its concurrency slots (a daemon's run monitoring does that only for runs it launched).
HOST_TAG, PID_TAG = "rag_ft/host", "rag_ft/pid"
UNFINISHED = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def recover_interrupted_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the in-process runs of this machine whose process is gone (killed, or the machine
    restarted), and give back the pool slots they held, so the next run does not wait for them."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED, tags={HOST_TAG: socket.gethostname()}))
    recovered = []
    for run in runs:
        if not _alive(int(run.tags.get(PID_TAG, "0"))):
            instance.report_run_failed(run, "its process ended without finishing it (killed?)")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            recovered.append(run.run_id)
    return recovered


def materialize_pipeline(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    selection: str | dg.AssetSelection = DEFAULT_SELECTION,
    log_level: str = "INFO",
    run_config: dict[str, Any] | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize `selection` (default: all but the ONNX export, with checks) over all document partitions
    in a single run, as the per-document assets' single-run backfill policy allows. `run_config`
    is Dagster's (the launchpad's), e.g. {"ops": {"finetuned_model": {"config": {"epochs": 1}}}}."""
    recover_interrupted_runs(instance)
    keys = instance.get_dynamic_partitions(documents_partitions.name)
    every_partition = (
        {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]} if keys else {}
    )
    owner = {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}
    return dg.materialize(
        [*defs.assets, *defs.asset_checks],
        resources=defs.resources,
        instance=instance,
        selection=selection,
        tags={**every_partition, **owner},
        run_config={**(run_config or {}), "loggers": {"console": {"config": {"log_level": log_level}}}},
        raise_on_error=False,
    )


def ops_config(**configs: dict[str, Any]) -> dict[str, Any]:
    """A run config of assets' configs: ops_config(finetuned_model={"epochs": 1})."""
    return {"ops": {name: {"config": config} for name, config in configs.items()}}


def latest_metadata(instance: dg.DagsterInstance, key: str) -> dict[str, Any]:
    """The plain values of an asset's latest materialization's metadata."""
    event = instance.get_latest_materialization_event(dg.AssetKey(key))
    if event is None or event.asset_materialization is None:
        raise LookupError(f"{key} has not been materialized")
    return {name: value.value for name, value in event.asset_materialization.metadata.items()}
