"""Stage 7: fine-tune the embedding model with Multiple Negatives Ranking Loss and its variants."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer, SentenceTransformerModelCardData, SentenceTransformerTrainer
from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator
from sentence_transformers.sentence_transformer.losses import (
    CachedMultipleNegativesRankingLoss,
    MatryoshkaLoss,
    MultipleNegativesRankingLoss,
)
from sentence_transformers.sentence_transformer.training_args import BatchSamplers, SentenceTransformerTrainingArguments
from sentence_transformers.util import mine_hard_negatives
from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback

# Measured on a 2-core CPU with all-MiniLM-L6-v2 at batch 32 (see README); a GPU is far faster.
CPU_PAIRS_PER_SECOND = 6.0
VALIDATION_NAME = "validation"
BEST_METRIC = f"eval_{VALIDATION_NAME}_cosine_ndcg@10"
LOSSES = ("mnrl", "cached_mnrl")


@dataclass(frozen=True)
class TrainingSettings:
    epochs: int = 3
    learning_rate: float = 2e-5
    batch_size: int = 32
    warmup_ratio: float = 0.1
    loss: str = "mnrl"  # or "cached_mnrl": GradCache, large batches at the memory of `mini_batch_size`
    mini_batch_size: int = 16
    hard_negatives: int = 0  # negatives mined per pair with the base model; 0 = in-batch negatives only
    hard_negative_range_min: int = 10  # skip the top ranks: they are often unlabelled positives
    hard_negative_margin: float = 0.05  # and anything scoring within 5% of the positive
    matryoshka_dims: tuple[int, ...] = ()  # e.g. (384, 256, 128, 64): embeddings that can be cut
    query_prompt: str | None = None  # prepended to queries (anchors) only
    max_train_pairs: int | None = None  # budgets
    max_steps: int | None = None
    checkpoint_every_steps: int | None = None  # None: at the end of each epoch
    seed: int = 42


@dataclass(frozen=True)
class TrainingResult:
    model_path: Path
    train_pairs: int
    steps: int
    resumed_from_step: int
    seconds: float
    best_validation_ndcg: float | None


def estimate_training_seconds(n_pairs: int, settings: TrainingSettings, pairs_per_second: float = CPU_PAIRS_PER_SECOND) -> float:
    """Roughly: each mined negative is one more text to encode per pair (a pair is two)."""
    seconds = n_pairs * settings.epochs / pairs_per_second * (1 + settings.hard_negatives / 2)
    if settings.max_steps:
        seconds = min(seconds, settings.max_steps * settings.batch_size / pairs_per_second)
    return seconds


def training_fingerprint(base_model_path: str, settings: TrainingSettings, train: pd.DataFrame) -> str:
    """Same model, settings and data: the same training, so its checkpoints can be resumed."""
    data = pd.util.hash_pandas_object(train[["query", "positive"]], index=False).to_numpy().tobytes()
    key = json.dumps([base_model_path, asdict(settings)], sort_keys=True).encode() + data
    return hashlib.sha256(key).hexdigest()[:16]


class _LogProgress(TrainerCallback):
    """Training progress in the run's log (the trainer's own bars go to a terminal only)."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log

    def on_log(self, args, state, control, logs=None, **kwargs):
        shown = ", ".join(f"{k}={v:.4g}" for k, v in (logs or {}).items() if isinstance(v, float) and "@" not in k or k == BEST_METRIC)
        self.log.info(f"training step {state.global_step}/{state.max_steps}: {shown}")


def _validation_evaluator(validation: pd.DataFrame, corpus: dict[str, str], query_prompt: str | None) -> InformationRetrievalEvaluator | None:
    if validation.empty:
        return None
    queries = {f"q{i}": q for i, q in enumerate(validation["query"])}
    relevant = {f"q{i}": {chunk_id} for i, chunk_id in enumerate(validation["chunk_id"])}
    return InformationRetrievalEvaluator(
        queries=queries, corpus=corpus, relevant_docs=relevant, name=VALIDATION_NAME,
        show_progress_bar=False, batch_size=64, query_prompt=query_prompt, write_csv=False,
    )


def _loss(model: SentenceTransformer, settings: TrainingSettings):
    if settings.loss not in LOSSES:
        raise ValueError(f"unknown loss {settings.loss!r}: use one of {', '.join(LOSSES)}")
    inner = (
        CachedMultipleNegativesRankingLoss(model, mini_batch_size=settings.mini_batch_size)
        if settings.loss == "cached_mnrl"
        else MultipleNegativesRankingLoss(model)
    )
    return MatryoshkaLoss(model, inner, matryoshka_dims=list(settings.matryoshka_dims)) if settings.matryoshka_dims else inner


