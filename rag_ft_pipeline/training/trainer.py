"""Fine-tuning the embedding model with Multiple Negatives Ranking Loss and its variants."""

from __future__ import annotations

import functools
import json
import logging
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pandas as pd
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

from rag_ft_pipeline.common.files import atomic_directory
from rag_ft_pipeline.common.types import Chunk
from rag_ft_pipeline.retrieval.embedding import NO_PROMPTS, Prompts
from rag_ft_pipeline.training.batching import DocumentBatchSampler
from rag_ft_pipeline.training.budget import (
    PROBE_BATCH,
    StepBudget,
    TrainingPlan,
    checkpoint_cadence,
    choose_precision,
    default_budget_minutes,
    describe,
    full_batch_fits,
    initial_plan,
    log_every,
    on_gpu,
)
from rag_ft_pipeline.training.checkpoints import resumable_checkpoint
from rag_ft_pipeline.training.curves import training_curves
from rag_ft_pipeline.training.settings import TrainingSettings

VALIDATION_NAME = "validation"
BEST_METRIC = f"eval_{VALIDATION_NAME}_cosine_ndcg@10"
MODEL_FOLDER = "model"  # in the run's folder: the saved model
PLAN_FILE = "plan.json"  # beside the checkpoints: a resumed run keeps the steps it planned
MINI_BATCH = 32  # texts embedded at once by GradCache, when a batch does not fit in memory whole
HARD_NEGATIVE_RANKS = (10, 110)  # the base model's top ranks are often unlabelled positives
HARD_NEGATIVE_MARGIN = 0.05  # a mined negative scores at most 95% of its positive
VALIDATION_CORPUS = 2000  # chunks searched by the validation questions: theirs and a sample of the rest


@dataclass(frozen=True)
class TrainingResult:
    model_path: Path
    train_pairs: int
    steps: int
    resumed_from_step: int
    seconds: float
    best_validation_ndcg: float | None
    plan: TrainingPlan
    batch_size: int
    curves: pd.DataFrame  # the loss and validation NDCG@10 by step (training.curves)
    tracker: dict[str, str]  # where report_to sent the run, as metadata shows it

    @property
    def pairs_per_second(self) -> float:
        trained = (self.steps - self.resumed_from_step) * self.batch_size
        return trained / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class FineTunedModel:
    """What the finetuned_model asset hands on: where the model is and how it is queried."""

    model_path: Path
    run_id: str
    base_model: str
    prompts: Prompts
    matryoshka_dims: tuple[int, ...]


class _LogProgress(TrainerCallback):
    """Training progress in the run's log (the trainer's own bars go to a terminal only)."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        shown = ", ".join(
            f"{k}={v:.4g}" for k, v in logs.items() if (isinstance(v, float) and "@" not in k) or k == BEST_METRIC
        )
        self.log.info(f"training step {state.global_step}/{state.max_steps}: {shown}")


def validation_corpus(
    chunks: list[Chunk], validation: pd.DataFrame, seed: int, size: int = VALIDATION_CORPUS
) -> dict[str, str]:
    """The validation questions' own chunks plus a seeded sample of the others, up to `size`."""
    by_id = {c.chunk_id: c.text for c in chunks}
    needed = set(validation["chunk_id"])
    others = sorted(set(by_id) - needed)
    sample = random.Random(seed).sample(others, min(len(others), max(0, size - len(needed))))
    return {chunk_id: by_id[chunk_id] for chunk_id in sorted(needed | set(sample))}


def _validation_evaluator(
    validation: pd.DataFrame, corpus: dict[str, str], prompts: Prompts
) -> InformationRetrievalEvaluator | None:
    if validation.empty:
        return None
    queries = {f"q{i}": q for i, q in enumerate(validation["query"])}
    relevant = {f"q{i}": {chunk_id} for i, chunk_id in enumerate(validation["chunk_id"])}
    return InformationRetrievalEvaluator(
        queries=queries,
        corpus=corpus,
        relevant_docs=relevant,
        name=VALIDATION_NAME,
        show_progress_bar=False,
        batch_size=64,
        query_prompt=prompts.query,
        corpus_prompt=prompts.passage,
        write_csv=False,
    )


