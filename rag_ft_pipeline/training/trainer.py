"""Fine-tuning the embedding model with Multiple Negatives Ranking Loss and its variants."""

from __future__ import annotations

import functools
import json
import logging
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
from datasets import Dataset
from sentence_transformers import SentenceTransformer, SentenceTransformerModelCardData, SentenceTransformerTrainer
from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator
from sentence_transformers.sentence_transformer.losses import (
    CachedGISTEmbedLoss,
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
from rag_ft_pipeline.training.budget import Precision, TrainingPlan, on_gpu, plan_training
from rag_ft_pipeline.training.checkpoints import resumable_checkpoint
from rag_ft_pipeline.training.curves import training_curves
from rag_ft_pipeline.training.settings import TrainingSettings

VALIDATION_NAME = "validation"
BEST_METRIC = f"eval_{VALIDATION_NAME}_cosine_ndcg@10"
PLAN_FILE = "plan.json"  # beside the checkpoints: a resumed run keeps the steps it planned
CHECKPOINT_MINUTES = 5.0  # under a time budget: a checkpoint about this often, for resuming


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


def validation_corpus(chunks: list[Chunk], validation: pd.DataFrame, size: int, seed: int) -> dict[str, str]:
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


def _loss(model: SentenceTransformer, settings: TrainingSettings, base_model_path: str):
    directions = (
        ("query_to_doc", "query_to_query", "doc_to_query", "doc_to_doc")
        if settings.loss_directions == "all"
        else ("query_to_doc",)
    )
    options = {
        "directions": directions,
        "hardness_mode": "all_negatives" if settings.hardness_strength else None,
        "hardness_strength": settings.hardness_strength,
    }
    if settings.loss == "cached_gist":
        inner = CachedGISTEmbedLoss(
            model,
            SentenceTransformer(base_model_path, device=str(model.device)),
            temperature=1 / 20,  # MNRL's scale of 20, so that only the masking differs
            mini_batch_size=settings.mini_batch_size,
            contrast_anchors=False,
            contrast_positives=False,
        )
    elif settings.loss == "cached_mnrl":
        inner = CachedMultipleNegativesRankingLoss(model, mini_batch_size=settings.mini_batch_size, **options)
    else:
        inner = MultipleNegativesRankingLoss(model, **options)
    if settings.matryoshka_dims:
        return MatryoshkaLoss(model, inner, matryoshka_dims=list(settings.matryoshka_dims))
    return inner


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
        range_min=settings.hard_negative_range_min,
        range_max=settings.hard_negative_range_max,
        relative_margin=settings.hard_negative_margin,
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
    precision: Precision,
    steps: int,
    save_steps: int | None,
    evaluate: bool,
    column_prompts: dict[str, str] | None,
    batch_sampler: BatchSamplers | Callable[..., DocumentBatchSampler] = BatchSamplers.NO_DUPLICATES,
    run_name: str | None = None,
) -> SentenceTransformerTrainingArguments:
    """Evaluation and checkpoints per epoch for the full recipe; under a budget shorter than two
    epochs, a checkpoint (for resuming) and an evaluation (for the validation curve) every few minutes."""
    per_epoch = save_steps is None
    return SentenceTransformerTrainingArguments(
        output_dir=str(checkpoint_dir),
        num_train_epochs=settings.epochs,
        max_steps=steps,
        per_device_train_batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        warmup_steps=settings.warmup_ratio,  # a float below 1 is a share of all steps (Transformers 5)
        fp16=precision == "fp16",
        bf16=precision == "bf16",
        use_cpu=precision != "fp16" and not on_gpu(),
        dataloader_pin_memory=on_gpu(),
        # Duplicate texts in one batch would be scored as each other's negatives.
        batch_sampler=batch_sampler,
        prompts=column_prompts,
        eval_strategy=("epoch" if per_epoch else "steps") if evaluate else "no",
        eval_steps=save_steps,
        save_strategy="epoch" if per_epoch else "steps",
        save_steps=save_steps or 500,
        save_total_limit=2,
        load_best_model_at_end=per_epoch and evaluate,
        metric_for_best_model=BEST_METRIC if per_epoch and evaluate else None,
        logging_steps=max(1, min(steps, 400) // 8),
        # TensorBoard is given its own callback (train_model), so that its files outlive the checkpoints.
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
    `output_dir/model` (written whole or not at all). With per-epoch evaluation the checkpoint that
    scores best on the validation questions (searched in `corpus`) is kept. Checkpoints go to
    `checkpoint_dir`; one found there (an interrupted run of the same training) is resumed from,
    with the steps it planned, and they are removed once the model is saved. Hard negatives are
    mined as `training_dataset` says, `negatives_corpus` being the whole corpus's chunks."""
    if settings.max_train_pairs is not None and len(train) > settings.max_train_pairs:
        train = train.sample(n=settings.max_train_pairs, random_state=settings.seed)
    if train.empty:
        raise ValueError("no training pairs")
    model = SentenceTransformer(
        base_model_path,
        model_card_data=SentenceTransformerModelCardData(
            language="en", model_name="rag_ft_pipeline fine-tuned retriever"
        ),
    )
    evaluator = _validation_evaluator(validation, corpus, prompts)
    dataset = training_dataset(model, train, settings, prompts, negatives_corpus, log)
    loss = _loss(model, settings, base_model_path)
    sampler = _batch_sampler(settings, train, dataset)
    steps_per_epoch = max(1, len(dataset) // settings.batch_size)
    checkpoint, resumed_from = resumable_checkpoint(checkpoint_dir)
    tensorboard_dir = output_dir / "tensorboard"

    def trainer_for(
        precision: Precision, steps: int, save_steps: int | None, batch_size: int | None = None, track: bool = False
    ) -> SentenceTransformerTrainer:
        """A trainer; only the one that trains (`track`) reports to a tracker, not the timing probes."""
        update = {"batch_size": batch_size or settings.batch_size, "report_to": settings.report_to if track else "none"}
        batch = settings.model_copy(update=update)
        args = _arguments(
            checkpoint_dir,
            batch,
            precision,
            steps,
            save_steps,
            evaluator is not None,
            column_prompts(prompts, dataset.column_names),
            sampler,
            output_dir.name,
        )
        trainer = SentenceTransformerTrainer(
            model=model, args=args, train_dataset=dataset, loss=loss, evaluator=evaluator, callbacks=[_LogProgress(log)]
        )
        if batch.report_to == "tensorboard":  # imported here: tensorboard is an optional package
            from torch.utils.tensorboard import SummaryWriter
            from transformers.integrations import TensorBoardCallback

            trainer.add_callback(TensorBoardCallback(SummaryWriter(str(tensorboard_dir))))
        trainer.remove_callback(PrinterCallback)  # its raw dicts would duplicate the log lines above
        return trainer

    plan_file = checkpoint_dir / PLAN_FILE
    if checkpoint and plan_file.exists():
        plan = TrainingPlan(**json.loads(plan_file.read_text()))
        log.info(f"resuming from the checkpoint at step {resumed_from} of {plan.steps}")
    else:
        plan = plan_training(trainer_for, steps_per_epoch, settings, log)
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
        plan_file.write_text(json.dumps(asdict(plan)))
    save_steps = None
    if (plan.limited_by != "epochs" and plan.epochs < 2) or settings.checkpoint_every_steps:
        every = settings.checkpoint_every_steps or CHECKPOINT_MINUTES * 60 / (plan.seconds_per_step or 1)
        save_steps = max(1, min(plan.steps, int(every)))
    trainer = trainer_for(plan.precision, plan.steps, save_steps, track=True)
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    seconds = time.perf_counter() - started
    history = list(trainer.state.log_history)
    best = trainer.state.best_metric
    if best is None and evaluator is not None:  # no per-epoch evaluation: score the final model once
        best = evaluator(model).get(BEST_METRIC.removeprefix("eval_"))
        history.append({"step": trainer.state.global_step, BEST_METRIC: best})
    # What it was trained with, replacing any the base model saved, so that `encode_query`,
    # `encode_document` (and this project's tools) put exactly that before queries and passages.
    model.prompts.update(prompts.saved())
    model_path = output_dir / "model"
    with atomic_directory(model_path) as folder:
        model.save(str(folder))
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return TrainingResult(
        model_path=model_path,
        train_pairs=len(dataset),
        steps=trainer.state.global_step,
        resumed_from_step=resumed_from,
        seconds=seconds,
        best_validation_ndcg=float(best) if best is not None else None,
        plan=plan,
        batch_size=settings.batch_size,
        curves=training_curves(history, BEST_METRIC),
        tracker=_tracker(settings.report_to, output_dir.name, tensorboard_dir),
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
