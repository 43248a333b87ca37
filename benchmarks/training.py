"""Training and indexing speed on this machine, against its practical peak.

    .venv/bin/python -m benchmarks.training [--train-pairs 1024] [--train-index-chunks 512]

- **Peak:** a 4096-square matrix product, timed in fp32 and (where the CPU has native bf16, or on a
  GPU) in bf16: what these cores reach on the densest work there is.
- **The default step:** the pipeline's own `train_model` at its defaults (batch 128, pairs batched
  by document, the loss and precision it chooses) for four steps of inverse cloze pairs of FDA
  chunks, as the offline run makes them; the seconds per step are the ones its time budget
  measured. Useful FLOP: three forward passes' worth (forward and backward) of the pairs' tokens,
  padding left out, so GradCache's second forward and the padding count as waste.
- **Levers:** a bare sentence-transformers trainer on the same pairs (no-duplicates batches, batch
  128), each way timed for three steps, the first untimed; the ratio is against the default's way.
- **Calibration:** what the run spends on working out its plan outside training.
- **Indexing:** chunks per second through the pipeline's `encode`, with the passage prompt.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch

# benchmarks.common sets the offline environment, so Hugging Face libraries are imported after it.
from benchmarks.common import Figure, Result, fda_chunks, print_table, run_alone

# isort: split
from datasets import Dataset
from sentence_transformers import SentenceTransformerTrainer
from sentence_transformers.sentence_transformer.losses import (
    CachedMultipleNegativesRankingLoss,
    MultipleNegativesRankingLoss,
)
from sentence_transformers.sentence_transformer.training_args import BatchSamplers, SentenceTransformerTrainingArguments
from transformers import TrainerCallback

from rag_ft_pipeline.questions.inverse_cloze import InverseClozeGenerator
from rag_ft_pipeline.retrieval.embedding import (
    E5_PASSAGE_PROMPT,
    E5_QUERY_PROMPT,
    Prompts,
    encode,
    load_model,
    resolve_model_path,
)
from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL
from rag_ft_pipeline.training.budget import CALIBRATION_STEPS, bf16_supported_on_cpu, on_gpu
from rag_ft_pipeline.training.settings import TrainingSettings
from rag_ft_pipeline.training.trainer import MINI_BATCH, train_model

NAME = "training"
TARGET = 1.3  # the default step at least 1.3 times the pairs/s of GradCache in the same precision
PAIR_COLUMNS = ["query", "positive", "chunk_id", "doc_id"]
BATCH = TrainingSettings().batch_size
STEPS = 3  # per lever: the first untimed
PROMPTS = {"anchor": E5_QUERY_PROMPT, "positive": E5_PASSAGE_PROMPT}  # what the default run trains with


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--train-pairs", type=int, default=1024, help="training: inverse cloze pairs to draw batches from"
    )
    parser.add_argument(
        "--train-index-chunks", type=int, default=512, help="training: chunks embedded for the indexing row"
    )
    parser.add_argument("--train-batch", type=int, default=BATCH, help="training: pairs per step (the default's 128)")


def training_pairs(count: int, start: int) -> pd.DataFrame:
    """Inverse cloze pairs from the FDA chunks in order, as `question_pairs` makes them offline."""
    generator = InverseClozeGenerator()
    rows = [
        {"query": p.query, "positive": p.positive, "chunk_id": chunk.chunk_id, "doc_id": chunk.doc_id}
        for chunk in fda_chunks(count, start)
        for p in generator.generate(chunk.text).pairs
    ]
    return pd.DataFrame(rows[:count], columns=PAIR_COLUMNS)


def matmul_peak(dtype: torch.dtype, size: int = 4096, repeats: int = 5) -> float:
    """FLOP/s of a large matrix product: the practical peak of this machine in `dtype`."""
    device = "cuda" if on_gpu() else "cpu"
    a, b = torch.randn(size, size, dtype=dtype, device=device), torch.randn(size, size, dtype=dtype, device=device)
    (a @ b).sum().item()  # the first product pays for allocation and kernel choice
    started = time.perf_counter()
    for _ in range(repeats):
        (a @ b).sum().item()
    return 2 * size**3 * repeats / (time.perf_counter() - started)


def forward_flop(model, texts: list[str]) -> float:
    """FLOP of one forward pass over `texts` (no padding): the weights' products plus attention's."""
    encoder = model[0].auto_model
    config = encoder.config
    weights = sum(p.numel() for name, p in encoder.named_parameters() if "embeddings" not in name)
    lengths = [len(ids) for ids in model.tokenizer(texts)["input_ids"]]
    attention = 4 * config.num_hidden_layers * config.hidden_size * sum(n * n for n in lengths)
    return 2 * weights * sum(lengths) + attention


def step_flop(model, pairs: pd.DataFrame) -> float:
    """Useful FLOP per pair of a training step: forward and backward (three forwards) of both texts."""
    texts = [PROMPTS["anchor"] + q for q in pairs["query"]] + [PROMPTS["positive"] + p for p in pairs["positive"]]
    return 3 * forward_flop(model, texts) / len(pairs)


class StepTimes(TrainerCallback):
    """Seconds of each optimizer step, data loading included."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_step_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter() - self.started)


