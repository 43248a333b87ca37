"""Training throughput: the pipeline's `train_model` against a bare sentence-transformers trainer.

    .venv/bin/python -m benchmarks.training [--train-pairs 160] [--repeats 1]

Both train all-MiniLM-L6-v2 for one epoch at batch 32 with MultipleNegativesRankingLoss and the
no-duplicates batch sampler on the same pairs (inverse cloze pairs from FDA chunks, made offline),
without an evaluator. The bare trainer saves nothing; the pipeline also writes its end-of-epoch
checkpoint (what makes an interrupted run resumable), so that cost is part of its figure. Only
`trainer.train()` is timed for the bare one; the pipeline's own `TrainingResult.seconds` times the
same call. Alternating order, the best of each counts.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import torch

# benchmarks.common sets the offline environment, so Hugging Face libraries are imported after it.
from benchmarks.common import Figure, Result, Stopwatch, iter_fda_chunks, print_table, run_alone
from rag_ft_pipeline.questions.inverse_cloze import InverseClozeGenerator
from rag_ft_pipeline.retrieval.embedding import resolve_model_path
from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL
from rag_ft_pipeline.training.settings import TrainingSettings
from rag_ft_pipeline.training.trainer import train_model

NAME = "training"
TARGET = 0.95  # the pipeline keeps at least 95% of the bare trainer's throughput
BATCH_SIZE = 32
PAIR_COLUMNS = ["query", "positive", "chunk_id"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--train-pairs", type=int, default=160, help="training: (question, passage) pairs trained on for one epoch"
    )
    parser.add_argument(
        "--bf16-pairs",
        type=int,
        default=64,
        help="training: pairs trained in fp32 and in bf16 autocast, to compare (0: skip)",
    )


def training_pairs(count: int, start: int) -> pd.DataFrame:
    """Inverse cloze pairs from the FDA chunks in order, as `question_pairs` makes them offline."""
    generator = InverseClozeGenerator()
    rows: list[dict[str, str]] = []
    for chunk in iter_fda_chunks(start):
        rows.extend(
            {"query": p.query, "positive": p.positive, "chunk_id": chunk.chunk_id}
            for p in generator.generate(chunk.text).pairs
        )
        if len(rows) >= count:
            break
    return pd.DataFrame(rows[:count], columns=PAIR_COLUMNS)


def train_bare(pairs: pd.DataFrame, folder: Path, bf16: bool = False) -> float:
    """The obvious code, from the sentence-transformers documentation; returns train() seconds.
    `bf16`: the same with bf16 autocast (on a CPU)."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.training_args import (
        BatchSamplers,
        SentenceTransformerTrainingArguments,
    )

    model = SentenceTransformer(resolve_model_path(DEFAULT_BASE_MODEL))
    args = SentenceTransformerTrainingArguments(
        output_dir=str(folder),
        num_train_epochs=1,
        per_device_train_batch_size=BATCH_SIZE,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        # As the pipeline sets them, so a GPU compares like with like.
        fp16=torch.cuda.is_available() and not bf16,
        bf16=bf16,
        use_cpu=bf16 and not torch.cuda.is_available(),
        dataloader_pin_memory=torch.cuda.is_available(),
    )
    dataset = Dataset.from_dict({"anchor": pairs["query"].tolist(), "positive": pairs["positive"].tolist()})
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=dataset, loss=MultipleNegativesRankingLoss(model)
    )
    with Stopwatch() as clock:
        trainer.train()
    return clock.seconds


def train_with_pipeline(pairs: pd.DataFrame, folder: Path) -> float:
    result = train_model(
        resolve_model_path(DEFAULT_BASE_MODEL),
        pairs,
        pd.DataFrame(columns=PAIR_COLUMNS),
        {},  # no validation: no evaluator
        folder / "checkpoints",
        folder / "output",
        # The bare trainer's loss and batches: this measures the pipeline's overhead, not GradCache's.
        TrainingSettings(epochs=1, batch_size=BATCH_SIZE, loss="mnrl", batching="shuffled", precision="fp32"),
        logging.getLogger("benchmarks.training"),
    )
    return result.seconds


def run(args: argparse.Namespace) -> Result:
    pairs = training_pairs(args.train_pairs, args.fda_start)
    ways = {"bare": train_bare, "pipeline": train_with_pipeline}
    trials: list[dict[str, Any]] = []
    for repeat in range(1, args.repeats + 1):
        for label, train in ways.items():
            with tempfile.TemporaryDirectory() as tmp:  # fresh folders: the pipeline would resume a checkpoint
                seconds = train(pairs, Path(tmp))
            trials.append(
                {
                    "run": label,
                    "repeat": repeat,
                    "pairs": len(pairs),
                    "seconds": round(seconds, 2),
                    "pairs/s": len(pairs) / seconds,
                }
            )
    best = {label: max(t["pairs/s"] for t in trials if t["run"] == label) for label in ways}
    device = "GPU" if torch.cuda.is_available() else "CPU"
    print(f"{len(pairs)} inverse cloze pairs, 1 epoch at batch {BATCH_SIZE}, {DEFAULT_BASE_MODEL} on the {device}")
    print_table(trials)
    figures = [Figure("train one epoch", best["pipeline"], best["bare"], "pairs/s", at_least=TARGET)]
    precision: dict[str, float] = {}
    if args.bf16_pairs and not torch.cuda.is_available():
        few = pairs.iloc[: args.bf16_pairs]
        for label, bf16 in (("fp32", False), ("bf16 autocast", True)):
            with tempfile.TemporaryDirectory() as tmp:
                precision[label] = len(few) / train_bare(few, Path(tmp), bf16=bf16)
        print(f"{len(few)} pairs on the CPU: " + ", ".join(f"{k} {v:.2f} pairs/s" for k, v in precision.items()))
        figures.append(
            Figure("bf16 autocast vs fp32 on the CPU", precision["bf16 autocast"], precision["fp32"], "pairs/s")
        )
    return Result(
        NAME, figures, {"pairs": len(pairs), "batch_size": BATCH_SIZE, "trials": trials, "precision": precision}
    )


if __name__ == "__main__":
    run_alone(__name__)
