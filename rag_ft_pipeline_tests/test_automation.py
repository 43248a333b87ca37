"""The documents-folder sensor and the retraining schedule, through Dagster's test APIs."""

import os
import time
from pathlib import Path

import dagster as dg

from rag_ft_pipeline.automation import documents_folder_sensor, retraining_schedule
from rag_ft_pipeline.paths import ProjectPathsResource


def tick(instance: dg.DagsterInstance, docs: Path, cursor: str | None):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor,
        resources={"paths": ProjectPathsResource(docs_dir=str(docs), artifacts_dir=str(docs.parent / "artifacts"))},
    )
    result = documents_folder_sensor(context)
    if isinstance(result, dg.SensorResult):
        for request in result.dynamic_partitions_requests:  # as the daemon would
            if isinstance(request, dg.AddDynamicPartitionsRequest):
                instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
            else:
                for key in request.partition_keys:
                    instance.delete_dynamic_partition(request.partitions_def_name, key)
    return result


def requested(result) -> list[tuple[str | None, tuple[str, ...]]]:
    return [
        (r.partition_key, tuple(sorted(k.to_user_string() for k in r.asset_selection)))
        for r in result.run_requests
    ]


def test_sensor_adds_changes_and_removes_documents(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nFirst document.")
    (docs / "b b.txt").write_text("Second document.")
    with dg.instance_for_test() as instance:
        first = tick(instance, docs, None)
        assert requested(first) == [("a.md", ("chunks", "clean_markdown")), ("b b.txt", ("chunks", "clean_markdown"))]
        assert instance.get_dynamic_partitions("documents") == ["a.md", "b b.txt"]

        assert isinstance(tick(instance, docs, first.cursor), dg.SkipReason)  # nothing changed

        (docs / "a.md").write_text("# A\n\nFirst document, revised.")
        os.utime(docs / "a.md", ns=(time.time_ns() + 10**9,) * 2)
        (docs / "c.md").write_text("Third.")
        second = tick(instance, docs, first.cursor)
        assert requested(second) == [("a.md", ("chunks", "clean_markdown")), ("c.md", ("chunks", "clean_markdown"))]
        assert second.run_requests[0].run_key != first.run_requests[0].run_key  # a new run for new content

        os.utime(docs / "c.md", ns=(time.time_ns() + 2 * 10**9,) * 2)  # touched, same content
        (docs / "b b.txt").unlink()
        third = tick(instance, docs, second.cursor)
        assert requested(third) == [(None, ("base_index", "question_pairs"))]
        assert instance.get_dynamic_partitions("documents") == ["a.md", "c.md"]


def test_retraining_schedule_runs_only_after_documents_changed():
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance)
        assert isinstance(retraining_schedule(context), dg.SkipReason)
        instance.report_runless_asset_event(dg.AssetMaterialization("question_pairs"))
        assert isinstance(retraining_schedule(context), dg.RunRequest)
        instance.report_runless_asset_event(dg.AssetMaterialization("finetuned_model"))
        assert isinstance(retraining_schedule(context), dg.SkipReason)
