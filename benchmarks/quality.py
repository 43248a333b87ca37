"""Retrieval quality: the whole default pipeline, offline, on FDA texts.

    .venv/bin/python -m benchmarks.quality [--quality-docs 3] [--quality-train-pairs 200]
    .venv/bin/python -m benchmarks.quality --golden [--golden-distractors 100] [--quality-config JSON]

Synthetic mode (the default): the first N FDA guidance texts go through every asset, with training
bounded to one epoch on at most `--quality-train-pairs` pairs, and the synthetic eval is read
back. An offline question is a sentence of its own chunk, so scores run high: this catches a
fine-tuning that hurts, not the gain on real questions.

Golden mode (`--golden`): the project's default `rag-ft run` (default base model, offline
questions, the default training budget) on the 34 fda-qa-dev documents plus the first N
fda-guidance texts as distractors, with fda-qa-dev's 566 questions written by FDA staff as the
golden set. The questions are scored at chunk level in two halves by document (the fda-qa-dev
documents sorted by name: even positions are the half the defaults were tuned on, odd positions
the held-out half), for base, fine-tuned, BM25 and both hybrids, each difference from the base
model with its paired bootstrap 95% interval. `--quality-config` passes asset configs, e.g.
'{"finetuned_model": {"max_train_minutes": 10}}'; `--quality-dir` keeps the project (artifacts and
Dagster instance) so that another configuration reuses its chunks and base index.
`--golden-train-questions` measures questions people already asked: the tuned half's questions
are given to training (RAG_FT_TRAIN_QUESTIONS) and only the held-out half is scored.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from benchmarks.common import (  # before rag_ft_pipeline: it sets the offline environment
    SHARED,
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
from rag_ft_pipeline.common.types import Chunk
from rag_ft_pipeline.defs import build_definitions
from rag_ft_pipeline.defs.ingestion import current_document_ids
from rag_ft_pipeline.defs.io_managers import CHUNKS_IO_MANAGER
from rag_ft_pipeline.defs.runner import latest_metadata, materialize_pipeline, ops_config, register_documents
from rag_ft_pipeline.evaluation.golden import GoldenRelevance
from rag_ft_pipeline.evaluation.metrics import paired_bootstrap
from rag_ft_pipeline.evaluation.scoring import EvaluationResult, evaluate_embeddings, fused_result
from rag_ft_pipeline.retrieval.embedding import encode, load_model
from rag_ft_pipeline.retrieval.fusion import reciprocal_rank_fusion
from rag_ft_pipeline.retrieval.retrievers import Retriever

NAME = "quality"
METRICS = ["hit@1", "hit@3", "hit@10", "mrr@10", "ndcg@10", "recall@10"]
BASE, FINETUNED, BM25 = (r.value for r in (Retriever.BASE, Retriever.FINETUNED, Retriever.BM25))
MODELS = [BASE, FINETUNED, BM25]
QA_DEV = SHARED / "fda-qa-dev"
TARGET_GAIN = 0.10  # fine-tuned hit@1 at least this much above the base model's, on the held-out half


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quality-docs", type=int, default=3, help="quality: FDA texts the whole pipeline runs on")
    parser.add_argument("--quality-train-pairs", type=int, default=200, help="quality: training pairs, one epoch")
    parser.add_argument("--golden", action="store_true", help="quality: fda-qa-dev with its FDA-staff questions")
    parser.add_argument(
        "--golden-distractors", type=int, default=100, help="quality --golden: fda-guidance texts added"
    )
    parser.add_argument(
        "--golden-docs", type=int, default=None, help="quality --golden: only the first N fda-qa-dev documents"
    )
    parser.add_argument(
        "--golden-train-questions",
        action="store_true",
        help="quality --golden: train on the tuned half's questions, score the held-out half",
    )
    parser.add_argument("--quality-config", type=json.loads, default={}, help="quality: asset configs, as JSON")
    parser.add_argument("--quality-dir", type=Path, default=None, help="quality: keep the project here, to reuse it")


def run(args: argparse.Namespace) -> Result:
    return golden(args) if args.golden else synthetic(args)


def synthetic(args: argparse.Namespace) -> Result:
    paths = fda_paths(args.quality_docs, args.fda_start)
    training = {"epochs": 1, "max_train_pairs": args.quality_train_pairs}
    with tempfile.TemporaryDirectory() as tmp, dg.instance_for_test() as instance:
        settings = offline_settings(copy_documents(paths, Path(tmp) / "docs"), Path(tmp) / "artifacts")
        defs = build_definitions(settings)
        register_documents(settings, instance)
        with Stopwatch() as clock:
            config = {"finetuned_model": training, **args.quality_config}
            require_success(materialize_pipeline(defs, instance, log_level="WARNING", run_config=ops_config(**config)))
        report = json.loads((settings.artifacts_dir / "comparison" / "comparison.json").read_text())
        trained = latest_metadata(instance, "finetuned_model")
        chunk_count = latest_metadata(instance, "chunks")["dagster/row_count"]
    block = report["synthetic"]
    difference = block["minus_base"][FINETUNED]["ndcg@10"]
    print(
        f"{len(paths)} FDA documents, {chunk_count} chunks, {block['questions']} held-out questions, "
        f"{trained['train_pairs']} training pairs for 1 epoch ({trained['training_seconds']} s); "
        f"whole run {clock.seconds:.1f} s"
    )
    print_table([{"metric": m, **{model: block["metrics"][model][m] for model in MODELS}} for m in METRICS])
    print(
        f"NDCG@10 fine-tuned minus base: {difference['difference']:+.4f} "
        f"(95% interval {difference['ci95_low']:+.4f} to {difference['ci95_high']:+.4f}); best: {report['best_model']}"
    )
    ndcg = {model: block["metrics"][model]["ndcg@10"] for model in MODELS}
    return Result(
        NAME,
        [
            Figure("NDCG@10 fine-tuned vs base", ndcg[FINETUNED], ndcg[BASE], "", at_least=1.0),
            Figure("NDCG@10 fine-tuned vs BM25", ndcg[FINETUNED], ndcg[BM25], ""),
        ],
        {
            "documents": len(paths),
            "chunks": chunk_count,
            "questions": block["questions"],
            "train_pairs": trained["train_pairs"],
            "training_seconds": trained["training_seconds"],
            "wall_seconds": round(clock.seconds, 1),
            "metrics": {model: {m: block["metrics"][model][m] for m in METRICS} for model in MODELS},
            "ndcg@10_finetuned_minus_base": difference,
            "best_model": report["best_model"],
        },
    )


def without_prompts(
    defs: dg.Definitions, model_path: str, chunks: list[Chunk], golden_set: GoldenRelevance
) -> dict[str, EvaluationResult]:
    """The fine-tuned model as most frameworks call it unless told otherwise (encode() with no
    prompt): its questions bare against the index the pipeline published (passages with their
    prompt), and everything bare (an index rebuilt with such a call). Exact search."""
    model = load_model(model_path)
    store = defs.resources["vector_store"]
    index = store.index(Retriever.FINETUNED.index_name(model_path)).current()
    stored = index.get(ids=[c.chunk_id for c in chunks], include=["embeddings"])
    by_id = dict(zip(stored["ids"], stored["embeddings"]))
    store.close()
    published = np.asarray([by_id[c.chunk_id] for c in chunks], dtype=np.float32)
    bare = encode(model, [c.text for c in chunks], batch_size=64)
    no_eval = pd.DataFrame({"query": [], "chunk_id": []})
    return {
        name: evaluate_embeddings(name, passages, lambda q: encode(model, q), chunks, no_eval, golden_set)
        for name, passages in (("finetuned, bare questions", published), ("finetuned, no prompts", bare))
    }


def halves(documents: list[str]) -> dict[str, set[str]]:
    """fda-qa-dev's documents by name: even positions tuned on, odd positions held out."""
    ordered = sorted(documents)
    return {"tuned": set(ordered[0::2]), "held_out": set(ordered[1::2])}


