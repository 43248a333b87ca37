"""Keeping the pipeline current: a sensor on the documents folder and a retraining schedule."""

import hashlib
import json
from pathlib import Path

import dagster as dg

from rag_ft_pipeline.common.hashing import file_hash
from rag_ft_pipeline.defs.base_model import base_index
from rag_ft_pipeline.defs.finetuned_model import finetuned_model
from rag_ft_pipeline.defs.ingestion import chunks, clean_markdown, documents_partitions
from rag_ft_pipeline.defs.jobs import retraining_job
from rag_ft_pipeline.defs.questions import question_pairs
from rag_ft_pipeline.defs.resources import ProjectPathsResource
from rag_ft_pipeline.ingestion.discovery import find_documents
from rag_ft_pipeline.ingestion.status import DocumentStatusStore
from rag_ft_pipeline.settings import DEFAULT_RETRAIN_CRON, RETRAIN_CRON_ENV

# Seen files: doc id -> [modification time (ns), size, sha256]. The hash is recomputed only when
# the time or size changed, so a tick over a large folder reads only what changed.
Snapshot = dict[str, list]


def snapshot_folder(docs_dir: Path, previous: Snapshot) -> Snapshot:
    current: Snapshot = {}
    for doc in find_documents(docs_dir):
        try:
            stat = doc.path.stat()
        except OSError:  # a dangling link: still a document, to be recorded as failed
            current[doc.doc_id] = [0, 0, "unreadable"]
            continue
        seen = previous.get(doc.doc_id)
        if seen and seen[:2] == [stat.st_mtime_ns, stat.st_size]:
            current[doc.doc_id] = seen
        elif not doc.path.resolve().is_relative_to(docs_dir.resolve()) or not doc.path.resolve().is_file():
            # Never read what clean_markdown refuses (links out of the folder, devices): it records why.
            current[doc.doc_id] = [stat.st_mtime_ns, stat.st_size, "refused"]
        else:
            current[doc.doc_id] = [stat.st_mtime_ns, stat.st_size, file_hash(doc.path)]
    return current


@dg.sensor(
    target=[clean_markdown, chunks, question_pairs, base_index],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Watches the documents folder: what is new or changed in one look is processed by one run.",
)
def documents_folder_sensor(
    context: dg.SensorEvaluationContext, paths: ProjectPathsResource
) -> dg.SensorResult | dg.SkipReason:
    """Everything found new, changed (by content hash) or removed in one tick is handled by ONE run:
    its documents' clean text and chunks over a partition range, then the question pairs and the
    base index, updated incrementally. A run per document would pay seconds of process start (and
    a model load) for each. New documents are added as partitions, at the end of the partition
    order, where one range covers exactly them. A changed document's partition is deleted on one
    tick and added again on the next (Dagster refuses both for one key in one tick), so that it
    joins the new ones at the end; a removed document's partition is deleted."""
    if not paths.docs_path.is_dir():
        return dg.SkipReason(f"documents folder not found: {paths.docs_path}")
    previous: Snapshot = json.loads(context.cursor) if context.cursor else {}
    current = snapshot_folder(paths.docs_path, previous)
    known = set(context.instance.get_dynamic_partitions(documents_partitions.name))
    # Documents processed before the sensor was switched on are judged by their last run.
    with DocumentStatusStore(paths.document_status_file()) as status:
        processed = status.source_hashes()

    def is_changed(doc_id: str) -> bool:
        last_seen = previous[doc_id][2] if doc_id in previous else processed.get(doc_id)
        return doc_id not in known or last_seen != current[doc_id][2]

    changed = sorted(filter(is_changed, current))
    removed = sorted(known - set(current))
    if not changed and not removed:
        return dg.SkipReason("no document added, changed or removed")
    again = [d for d in changed if d in known]
    if again:
        # Their partitions go now; next tick they are new, and one run takes them with the rest.
        context.log.info(f"{len(again)} changed, {len(removed)} removed: partitions deleted, run next tick")
        pending = set(again) | set(removed)
        return dg.SensorResult(
            dynamic_partitions_requests=[documents_partitions.build_delete_request(sorted(pending))],
            cursor=json.dumps({d: seen for d, seen in previous.items() if d not in pending}),
        )
    context.log.info(f"{len(changed)} new, {len(removed)} removed: one run")
    # The run key names the contents and when they were seen, so a file changed back to an earlier
    # version is processed again (Dagster skips a run key it has seen).
    seen = json.dumps([[d, *current[d]] for d in changed] + [[d] for d in removed])
    run_key = "documents:" + hashlib.sha256(seen.encode()).hexdigest()[:24]
    if changed:
        run = dg.RunRequest(
            run_key=run_key,
            asset_selection=[clean_markdown.key, chunks.key, question_pairs.key, base_index.key],
            tags={"dagster/asset_partition_range_start": changed[0], "dagster/asset_partition_range_end": changed[-1]},
        )
    else:
        run = dg.RunRequest(run_key=run_key, asset_selection=[question_pairs.key, base_index.key])
    return dg.SensorResult(
        run_requests=[run],
        dynamic_partitions_requests=[
            *([documents_partitions.build_delete_request(removed)] if removed else []),
            *([documents_partitions.build_add_request(changed)] if changed else []),
        ],
        cursor=json.dumps(current),
    )


def retraining_due(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    latest_pairs = context.instance.get_latest_materialization_event(question_pairs.key)
    latest_model = context.instance.get_latest_materialization_event(finetuned_model.key)
    if latest_pairs is None:
        return dg.SkipReason("no question pairs yet")
    if latest_model is not None and latest_model.timestamp >= latest_pairs.timestamp:
        return dg.SkipReason("no document changed since the last model")
    return dg.RunRequest()


def retraining_schedule(cron: str = DEFAULT_RETRAIN_CRON) -> dg.ScheduleDefinition:
    """Retraining on `cron` (settings.retrain_cron), stopped until turned on."""
    return dg.ScheduleDefinition(
        name="retraining_schedule",
        job=retraining_job,
        cron_schedule=cron,
        execution_fn=retraining_due,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"Retrains when documents changed since the last model (cron {cron!r}, from {RETRAIN_CRON_ENV}).",
    )
