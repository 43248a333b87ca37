"""CPU inference: the ONNX int8 export against the torch model it came from.

    .venv/bin/python -m benchmarks.onnx_inference [--onnx-chunks 1000] [--onnx-questions 300] [--repeats 3]

The base model is exported with `export_onnx` (what the `onnx_model` asset runs) into a temporary
folder. Both encode the same FDA chunks through the pipeline's `encode`, batch 32, alternating, the
best of each counting; then the held-out style questions (offline inverse cloze questions of a
seeded sample of those chunks) are searched exactly over all the chunks with each model's own
embeddings. Figures: chunks per second (target ≥ 2×) and the Recall@10 lost, torch minus int8 in
points (target at most one), with a paired bootstrap interval.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

# benchmarks.common sets the offline environment, so Hugging Face libraries are imported after it.
from benchmarks.common import Figure, Result, Stopwatch, fda_chunks, print_table, run_alone
from rag_ft_pipeline.embedding import encode, load_model, resolve_model_path
from rag_ft_pipeline.evaluation import SEARCH_DEPTH, exact_rankings, paired_bootstrap, per_query_metrics
from rag_ft_pipeline.onnx_export import OnnxEncoder, export_onnx
from rag_ft_pipeline.questions import InverseClozeGenerator
from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL

NAME = "onnx_inference"
SPEED_TARGET = 2.0
RECALL_POINTS_TARGET = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--onnx-chunks", type=int, default=1000, help="onnx_inference: chunks encoded and searched")
    parser.add_argument("--onnx-questions", type=int, default=300, help="onnx_inference: questions searched for Recall@10")


def questions_for(chunks: list, count: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """One offline inverse cloze question for each of a seeded sample of chunks: (queries, chunk ids)."""
    generator, queries, ids = InverseClozeGenerator(), [], []
    for chunk in random.Random(seed).sample(chunks, len(chunks)):
        pairs = generator.generate(chunk.text).pairs
        if pairs:
            queries.append(pairs[0].query)
            ids.append(chunk.chunk_id)
        if len(queries) == count:
            break
    return queries, ids


def operator_shares(folder: Path, texts: list[str], top: int = 6) -> dict[str, float]:
    """Where the int8 graph spends its time: each operator's share of kernel time over a few batches
    (onnxruntime's profiler). Only the matrix products run in int8; the rest stays fp32."""
    encoder = OnnxEncoder(folder, profile_prefix=str(folder / "profile"))
    encoder.encode(texts)
    events = json.loads(Path(encoder.session.end_profiling()).read_text())
    kernel = Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            kernel[event["args"]["op_name"]] += event["dur"]
    total = sum(kernel.values())
    return {op: round(duration / total, 3) for op, duration in kernel.most_common(top)}


def run(args: argparse.Namespace) -> Result:
    chunks = fda_chunks(args.onnx_chunks, args.fda_start)
    texts, ids = [c.text for c in chunks], [c.chunk_id for c in chunks]
    queries, relevant = questions_for(chunks, args.onnx_questions)
    torch_model = load_model(DEFAULT_BASE_MODEL, "cpu")
    with tempfile.TemporaryDirectory() as tmp:
        export = export_onnx(resolve_model_path(DEFAULT_BASE_MODEL), Path(tmp) / "onnx", texts[:64])
        encoders: dict[str, Any] = {"torch fp32": torch_model, "onnx int8": OnnxEncoder(export.folder)}
        encode(encoders["onnx int8"], texts[:32])  # onnxruntime plans its kernels on the first call
        trials: list[dict[str, Any]] = []
        embeddings: dict[str, np.ndarray] = {}
        for repeat in range(1, args.repeats + 1):
            for label, encoder in encoders.items():
                with Stopwatch() as clock:
                    embeddings[label] = encode(encoder, texts, batch_size=32)
                with Stopwatch() as query_clock:
                    embeddings[f"{label} queries"] = encode(encoder, queries, batch_size=32)
                trials.append({"model": label, "repeat": repeat, "chunks": len(texts), "seconds": round(clock.seconds, 2),
                               "chunks/s": len(texts) / clock.seconds, "queries/s": len(queries) / query_clock.seconds})
        shares = operator_shares(export.folder, texts[:128])
    best = {label: max(t["chunks/s"] for t in trials if t["model"] == label) for label in encoders}
    best_queries = {label: max(t["queries/s"] for t in trials if t["model"] == label) for label in encoders}
    scores = {
        label: per_query_metrics(
            exact_rankings(embeddings[f"{label} queries"], embeddings[label], ids, SEARCH_DEPTH), [{c} for c in relevant]
        )
        for label in encoders
    }
    recall = {label: float(frame["recall@10"].mean()) for label, frame in scores.items()}
    difference, low, high = paired_bootstrap(scores["torch fp32"]["recall@10"].to_numpy(), scores["onnx int8"]["recall@10"].to_numpy())
    cosines = (embeddings["onnx int8"] * embeddings["torch fp32"]).sum(axis=1)
    print(f"{len(texts)} FDA chunks, {len(queries)} inverse cloze questions, {DEFAULT_BASE_MODEL} on the CPU "
          f"({torch.get_num_threads()} torch threads); export {export.seconds:.1f} s, fused {export.fused_operators}")
    print_table(trials)
    print_table([{"model": label, **{m: float(frame[m].mean()) for m in ("recall@1", "recall@10", "mrr@10", "ndcg@10")}}
                 for label, frame in scores.items()])
    print(f"Recall@10 onnx int8 - torch: {100 * difference:+.2f} points (95% CI {100 * low:+.2f} to {100 * high:+.2f}); "
          f"chunk embedding cosine to torch: min {cosines.min():.4f}, mean {cosines.mean():.4f}")
    print(f"int8 graph, share of kernel time by operator: {shares}")
    return Result(
        NAME,
        [
            Figure("encode chunks (onnx int8 vs torch)", best["onnx int8"], best["torch fp32"], "chunks/s", at_least=SPEED_TARGET),
            Figure("Recall@10 lost (points)", 100 * (recall["torch fp32"] - recall["onnx int8"]), None, "points", at_most=RECALL_POINTS_TARGET),
        ],
        {
            "chunks": len(texts), "questions": len(queries), "trials": trials, "queries_per_second": best_queries,
            "metrics": {label: {m: float(v) for m, v in frame.mean(numeric_only=True).items()} for label, frame in scores.items()},
            "recall@10": recall, "recall@10_ci95_points": [100 * low, 100 * high],
            "cosine_min": float(cosines.min()), "cosine_mean": float(cosines.mean()),
            "fused_operators": export.fused_operators, "int8_operator_shares": shares, "export_seconds": round(export.seconds, 1),
        },
    )


if __name__ == "__main__":
    run_alone(__name__)