def scores(frames: dict[str, pd.DataFrame]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each retriever's means, and each one's difference from the base with its 95% interval."""
    means = [{"retriever": name, **{m: float(frame[m].mean()) for m in METRICS}} for name, frame in frames.items()]
    differences = []
    for name, frame in frames.items():
        if name != BASE:
            row: dict[str, Any] = {"retriever": name}
            for m in METRICS:
                difference, low, high = paired_bootstrap(frames[BASE][m].to_numpy(), frame[m].to_numpy())
                row[m] = {"difference": difference, "ci95_low": low, "ci95_high": high}
            differences.append(row)
    return means, differences


def interval(value: dict[str, float]) -> str:
    return f"{value['difference']:+.3f} [{value['ci95_low']:+.3f}, {value['ci95_high']:+.3f}]"


def golden(args: argparse.Namespace) -> Result:
    qa_docs = sorted((QA_DEV / "docs").glob("*.md"))[: args.golden_docs]
    distractors = fda_paths(args.golden_distractors, args.fda_start)
    lines = (QA_DEV / "golden.jsonl").read_text().splitlines()
    question_doc = {record["question"]: record["relevant_doc_ids"][0] for record in map(json.loads, lines)}
    split = halves([p.name for p in qa_docs])
    with tempfile.TemporaryDirectory() as tmp:
        root = args.quality_dir or Path(tmp)
        docs = copy_documents([*qa_docs, *distractors], root / "docs")
        settings = replace(offline_settings(docs, root / "artifacts"), golden_set=QA_DEV / "golden.jsonl")
        if args.golden_train_questions:
            files = {half: root / f"golden_{half}.jsonl" for half in split}
            for half, path in files.items():
                path.write_text(
                    "".join(f"{line}\n" for line in lines if question_doc[json.loads(line)["question"]] in split[half])
                )
            settings = replace(settings, golden_set=files["held_out"], train_questions=files["tuned"])
        defs = build_definitions(settings)
        (root / "dagster_home").mkdir(parents=True, exist_ok=True)
        with dg.DagsterInstance.local_temp(str(root / "dagster_home")) as instance:
            register_documents(settings, instance)
            with Stopwatch() as clock:
                require_success(
                    materialize_pipeline(
                        defs, instance, log_level="WARNING", run_config=ops_config(**args.quality_config)
                    )
                )
            load = lambda key: defs.load_asset_value(key, instance=instance)  # noqa: E731
            results = {name: load(f"{name}_metrics") for name in MODELS}
            golden_set, eval_pairs = load("golden_questions"), load("eval_pairs")
            corpus = defs.resources[CHUNKS_IO_MANAGER].corpus(current_document_ids(instance))
            for model in (Retriever.BASE, Retriever.FINETUNED):
                results[Retriever.hybrid(model).value] = fused_result(
                    Retriever.hybrid(model).value,
                    [results[model.value], results[BM25]],
                    eval_pairs,
                    golden_set,
                    corpus.doc_of,
                    reciprocal_rank_fusion,
                )
            trained = latest_metadata(instance, "finetuned_model")
            results.update(without_prompts(defs, trained["model_path"], corpus.chunks, golden_set))
            chunk_count = latest_metadata(instance, "chunks")["dagster/row_count"]
            human_pairs = latest_metadata(instance, "human_question_pairs")["dagster/row_count"]
            report = json.loads((settings.artifacts_dir / "comparison" / "comparison.json").read_text())
    details: dict[str, Any] = {}
    scored = (
        {"held_out": split["held_out"]}
        if args.golden_train_questions
        else {**split, "all": set().union(*split.values())}
    )
    for half, documents in scored.items():
        frames = {}
        for name, result in results.items():
            frame = result.golden_per_query["chunk"]
            frames[name] = frame[frame["question"].map(question_doc).isin(documents)].reset_index(drop=True)
        means, differences = scores(frames)
        details[half] = {"questions": len(frames[BASE]), "metrics": means, "minus_base": differences}
        print(f"\n{half}: {len(frames[BASE])} FDA-staff questions (chunk level)")
        print_table(means)
        print_table(
            [{"minus base (95% CI)": row["retriever"], **{m: interval(row[m]) for m in METRICS}} for row in differences]
        )
    synthetic_block = report.get("synthetic", {})
    keys = ("train_pairs", "steps", "limited_by", "precision", "training_seconds", "pairs_per_second", "budget_minutes")
    training = {**{k: trained[k] for k in keys}, "human_pairs": human_pairs}
    print(
        f"\n{len(qa_docs)} fda-qa-dev + {len(distractors)} fda-guidance documents, {chunk_count} chunks; "
        f"training: {training}; whole run {clock.seconds / 60:.1f} min"
    )
    if synthetic_block:
        hits = ", ".join(f"{name} {m['hit@1']:.3f}" for name, m in synthetic_block["metrics"].items())
        print(f"synthetic eval, {synthetic_block['questions']} questions, hit@1: {hits}")
    held_out = details["held_out"]
    metric = {row["retriever"]: row for row in held_out["metrics"]}
    gain = next(row for row in held_out["minus_base"] if row["retriever"] == FINETUNED)["hit@1"]
    return Result(
        NAME,
        [
            Figure("held-out hit@1 fine-tuned minus base", gain["difference"], None, "", at_least=TARGET_GAIN),
            Figure("its 95% interval, lower end", gain["ci95_low"], None, "", at_least=1e-9),
            *(
                Figure(f"held-out {m} fine-tuned vs BM25", metric[FINETUNED][m], metric[BM25][m], "", at_least=1 + 1e-9)
                for m in ("hit@1", "mrr@10", "ndcg@10")
            ),
            Figure("training minutes", trained["training_seconds"] / 60, None, "min"),
        ],
        {
            "documents": {"fda-qa-dev": len(qa_docs), "fda-guidance": len(distractors)},
            "chunks": chunk_count,
            "halves": {k: sorted(v) for k, v in split.items()},
            **details,
            "training": training,
            "synthetic": synthetic_block,
            "verdict": report["verdict"],
            "wall_seconds": round(clock.seconds, 1),
            "config": args.quality_config,
        },
    )


if __name__ == "__main__":
    run_alone(__name__)