def time_steps(
    pairs: pd.DataFrame, folder: Path, batch: int, *, cached: bool, bf16: bool, compile: bool = False
) -> dict[str, float]:
    """A bare trainer's seconds per step (the median after the first), and the first's."""
    model = load_model(DEFAULT_BASE_MODEL)
    loss = (
        CachedMultipleNegativesRankingLoss(model, mini_batch_size=MINI_BATCH)
        if cached
        else MultipleNegativesRankingLoss(model)
    )
    args = SentenceTransformerTrainingArguments(
        output_dir=str(folder),
        max_steps=STEPS,
        per_device_train_batch_size=batch,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        prompts=PROMPTS,
        bf16=bf16,
        fp16=on_gpu() and not bf16,
        use_cpu=not on_gpu(),
        torch_compile=compile,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    dataset = Dataset.from_dict({"anchor": pairs["query"].tolist(), "positive": pairs["positive"].tolist()})
    timer = StepTimes()
    SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=loss, callbacks=[timer]).train()
    return {"first_step_s": timer.times[0], "step_s": statistics.median(timer.times[1:])}


def default_step(pairs: pd.DataFrame, folder: Path, batch: int) -> tuple[float, dict[str, Any]]:
    """The pipeline's seconds per step at its defaults, as its budget measured them, and its plan."""
    # One step past the timed ones: a run of no more than those is too short to time bf16 against fp32.
    settings = TrainingSettings(max_steps=2 + CALIBRATION_STEPS, batch_size=batch)
    log = logging.getLogger("benchmarks.training")
    result = train_model(
        resolve_model_path(DEFAULT_BASE_MODEL),
        pairs,
        pairs.iloc[:0],
        {},
        folder / "checkpoints",
        folder / "output",
        settings,
        log,
        prompts=Prompts(E5_QUERY_PROMPT, E5_PASSAGE_PROMPT),
    )
    plan = result.plan
    return plan.seconds_per_step or result.seconds / result.steps, {
        "precision": plan.precision,
        "full_batch": plan.full_batch,
        "precision_probe_s": plan.step_seconds_by_precision,
    }


def levers(pairs: pd.DataFrame, batch: int, bf16: bool) -> list[dict[str, Any]]:
    """Each way of taking a training step, side by side, as seconds per step."""
    ways: dict[str, dict[str, bool]] = {
        "MNRL, whole batch (default)": {"cached": False, "bf16": bf16},
        f"GradCache (CachedMNRL, mini-batch {MINI_BATCH}): the previous default": {"cached": True, "bf16": bf16},
    }
    if bf16:
        ways["MNRL in fp32 (no bf16 autocast)"] = {"cached": False, "bf16": False}
        ways["GradCache in fp32"] = {"cached": True, "bf16": False}
    ways["MNRL + torch.compile"] = {"cached": False, "bf16": bf16, "compile": True}
    rows = []
    for label, options in ways.items():
        with tempfile.TemporaryDirectory() as tmp:
            rows.append({"way": label, **time_steps(pairs, Path(tmp), batch, **options)})
    for row in rows:
        row["pairs/s"] = batch / row["step_s"]
        row["vs default"] = rows[0]["step_s"] / row["step_s"]
    return rows


def indexing(chunks: int, start: int) -> tuple[float, float]:
    """Chunks per second through the pipeline's `encode` with the passage prompt, and FLOP per chunk."""
    model = load_model(DEFAULT_BASE_MODEL)
    texts = [chunk.text for chunk in fda_chunks(chunks, start)]
    encode(model, texts[:64], prompt=E5_PASSAGE_PROMPT)  # warm
    started = time.perf_counter()
    encode(model, texts, prompt=E5_PASSAGE_PROMPT)
    seconds = time.perf_counter() - started
    return len(texts) / seconds, forward_flop(model, [E5_PASSAGE_PROMPT + t for t in texts]) / len(texts)


def run(args: argparse.Namespace) -> Result:
    bf16 = torch.cuda.is_bf16_supported() if on_gpu() else bf16_supported_on_cpu()
    peaks = {"fp32": matmul_peak(torch.float32)} | ({"bf16": matmul_peak(torch.bfloat16)} if bf16 else {})
    pairs = training_pairs(args.train_pairs, args.fda_start)
    model = load_model(DEFAULT_BASE_MODEL)
    flop_per_pair = step_flop(model, pairs)
    with tempfile.TemporaryDirectory() as tmp:
        seconds, plan = default_step(pairs, Path(tmp), args.train_batch)
    rows = levers(pairs, args.train_batch, bf16)
    chunks_per_second, flop_per_chunk = indexing(args.train_index_chunks, args.fda_start)
    peak = peaks[plan["precision"] if plan["precision"] in peaks else "fp32"]
    achieved = {
        "default training step": (args.train_batch / seconds, args.train_batch / seconds * flop_per_pair),
        "indexing (fp32)": (chunks_per_second, chunks_per_second * flop_per_chunk),
    }
    print(", ".join(f"peak {k} {v / 1e9:.0f} GFLOP/s" for k, v in peaks.items()))
    print(f"default step: {plan}")
    print_table(
        [
            {
                "work": work,
                "items/s": rate,
                "useful GFLOP/s": flop / 1e9,
                "share of peak": flop / (peak if work.startswith("default") else peaks["fp32"]),
            }
            for work, (rate, flop) in achieved.items()
        ]
    )
    print_table(rows)
    probe = 2 * sum(plan["precision_probe_s"].values())  # an untimed and a timed small step per precision
    old_calibration = probe + (1 + CALIBRATION_STEPS) * rows[1]["step_s"]
    print(f"calibration outside training: {probe:.1f} s now (the precision probe), {old_calibration:.1f} s before")
    return Result(
        NAME,
        [
            Figure(
                "default step vs GradCache", args.train_batch / seconds, rows[1]["pairs/s"], "pairs/s", at_least=TARGET
            ),
            Figure("calibration outside training", probe, old_calibration, "s"),
        ],
        {"peaks": peaks, "plan": plan, "achieved": achieved, "levers": rows, "flop_per_pair": flop_per_pair},
    )


if __name__ == "__main__":
    run_alone(__name__)