def _train_dataset(model: SentenceTransformer, train: pd.DataFrame, settings: TrainingSettings, log: logging.Logger) -> Dataset:
    dataset = Dataset.from_dict({"anchor": train["query"].tolist(), "positive": train["positive"].tolist()})
    if not settings.hard_negatives:
        return dataset
    log.info(f"mining {settings.hard_negatives} hard negative(s) per pair with the base model")
    return mine_hard_negatives(
        dataset, model, anchor_column_name="anchor", positive_column_name="positive",
        range_min=settings.hard_negative_range_min, relative_margin=settings.hard_negative_margin,
        num_negatives=settings.hard_negatives, sampling_strategy="top", query_prompt=settings.query_prompt,
        output_format="n-tuple", batch_size=64, verbose=False,
    )


def _resumable_checkpoint(checkpoints: Path) -> tuple[Path | None, int]:
    """The newest complete checkpoint and its step. The trainer writes trainer_state.json last, so a
    checkpoint without a whole one (or without weights) was cut off mid-write: it is removed."""
    complete: dict[int, Path] = {}
    for path in checkpoints.glob("checkpoint-*"):
        try:
            json.loads((path / "trainer_state.json").read_text())
            whole = any(path.glob("*.safetensors")) or any(path.glob("*.bin"))
        except (OSError, ValueError):
            whole = False
        if whole:
            complete[int(path.name.rsplit("-", 1)[1])] = path
        else:
            shutil.rmtree(path, ignore_errors=True)
    step = max(complete, default=0)
    return complete.get(step), step


def train_model(
    base_model_path: str,
    train: pd.DataFrame,
    validation: pd.DataFrame,
    corpus: dict[str, str],
    checkpoint_dir: Path,
    output_dir: Path,
    settings: TrainingSettings,
    log: logging.Logger,
) -> TrainingResult:
    """Fine-tune the model at `base_model_path` (a hub id or folder) on (query, positive) pairs and
    save the checkpoint that scores best on the validation questions (searched in `corpus`) to
    `output_dir/model`. Checkpoints go to `checkpoint_dir`; one found there (an interrupted run of
    the same training) is resumed from, and they are removed once the model is saved."""
    if settings.max_train_pairs is not None and len(train) > settings.max_train_pairs:
        train = train.sample(n=settings.max_train_pairs, random_state=settings.seed)
    if train.empty:
        raise ValueError("no training pairs")
    model = SentenceTransformer(
        base_model_path,
        model_card_data=SentenceTransformerModelCardData(language="en", model_name="rag_ft_pipeline fine-tuned retriever"),
    )
    evaluator = _validation_evaluator(validation, corpus, settings.query_prompt)
    every_steps = settings.checkpoint_every_steps
    args = SentenceTransformerTrainingArguments(
        output_dir=str(checkpoint_dir),
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps or -1,
        per_device_train_batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        warmup_steps=settings.warmup_ratio,  # a float below 1 is a share of all steps (Transformers 5)
        fp16=torch.cuda.is_available(),
        dataloader_pin_memory=torch.cuda.is_available(),
        # Duplicate texts in one batch would be scored as each other's negatives.
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        prompts={"anchor": settings.query_prompt} if settings.query_prompt else None,
        eval_strategy=("steps" if every_steps else "epoch") if evaluator else "no",
        save_strategy="steps" if every_steps else "epoch",
        eval_steps=every_steps,
        save_steps=every_steps,
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
        train_dataset=_train_dataset(model, train, settings, log),
        loss=_loss(model, settings),
        evaluator=evaluator,
        callbacks=[_LogProgress(log)],
    )
    trainer.remove_callback(PrinterCallback)  # its raw dicts would duplicate the log lines above
    checkpoint, resumed_from = _resumable_checkpoint(checkpoint_dir)
    if checkpoint:
        log.info(f"resuming from the checkpoint at step {resumed_from}")
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    seconds = time.perf_counter() - started
    model_path = output_dir / "model"
    model.save(str(model_path))
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    best = trainer.state.best_metric
    return TrainingResult(
        model_path=model_path,
        train_pairs=len(train),
        steps=trainer.state.global_step,
        resumed_from_step=resumed_from,
        seconds=seconds,
        best_validation_ndcg=float(best) if best is not None else None,
    )
