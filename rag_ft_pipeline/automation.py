"""Keeping the pipeline current: a sensor on the documents folder and a retraining schedule."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import dagster as dg

from rag_ft_pipeline.assets.documents import chunks, clean_markdown, documents_partitions
from rag_ft_pipeline.assets.questions import question_pairs, split_question_pairs
from rag_ft_pipeline.assets.retrieval import base_index, base_metrics, bm25_metrics, comparison, finetuned_index, finetuned_metrics
from rag_ft_pipeline.assets.training import finetuned_model
from rag_ft_pipeline.document_status import DocumentStatusStore
from rag_ft_pipeline.ingest import file_hash, find_documents
from rag_ft_pipeline.paths import ProjectPathsResource

RETRAIN_CRON_ENV = "RAG_FT_RETRAIN_CRON"

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
    description="Watches the documents folder: new and changed files are processed, removed ones dropped.",
)
def documents_folder_sensor(context: dg.SensorEvaluationContext, paths: ProjectPathsResource) -> dg.SensorResult | dg.SkipReason:
    """A new file adds a partition and requests its run; a changed file (by content hash) reruns its
    partition; a removed file's partition is deleted and the question pairs and base index are
    updated without it. Question pairs and the base index follow new chunks through their
    automation conditions."""
    if not paths.docs_path.is_dir():
        return dg.SkipReason(f"documents folder not found: {paths.docs_path}")
    previous: Snapshot = json.loads(context.cursor) if context.cursor else {}
    current = snapshot_folder(paths.docs_path, previous)
    known = set(context.instance.get_dynamic_partitions(documents_partitions.name))
    status = DocumentStatusStore(paths.document_status_file())
    try:  # documents processed before the sensor was switched on are judged by their last run
        processed = status.source_hashes()
    finally:
        status.close()

    def is_changed(doc_id: str) -> bool:
        last_seen = previous[doc_id][2] if doc_id in previous else processed.get(doc_id)
        return doc_id not in known or last_seen != current[doc_id][2]

    changed = sorted(filter(is_changed, current))
    removed = sorted(known - set(current))
    if not changed and not removed:
        return dg.SkipReason("no document added, changed or removed")
    context.log.info(f"{len(changed)} new or changed, {len(removed)} removed")
    # Run keys name the content and when it was seen, so a file changed back to an earlier version
    # is processed again (Dagster skips a run key it has seen).
    run_requests = [
        dg.RunRequest(
            partition_key=doc_id, run_key=f"{doc_id}@{current[doc_id][2][:16]}@{current[doc_id][0]}",
            asset_selection=[clean_markdown.key, chunks.key],
        )
        for doc_id in changed
    ]
    if removed:
        removed_key = hashlib.sha256("\n".join(removed).encode()).hexdigest()[:16]
        run_requests.append(
            dg.RunRequest(run_key=f"removed:{removed_key}@{time.time_ns()}", asset_selection=[question_pairs.key, base_index.key])
        )
    new = [d for d in changed if d not in known]
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=[
            *([documents_partitions.build_add_request(new)] if new else []),
            *([documents_partitions.build_delete_request(removed)] if removed else []),
        ],
        cursor=json.dumps(current),
    )


retraining_job = dg.define_asset_job(
    "retraining",
    selection=dg.AssetSelection.assets(
        question_pairs, base_index, split_question_pairs, base_metrics, bm25_metrics,
        finetuned_model, finetuned_index, finetuned_metrics, comparison,
    ),
    description="Bring questions and the base index up to date (incrementally), then split, train, index and evaluate.",
)


@dg.schedule(
    job=retraining_job,
    cron_schedule=os.environ.get(RETRAIN_CRON_ENV, "0 3 * * 0"),
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=f"Retrains when documents changed since the last model (cron from {RETRAIN_CRON_ENV}; default Sundays 03:00).",
)
def retraining_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    latest_pairs = context.instance.get_latest_materialization_event(question_pairs.key)
    latest_model = context.instance.get_latest_materialization_event(finetuned_model.key)
    if latest_pairs is None:
        return dg.SkipReason("no question pairs yet")
    if latest_model is not None and latest_model.timestamp >= latest_pairs.timestamp:
        return dg.SkipReason("no document changed since the last model")
    return dg.RunRequest()
