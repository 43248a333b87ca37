"""Retrieval quality: the whole pipeline on a fixed subset of the FDA corpus, offline.

    .venv/bin/python -m benchmarks.quality [--quality-docs 3] [--quality-train-pairs 200]

The first N FDA texts go through every asset (offline inverse cloze questions, training bounded to
one epoch on at most `--quality-train-pairs` pairs through the asset config) and the comparison's
`comparison.json` is read back: base, fine-tuned and BM25 on the held-out synthetic questions, and
the fine-tuned minus base NDCG@10 difference with its paired bootstrap 95% interval. The base model
is the alternative for the fine-tuned one. An offline question is a sentence of its own chunk, so
scores run high; this shows whether fine-tuning helps or hurts, not the gain on real questions.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import dagster as dg

from benchmarks.common import (  # before rag_ft_pipeline: it sets the offline environment
    Figure,
    Result,
    Stopwatch,
    copy_documents,
    fda_paths,
    offline_settings,
    print_table,
    require_success,
    run_alone,
)
from rag_ft_pipeline.defs import build_definitions
from rag_ft_pipeline.defs.runner import latest_metadata, materialize_pipeline, register_documents

NAME = "quality"
METRICS = ["hit@1", "hit@10", "mrr@10", "ndcg@10", "map@100"]
MODELS = ["base", "finetuned", "bm25"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quality-docs", type=int, default=3, help="quality: FDA texts the whole pipeline runs on")
    parser.add_argument(
        "--quality-train-pairs", type=int, default=200, help="quality: at most this many training pairs, one epoch"
    )


def run(args: argparse.Namespace) -> Result:
    paths = fda_paths(args.quality_docs, args.fda_start)
    training = {"epochs": 1, "max_train_pairs": args.quality_train_pairs}
    with tempfile.TemporaryDirectory() as tmp, dg.instance_for_test() as instance:
        settings = offline_settings(copy_documents(paths, Path(tmp) / "docs"), Path(tmp) / "artifacts")
        defs = build_definitions(settings)
        register_documents(settings, instance)
        with Stopwatch() as clock:
            require_success(
                materialize_pipeline(defs, instance, log_level="WARNING", op_config={"finetuned_model": training})
            )
        report = json.loads((settings.artifacts_dir / "comparison" / "comparison.json").read_text())
        trained = latest_metadata(instance, "finetuned_model")
        chunk_count = latest_metadata(instance, "chunks")["dagster/row_count"]
    synthetic = report["synthetic"]
    difference = synthetic["minus_base"]["finetuned"]["ndcg@10"]
    print(
        f"{len(paths)} FDA documents, {chunk_count} chunks, {synthetic['questions']} held-out questions, "
        f"{trained['train_pairs']} training pairs for 1 epoch ({trained['training_seconds']} s); "
        f"whole run {clock.seconds:.1f} s"
    )
    print_table([{"metric": m, **{model: synthetic["metrics"][model][m] for model in MODELS}} for m in METRICS])
    print(
        f"NDCG@10 fine-tuned minus base: {difference['difference']:+.4f} "
        f"(95% interval {difference['ci95_low']:+.4f} to {difference['ci95_high']:+.4f}); best: {report['best_model']}"
    )
    ndcg = {model: synthetic["metrics"][model]["ndcg@10"] for model in MODELS}
    return Result(
        NAME,
        [
            Figure("NDCG@10 fine-tuned vs base", ndcg["finetuned"], ndcg["base"], "", at_least=1.0),
            Figure("NDCG@10 fine-tuned vs BM25", ndcg["finetuned"], ndcg["bm25"], ""),
        ],
        {
            "documents": len(paths),
            "chunks": chunk_count,
            "questions": synthetic["questions"],
            "train_pairs": trained["train_pairs"],
            "training_seconds": trained["training_seconds"],
            "wall_seconds": round(clock.seconds, 1),
            "metrics": {model: {m: synthetic["metrics"][model][m] for m in METRICS} for model in MODELS},
            "ndcg@10_finetuned_minus_base": difference,
            "best_model": report["best_model"],
        },
    )


if __name__ == "__main__":
    run_alone(__name__)