def _loss(model: SentenceTransformer, settings: TrainingSettings, full_batch: bool):
    """MultipleNegativesRankingLoss; GradCache's version when the batch does not fit in memory whole."""
    inner = (
        MultipleNegativesRankingLoss(model)
        if full_batch
        else CachedMultipleNegativesRankingLoss(model, mini_batch_size=MINI_BATCH)
    )
    if settings.matryoshka_dims:
        return MatryoshkaLoss(model, inner, matryoshka_dims=list(settings.matryoshka_dims))
    return inner


def longest_text(model: SentenceTransformer, dataset: Dataset, prompts: Prompts) -> int:
    """Tokens in the dataset's longest text, its prompt included, as the model truncates it."""
    longest = 0
    for column in dataset.column_names:
        prompt = (prompts.query if column == "anchor" else prompts.passage) or ""
        ids = model.tokenizer([prompt + text for text in dataset[column]])["input_ids"]
        longest = max(longest, *map(len, ids))
    return min(longest, model.max_seq_length)


def training_dataset(
    model: SentenceTransformer,
    train: pd.DataFrame,
    settings: TrainingSettings,
    prompts: Prompts,
    negatives_corpus: Sequence[str],
    log: logging.Logger,
) -> Dataset:
    """The (anchor, positive) pairs, with `hard_negatives` mined negatives per pair when asked: among
    `negatives_corpus` and the positives, or among the positives alone when it is empty."""
    dataset = Dataset.from_dict({"anchor": train["query"].tolist(), "positive": train["positive"].tolist()})
    if not settings.hard_negatives:
        return dataset
    among = f"{len(negatives_corpus)} passages and the positives" if negatives_corpus else "the positives"
    log.info(f"mining {settings.hard_negatives} hard negative(s) per pair with the base model, among {among}")
    mined = mine_hard_negatives(
        dataset,
        model,
        anchor_column_name="anchor",
        positive_column_name="positive",
        corpus=list(negatives_corpus) or None,
        range_min=HARD_NEGATIVE_RANKS[0],
        range_max=HARD_NEGATIVE_RANKS[1],
        relative_margin=HARD_NEGATIVE_MARGIN,
        num_negatives=settings.hard_negatives,
        sampling_strategy="top",
        query_prompt=prompts.query,
        corpus_prompt=prompts.passage,
        output_format="n-tuple",
        batch_size=64,
        verbose=False,
    )
    if len(mined) < len(dataset):  # pairs with no passage inside the range and margin are left out
        log.info(f"{len(dataset) - len(mined)} of {len(dataset)} pairs had no hard negative and are not trained on")
    return mined


def column_prompts(prompts: Prompts, columns: Sequence[str]) -> dict[str, str] | None:
    """The prompt before each dataset column: the query prompt before the anchors, the passage
    prompt before positives and negatives alike (None: no prompts at all)."""
    chosen = {c: p for c in columns if (p := prompts.query if c == "anchor" else prompts.passage)}
    return chosen or None


def _arguments(
    checkpoint_dir: Path,
    settings: TrainingSettings,
    plan: TrainingPlan,
    evaluate: bool,
    column_prompts: dict[str, str] | None,
    batch_sampler: BatchSamplers | Callable[..., DocumentBatchSampler],
    run_name: str | None,
) -> SentenceTransformerTrainingArguments:
    """A validation with each checkpoint, at the cadence the plan asks (`checkpoint_cadence`)."""
    save_steps, keep_best = checkpoint_cadence(plan, settings.checkpoint_every_steps)
    return SentenceTransformerTrainingArguments(
        output_dir=str(checkpoint_dir),
        num_train_epochs=settings.epochs,
        max_steps=plan.steps,
        per_device_train_batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        warmup_steps=settings.warmup_ratio,  # a float below 1 is a share of all steps (Transformers 5)
        fp16=plan.precision == "fp16",
        bf16=plan.precision == "bf16",
        use_cpu=not on_gpu(),
        dataloader_pin_memory=on_gpu(),
        # Duplicate texts in one batch would be scored as each other's negatives.
        batch_sampler=batch_sampler,
        prompts=column_prompts,
        eval_strategy="steps" if evaluate else "no",
        eval_steps=save_steps,
        save_strategy="steps",
        save_steps=save_steps,
        save_total_limit=2,
        load_best_model_at_end=keep_best and evaluate,
        metric_for_best_model=BEST_METRIC if evaluate else None,
        logging_steps=log_every(plan.steps),
        # TensorBoard is given its own callback (TrainingRun.trainer), so that its files outlive the checkpoints.
        report_to="none" if settings.report_to in ("none", "tensorboard") else settings.report_to,
        run_name=run_name,
        seed=settings.seed,
        disable_tqdm=True,
    )


