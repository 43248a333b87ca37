"""Stage 7: fine-tune the embedding model with Multiple Negatives Ranking Loss."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer, SentenceTransformerModelCardData, SentenceTransformerTrainer
from sentence_transformers.evaluation import InformationRetrievalEvaluator
from sentence_transformers.losses import MultipleNegativesRankingLoss
from sentence_transformers.training_args import BatchSamplers, SentenceTransformerTrainingArguments
from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback

# Measured on a 2-core CPU with all-MiniLM-L6-v2 at batch 32 (see README); a GPU is far faster.
CPU_PAIRS_PER_SECOND = 6.0
VALIDATION_NAME = "validation"
BEST_METRIC = f"eval_{VALIDATION_NAME}_cosine_ndcg@10"


@dataclass(frozen=True)
class TrainingSettings:
    epochs: int = 3
    learning_rate: float = 2e-5
    batch_size: int = 32
    warmup_ratio: float = 0.1
    max_train_pairs: int | None = None  # a budget: train on at most this many pairs
    seed: int = 42


@dataclass(frozen=True)
class TrainingResult:
    model_path: Path
    train_pairs: int
    steps: int
    seconds: float
    best_validation_ndcg: float | None
    log_history: list[dict]


def estimate_training_seconds(n_pairs: int, epochs: int, pairs_per_second: float = CPU_PAIRS_PER_SECOND) -> float:
    return n_pairs * epochs / pairs_per_second


class _LogProgress(TrainerCallback):
    """Training progress in the run's log (the trainer's own bars go to a terminal only)."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log

    def on_log(self, args, state, control, logs=None, **kwargs):
        shown = ", ".join(f"{k}={v:.4g}" for k, v in (logs or {}).items() if isinstance(v, float) and "@" not in k or k == BEST_METRIC)
        self.log.info(f"training step {state.global_step}/{state.max_steps}: {shown}")


def _validation_evaluator(validation: pd.DataFrame, corpus: dict[str, str]) -> InformationRetrievalEvaluator | None:
    if validation.empty:
        return None
    queries = {f"q{i}": q for i, q in enumerate(validation["query"])}
    relevant = {f"q{i}": {chunk_id} for i, chunk_id in enumerate(validation["chunk_id"])}
    return InformationRetrievalEvaluator(
        queries=queries, corpus=corpus, relevant_docs=relevant, name=VALIDATION_NAME,
        show_progress_bar=False, batch_size=64,
    )


def train_model(
    base_model_path: str,
    train: pd.DataFrame,
    validation: pd.DataFrame,
    corpus: dict[str, str],
    output_dir: Path,
    settings: TrainingSettings,
    log: logging.Logger,
) -> TrainingResult:
    """Fine-tune the model at `base_model_path` (a hub id or folder) on (query, positive) pairs; keep the checkpoint that scores
    best on the validation questions (searched in `corpus`); save it to `output_dir/model`."""
    if settings.max_train_pairs is not None and len(train) > settings.max_train_pairs:
        train = train.sample(n=settings.max_train_pairs, random_state=settings.seed)
    if train.empty:
        raise ValueError("no training pairs")
    model = SentenceTransformer(
        base_model_path,
        model_card_data=SentenceTransformerModelCardData(language="en", model_name="rag_ft_pipeline fine-tuned retriever"),
    )
    evaluator = _validation_evaluator(validation, corpus)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(output_dir / "checkpoints"),
        num_train_epochs=settings.epochs,
        per_device_train_batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        warmup_ratio=settings.warmup_ratio,
        fp16=torch.cuda.is_available(),
        dataloader_pin_memory=torch.cuda.is_available(),
        # Duplicate texts in one batch would be scored as each other's negatives.
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        eval_strategy="epoch" if evaluator else "no",
        save_strategy="epoch",
        save_total_limit=2,
        load_best_model_at_end=evaluator is not None,
        metric_for_best_model=BEST_METRIC if evaluator else None,
        logging_steps=max(1, len(train) // settings.batch_size // 4),
        report_to="none",
        seed=settings.seed,
        disable_tqdm=True,
    )
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_dict({"anchor": train["query"].tolist(), "positive": train["positive"].tolist()}),
        loss=MultipleNegativesRankingLoss(model),
        evaluator=evaluator,
        callbacks=[_LogProgress(log)],
    )
    trainer.remove_callback(PrinterCallback)  # its raw dicts would duplicate the log lines above
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    model_path = output_dir / "model"
    model.save(str(model_path))
    best = trainer.state.best_metric
    return TrainingResult(
        model_path=model_path,
        train_pairs=len(train),
        steps=trainer.state.global_step,
        seconds=seconds,
        best_validation_ndcg=float(best) if best is not None else None,
        log_history=trainer.state.log_history,
    )
