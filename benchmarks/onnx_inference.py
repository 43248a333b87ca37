"""CPU inference: the ONNX int8 export against the torch model it came from.

    .venv/bin/python -m benchmarks.onnx_inference [--onnx-chunks 1000] [--onnx-questions 300] [--repeats 3]

The base model is exported with `export_onnx` into a temporary folder, then compared with
`compare_with_torch`, both as the `onnx_model` asset runs them: torch and the int8 graph encode the
same FDA chunks (batch 32, after a warm-up), and offline inverse cloze questions of a seeded sample
of those chunks are searched exactly over all of them with each model's own embeddings. Repeated
`--repeats` times, alternating; the best rate of each counts. Figures: chunks per second (target
≥ 2×) and the Recall@10 lost, torch minus int8 in points (target at most one), with a paired
bootstrap interval.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch

# benchmarks.common sets the offline environment, so Hugging Face libraries are imported after it.
from benchmarks.common import Figure, Result, fda_chunks, print_table, run_alone
from rag_ft_pipeline.common.types import Chunk
from rag_ft_pipeline.evaluation.metrics import paired_bootstrap
from rag_ft_pipeline.evaluation.onnx_comparison import OnnxComparison, compare_with_torch
from rag_ft_pipeline.questions.inverse_cloze import InverseClozeGenerator
from rag_ft_pipeline.retrieval.embedding import load_model, resolve_model_path
from rag_ft_pipeline.retrieval.inference import OnnxEncoder
from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL
from rag_ft_pipeline.training.onnx_export import export_onnx

NAME = "onnx_inference"
SPEED_TARGET = 2.0
HIT_POINTS_TARGET = 1.0
MODELS = ("torch", "onnx_int8")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--onnx-chunks", type=int, default=1000, help="onnx_inference: chunks encoded and searched")
    parser.add_argument(
        "--onnx-questions", type=int, default=300, help="onnx_inference: questions searched for Recall@10"
    )


def eval_questions(chunks: Sequence[Chunk], count: int, seed: int = 0) -> pd.DataFrame:
    """One offline inverse cloze question for each of a seeded sample of chunks, as eval pairs."""
    generator, rows = InverseClozeGenerator(), []
    for chunk in random.Random(seed).sample(list(chunks), len(chunks)):
        pairs = generator.generate(chunk.text).pairs
        if pairs:
            rows.append({"query": pairs[0].query, "chunk_id": chunk.chunk_id})
        if len(rows) == count:
            break
    return pd.DataFrame(rows, columns=["query", "chunk_id"])


def operator_shares(folder: Path, texts: list[str], top: int = 6) -> dict[str, float]:
    """Where the int8 graph spends its time: each operator's share of kernel time over a few batches
    (onnxruntime's profiler). Only the matrix products run in int8; the rest stays fp32."""
    encoder = OnnxEncoder(folder, profile_prefix=str(folder / "profile"))
    encoder.encode(texts)
    events = json.loads(Path(encoder.session.end_profiling()).read_text())
    kernel: Counter[str] = Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            kernel[event["args"]["op_name"]] += event["dur"]
    total = sum(kernel.values())
    return {op: round(duration / total, 3) for op, duration in kernel.most_common(top)}


def run(args: argparse.Namespace) -> Result:
    chunks = fda_chunks(args.onnx_chunks, args.fda_start)
    questions = eval_questions(chunks, args.onnx_questions)
    with tempfile.TemporaryDirectory() as tmp:
        export = export_onnx(resolve_model_path(DEFAULT_BASE_MODEL), Path(tmp) / "onnx", [c.text for c in chunks[:64]])
        torch_model, onnx_model = load_model(DEFAULT_BASE_MODEL, "cpu"), OnnxEncoder(export.folder)
        runs: list[OnnxComparison] = [
            compare_with_torch(torch_model, onnx_model, chunks, questions, None) for _ in range(args.repeats)
        ]
        shares = operator_shares(export.folder, [c.text for c in chunks[:128]])
    trials = [
        {"model": m, "repeat": i, "chunks/s": r.chunks_per_second[m], "questions/s": r.queries_per_second[m]}
        for i, r in enumerate(runs, 1)
        for m in MODELS
    ]
    best = {m: max(r.chunks_per_second[m] for r in runs) for m in MODELS}
    best_queries = {m: max(r.queries_per_second[m] for r in runs) for m in MODELS}
    last = runs[-1]  # the metrics are the same in every run: the same embeddings
    hits = {m: last.results[m].metrics["hit@10"] for m in MODELS}
    difference, low, high = paired_bootstrap(*(last.results[m].per_query["hit@10"].to_numpy() for m in MODELS))
    print(
        f"{len(chunks)} FDA chunks, {len(questions)} inverse cloze questions, {DEFAULT_BASE_MODEL} on the CPU "
        f"({torch.get_num_threads()} torch threads); export {export.seconds:.1f} s, fused {export.fused_operators}"
    )
    print_table(trials)
    print(last.table().round(4).to_string())
    print(
        f"hit@10 onnx int8 - torch: {100 * difference:+.2f} points (95% CI {100 * low:+.2f} to {100 * high:+.2f}); "
        f"chunk embedding cosine to torch: min {last.cosine_min:.4f}, mean {last.cosine_mean:.4f}"
    )
    print(f"int8 graph, share of kernel time by operator: {shares}")
    return Result(
        NAME,
        [
            Figure(
                "encode chunks (onnx int8 vs torch)",
                best["onnx_int8"],
                best["torch"],
                "chunks/s",
                at_least=SPEED_TARGET,
            ),
            Figure(
                "encode questions (onnx int8 vs torch)", best_queries["onnx_int8"], best_queries["torch"], "questions/s"
            ),
            Figure(
                "hit@10 lost (points)",
                100 * (hits["torch"] - hits["onnx_int8"]),
                None,
                "points",
                at_most=HIT_POINTS_TARGET,
            ),
        ],
        {
            "chunks": len(chunks),
            "questions": len(questions),
            "trials": trials,
            "metrics": {m: last.results[m].metrics for m in MODELS},
            "hit@10": hits,
            "hit@10_ci95_points": [100 * low, 100 * high],
            "cosine_min": last.cosine_min,
            "cosine_mean": last.cosine_mean,
            "fused_operators": export.fused_operators,
            "int8_operator_shares": shares,
            "export_seconds": round(export.seconds, 1),
        },
    )


if __name__ == "__main__":
    run_alone(__name__)
