"""Incremental update: one new document after a full build, against the full build.

    .venv/bin/python -m benchmarks.incremental [--incremental-docs 8]

N FDA texts are copied into a fresh documents folder and materialized (clean_markdown, chunks,
question_pairs with the offline generator, base_index). Then the next text is added and only its
partition is converted and chunked, followed by question_pairs and base_index over everything, as
the folder sensor and the eager automation conditions would run them. The update should convert
one document, ask questions for its chunks only (the cache answers the rest), embed its chunks only
and update the base index in place; and take a small share of the full build's time.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import dagster as dg

from benchmarks.common import (  # before rag_ft_pipeline: it sets the offline environment
    QUIET_RUN_CONFIG,
    Figure,
    Result,
    Stopwatch,
    assets_and_checks,
    copy_documents,
    fda_paths,
    offline_settings,
    print_table,
    require_success,
    run_alone,
)
from rag_ft_pipeline.defs import build_definitions
from rag_ft_pipeline.defs.io_managers import CHUNKS_IO_MANAGER
from rag_ft_pipeline.defs.runner import latest_metadata, materialize_pipeline, register_documents
from rag_ft_pipeline.retrieval.embedding import load_model

NAME = "incremental"
TARGET = 0.10  # the update takes at most 10% of the full build's time
BUILD = "key:clean_markdown or key:chunks or key:question_pairs or key:base_index"
DOWNSTREAM = "key:question_pairs or key:base_index"  # unpartitioned: they read every document's chunks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--incremental-docs", type=int, default=8, help="incremental: documents in the full build (one more is added)"
    )


def run(args: argparse.Namespace) -> Result:
    *old, new = fda_paths(args.incremental_docs + 1, args.fda_start)
    with tempfile.TemporaryDirectory() as tmp, dg.instance_for_test() as instance:
        docs = copy_documents(old, Path(tmp) / "docs")
        settings = offline_settings(docs, Path(tmp) / "artifacts")
        defs = build_definitions(settings)
        load_model(settings.base_model)  # loaded once beforehand, so neither timing includes it
        register_documents(settings, instance)
        with Stopwatch() as full:
            require_success(materialize_pipeline(defs, instance, BUILD, log_level="WARNING"))

        copy_documents([new], docs)
        register_documents(settings, instance)
        with Stopwatch() as update:
            dg.materialize(
                assets_and_checks(defs),
                resources=defs.resources,
                instance=instance,
                partition_key=new.name,
                selection=["clean_markdown", "chunks"],
                run_config=QUIET_RUN_CONFIG,
            )
            require_success(materialize_pipeline(defs, instance, DOWNSTREAM, log_level="WARNING"))
        meta = {
            key: latest_metadata(instance, key) for key in ("clean_markdown", "chunks", "question_pairs", "base_index")
        }

        chunk_store = defs.resources[CHUNKS_IO_MANAGER]
        old_chunks = chunk_store.corpus([p.name for p in old]).chunks
        new_chunks = chunk_store.corpus([new.name]).chunks
    # Identical texts are asked once and answers are cached by content: the new document's texts
    # not seen before are what question_pairs should send.
    new_texts = len({c.content_hash for c in new_chunks} - {c.content_hash for c in old_chunks})
    counts = {
        "documents converted": meta["clean_markdown"]["documents"],
        "chunks chunked": meta["chunks"]["dagster/row_count"],
        "chunks sent for questions": meta["question_pairs"]["generated"],
        "question cache hits": meta["question_pairs"]["cache_hits"],
        "chunks embedded": meta["base_index"]["embedded"],
        "index unchanged": meta["base_index"]["unchanged"],
        "index removed": meta["base_index"]["removed"],
    }
    only_new = (
        counts["documents converted"] == 1
        and counts["chunks chunked"] == len(new_chunks)
        and counts["chunks sent for questions"] == new_texts
        and counts["chunks embedded"] == len(new_chunks)
    )
    in_place = counts["index unchanged"] == len(old_chunks) and counts["index removed"] == 0
    details = {
        "documents": len(old),
        "new_document": new.name,
        "old_chunks": len(old_chunks),
        "new_document_chunks": len(new_chunks),
        "new_document_new_texts": new_texts,
        **counts,
        "only_new_document_work": only_new,
        "index_updated_in_place": in_place,
        "full_build_seconds": round(full.seconds, 2),
        "update_seconds": round(update.seconds, 2),
    }
    print(
        f"full build of {len(old)} documents ({len(old_chunks)} chunks), "
        f"then {new.name} added ({len(new_chunks)} chunks)"
    )
    print_table([{"": name, "value": value} for name, value in details.items() if name != "new_document"])
    return Result(
        NAME,
        [
            Figure("update vs full build time", update.seconds, full.seconds, "s", at_most=TARGET),
            Figure(
                "chunks embedded vs new doc's",
                counts["chunks embedded"],
                len(new_chunks),
                "chunks",
                at_least=1,
                at_most=1,
            ),
            Figure(
                "questions asked vs new doc's texts",
                counts["chunks sent for questions"],
                new_texts,
                "chunks",
                at_least=1,
                at_most=1,
            ),
        ],
        details,
    )


if __name__ == "__main__":
    run_alone(__name__)
