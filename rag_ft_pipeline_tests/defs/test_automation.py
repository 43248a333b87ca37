"""The documents-folder sensor and the retraining schedule, through Dagster's test APIs."""

import os
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.sensor_definition import SensorExecutionData

from rag_ft_pipeline.defs import build_definitions
from rag_ft_pipeline.defs.automation import retraining_due
from rag_ft_pipeline.defs.ingestion import current_document_ids
from rag_ft_pipeline.defs.io_managers import CHUNKS_IO_MANAGER
from rag_ft_pipeline.defs.resources import ProjectPathsResource
from rag_ft_pipeline.settings import MAX_RUNS_ENV, RETRAIN_CRON_ENV, Settings
from rag_ft_pipeline_tests.helpers import launch, project_settings, sensor_tick

RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def tick(instance: dg.DagsterInstance, docs: Path, cursor: str | None, resources: dict | None = None):
    paths = ProjectPathsResource(docs_dir=str(docs), artifacts_dir=str(docs.parent / "artifacts"))
    return sensor_tick(instance, resources or {"paths": paths}, cursor)


def requested(instance: dg.DagsterInstance, result: SensorExecutionData) -> list[tuple[list[str], tuple[str, ...]]]:
    """Per run: the partitions its range covers once the partition requests are applied, and its assets."""
    order = instance.get_dynamic_partitions("documents")
    runs = []
    for request in result.run_requests:
        start, end = (request.tags.get(tag) for tag in RANGE)
        covered = order[order.index(start) : order.index(end) + 1] if start else []
        runs.append((covered, tuple(sorted(k.to_user_string() for k in request.asset_selection))))
    return runs


EVERYTHING = ("base_index", "chunks", "clean_markdown", "question_pairs")


def test_sensor_adds_changes_and_removes_documents_one_run_a_tick(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nFirst document.")
    (docs / "b b.txt").write_text("Second document.")
    (docs / "d.md").write_text("Fourth.")
    with dg.instance_for_test() as instance:
        first = tick(instance, docs, None)
        assert requested(instance, first) == [(["a.md", "b b.txt", "d.md"], EVERYTHING)]
        assert instance.get_dynamic_partitions("documents") == ["a.md", "b b.txt", "d.md"]

        assert tick(instance, docs, first.cursor).skip_message  # nothing changed

        (docs / "a.md").write_text("# A\n\nFirst document, revised.")
        os.utime(docs / "a.md", ns=(time.time_ns() + 10**9,) * 2)
        (docs / "c.md").write_text("Third.")
        deleted = tick(instance, docs, first.cursor)
        assert not deleted.run_requests and instance.get_dynamic_partitions("documents") == ["b b.txt", "d.md"]
        second = tick(instance, docs, deleted.cursor)
        # The changed document moves to the end beside the new one: one range covers exactly them.
        assert requested(instance, second) == [(["a.md", "c.md"], EVERYTHING)]
        assert second.run_requests[0].run_key != first.run_requests[0].run_key  # a new run for new content

        os.utime(docs / "c.md", ns=(time.time_ns() + 2 * 10**9,) * 2)  # touched, same content
        (docs / "b b.txt").unlink()
        third = tick(instance, docs, second.cursor)
        assert requested(instance, third) == [([], ("base_index", "question_pairs"))]
        assert instance.get_dynamic_partitions("documents") == ["d.md", "a.md", "c.md"]


@pytest.mark.slow
def test_a_burst_of_thirty_documents_is_one_run_that_processes_each_once(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    topics = ["sterilization", "labeling", "stability", "software", "biocompatibility", "cybersecurity"]
    for i in range(30):
        topic = topics[i % len(topics)]
        (docs / f"guidance_{i:02}.md").write_text(
            f"# Guidance {i} on {topic}\n\nManufacturers should describe the {topic} controls of device {i} in detail, "
            f"with the test methods, the acceptance criteria and the results of every lot {i} that was released.\n\n"
            f"Sponsors should keep the {topic} records of study {i} for two years after the marketing decision."
        )
    settings = project_settings(docs, tmp_path)
    defs = build_definitions(settings)
    with dg.instance_for_test() as instance:
        result = tick(instance, docs, None, defs.resources)
        [run] = result.run_requests
        assert requested(instance, result) == [(sorted(p.name for p in docs.iterdir()), EVERYTHING)]
        assert launch(defs, instance, run).success  # as the daemon launches it, against the real definitions
        for key in ("clean_markdown", "chunks"):
            records = instance.fetch_materializations(dg.AssetKey(key), limit=100).records
            assert sorted(r.partition_key for r in records) == current_document_ids(instance)  # each exactly once
        corpus = defs.resources[CHUNKS_IO_MANAGER].corpus(current_document_ids(instance))
        index = defs.load_asset_value("base_index", instance=instance)
        assert index.chunks == len(corpus.chunks) >= 30
        assert len(dg.DagsterInstance.get_runs(instance)) == 1


def test_retraining_schedule_runs_only_after_documents_changed():
    # Entered, so the context gives back what it set up (left open, it leaks Dagster's state storage).
    with dg.instance_for_test() as instance, dg.build_schedule_context(instance=instance) as context:
        assert isinstance(retraining_due(context), dg.SkipReason)
        instance.report_runless_asset_event(dg.AssetMaterialization("question_pairs"))
        assert isinstance(retraining_due(context), dg.RunRequest)
        instance.report_runless_asset_event(dg.AssetMaterialization("finetuned_model"))
        assert isinstance(retraining_due(context), dg.SkipReason)


def test_the_retraining_schedule_and_the_run_limit_come_from_the_settings(tmp_path, monkeypatch):
    monkeypatch.setenv(RETRAIN_CRON_ENV, "15 2 * * *")
    monkeypatch.setenv(MAX_RUNS_ENV, "4")
    settings = Settings.from_env()
    assert (settings.retrain_cron, settings.max_concurrent_runs) == ("15 2 * * *", 4)
    schedule = build_definitions(settings).resolve_schedule_def("retraining_schedule")
    assert schedule.cron_schedule == "15 2 * * *"