def _batch_sampler(
    settings: TrainingSettings, train: pd.DataFrame, dataset: Dataset
) -> BatchSamplers | Callable[..., DocumentBatchSampler]:
    if settings.batching == "shuffled":
        return BatchSamplers.NO_DUPLICATES
    if "doc_id" not in train:
        raise ValueError(
            "batching by document needs each pair's doc_id; set batching to 'shuffled' for pairs without one"
        )
    # By the positive passage: mining hard negatives may drop pairs, so rows are matched by text.
    document_of = dict(zip(train["positive"], train["doc_id"]))
    return functools.partial(
        DocumentBatchSampler,
        documents=[document_of[row["positive"]] for row in dataset],
        texts=[frozenset(row.values()) for row in dataset],
    )


@dataclass
class TrainingRun:
    """One fine-tuning: the model, its pairs and settings, and where its checkpoints and output go."""

    model: SentenceTransformer
    dataset: Dataset
    evaluator: InformationRetrievalEvaluator | None
    settings: TrainingSettings
    prompts: Prompts
    sampler: BatchSamplers | Callable[..., DocumentBatchSampler]
    checkpoint_dir: Path
    output_dir: Path
    log: logging.Logger

    def trainer(
        self, plan: TrainingPlan, track: bool = False, batch_size: int | None = None
    ) -> SentenceTransformerTrainer:
        """A trainer for the plan; only the one that trains (`track`) reports to a tracker, not a probe."""
        update = {"batch_size": batch_size or self.settings.batch_size, "report_to": self.settings.report_to}
        settings = self.settings.model_copy(update=update if track else {**update, "report_to": "none"})
        prompts = column_prompts(self.prompts, self.dataset.column_names)
        args = _arguments(
            self.checkpoint_dir, settings, plan, self.evaluator is not None, prompts, self.sampler, self.output_dir.name
        )
        trainer = SentenceTransformerTrainer(
            model=self.model,
            args=args,
            train_dataset=self.dataset,
            loss=_loss(self.model, settings, plan.full_batch),
            evaluator=self.evaluator,
            callbacks=[_LogProgress(self.log)],
        )
        if settings.report_to == "tensorboard":  # imported here: tensorboard is an optional package
            from torch.utils.tensorboard import SummaryWriter
            from transformers.integrations import TensorBoardCallback

            trainer.add_callback(TensorBoardCallback(SummaryWriter(str(self.tensorboard_dir))))
        trainer.remove_callback(PrinterCallback)  # its raw dicts would duplicate the log lines above
        return trainer

    @property
    def tensorboard_dir(self) -> Path:
        return self.output_dir / "tensorboard"

    def plan(self, resuming: bool) -> TrainingPlan:
        """The plan a resumed run recorded; else the precision and the loss chosen for this machine,
        with all epochs planned until `StepBudget` times the first steps under a time budget."""
        plan_file = self.checkpoint_dir / PLAN_FILE
        if resuming and plan_file.exists():
            return TrainingPlan(**json.loads(plan_file.read_text()))
        settings = self.settings
        steps_per_epoch = max(1, len(self.dataset) // settings.batch_size)
        budget = default_budget_minutes(settings.max_train_minutes, on_gpu())
        whole = initial_plan(steps_per_epoch, settings, budget, "fp32", {}, True)  # the most steps it can take
        precision, probed = choose_precision(
            settings.precision,
            lambda p: self.trainer(replace(whole, steps=1, precision=p), batch_size=PROBE_BATCH),
            self.log,
            whole.steps,
        )
        texts = settings.batch_size * len(self.dataset.column_names)
        full_batch = full_batch_fits(self.model, texts, longest_text(self.model, self.dataset, self.prompts))
        plan = replace(whole, precision=precision, step_seconds_by_precision=probed, full_batch=full_batch)
        self.record(plan)
        return plan

    def record(self, plan: TrainingPlan) -> None:
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        (self.checkpoint_dir / PLAN_FILE).write_text(json.dumps(asdict(plan)))
        self.log.info(
            describe(plan) if plan.calibrated else describe(plan) + "; the budget is set once steps are timed"
        )

    def fit(
        self, plan: TrainingPlan, checkpoint: Path | None
    ) -> tuple[SentenceTransformerTrainer, TrainingPlan, float]:
        """Train, timing the first steps when the plan still needs it; returns the plan trained to."""
        trainer = self.trainer(plan, track=True)
        budget = StepBudget(plan, self.settings, self.record)
        if not plan.calibrated:
            trainer.add_callback(budget)
        started = time.perf_counter()
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        return trainer, budget.plan, time.perf_counter() - started

    def save(self, trainer: SentenceTransformerTrainer) -> tuple[Path, float | None, pd.DataFrame]:
        """Save the model with its prompts (written whole or not at all); its validation NDCG@10 and
        the curves."""
        history = list(trainer.state.log_history)
        scores = [row[BEST_METRIC] for row in history if BEST_METRIC in row]
        best = trainer.state.best_metric if trainer.args.load_best_model_at_end else (scores or [None])[-1]
        # What it was trained with, replacing any the base model saved, so that `encode_query`,
        # `encode_document` (and this project's tools) put exactly that before queries and passages.
        self.model.prompts.update(self.prompts.saved())
        model_path = self.output_dir / MODEL_FOLDER
        with atomic_directory(model_path) as folder:
            self.model.save(str(folder))
        shutil.rmtree(self.checkpoint_dir, ignore_errors=True)
        return model_path, best, training_curves(history, BEST_METRIC)


def train_model(
    base_model_path: str,
    train: pd.DataFrame,
    validation: pd.DataFrame,
    corpus: dict[str, str],
    checkpoint_dir: Path,
    output_dir: Path,
    settings: TrainingSettings,
    log: logging.Logger,
    prompts: Prompts = NO_PROMPTS,
    negatives_corpus: Sequence[str] = (),
) -> TrainingResult:
    """Fine-tune the model at `base_model_path` (a hub id or folder) on (query, positive) pairs for
    as many steps as the epochs, `max_steps` and the time budget allow, and save it to
    `output_dir/model`. With per-epoch validation (on `corpus`) the best checkpoint is kept.
    Checkpoints go to `checkpoint_dir`; one found there (an interrupted run of the same training) is
    resumed from, with the steps it planned. Hard negatives are mined as `training_dataset` says,
    `negatives_corpus` being the whole corpus's chunks."""
    if settings.max_train_pairs is not None and len(train) > settings.max_train_pairs:
        train = train.sample(n=settings.max_train_pairs, random_state=settings.seed)
    if train.empty:
        raise ValueError("no training pairs")
    card = SentenceTransformerModelCardData(language="en", model_name="rag_ft_pipeline fine-tuned retriever")
    model = SentenceTransformer(base_model_path, model_card_data=card)
    dataset = training_dataset(model, train, settings, prompts, negatives_corpus, log)
    evaluator = _validation_evaluator(validation, corpus, prompts)
    run = TrainingRun(
        model,
        dataset,
        evaluator,
        settings,
        prompts,
        _batch_sampler(settings, train, dataset),
        checkpoint_dir,
        output_dir,
        log,
    )
    checkpoint, resumed_from = resumable_checkpoint(checkpoint_dir)
    plan = run.plan(resuming=checkpoint is not None)
    if checkpoint:
        log.info(f"resuming from the checkpoint at step {resumed_from} of {plan.steps}")
    trainer, plan, seconds = run.fit(plan, checkpoint)
    model_path, best, curves = run.save(trainer)
    return TrainingResult(
        model_path=model_path,
        train_pairs=len(dataset),
        steps=trainer.state.global_step,
        resumed_from_step=resumed_from,
        seconds=seconds,
        best_validation_ndcg=float(best) if best is not None else None,
        plan=plan,
        batch_size=settings.batch_size,
        curves=curves,
        tracker=_tracker(settings.report_to, output_dir.name, run.tensorboard_dir),
    )


def _tracker(report_to: str, run_name: str, tensorboard_dir: Path) -> dict[str, str]:
    """Where the run went: TensorBoard's folder and the command that opens it, or the run's name in
    MLflow or trackio."""
    if report_to == "none":
        return {}
    if report_to == "tensorboard":
        return {
            "tracker": report_to,
            "tracker_run": str(tensorboard_dir),
            "open_with": f"tensorboard --logdir {tensorboard_dir}",
        }
    return {"tracker": report_to, "tracker_run": run_name}
