"""The fine-tuned model, its index and its metrics (group `finetuned_model`)."""

import json
import shutil
from pathlib import Path

import dagster as dg
import pandas as pd

from rag_ft_pipeline.common.files import write_atomic
from rag_ft_pipeline.common.types import Corpus
from rag_ft_pipeline.defs.dense import build_index, measure_dense
from rag_ft_pipeline.defs.metadata import image
from rag_ft_pipeline.defs.resources import EmbeddingModelResource, ProjectPathsResource, VectorStoreResource
from rag_ft_pipeline.evaluation.golden import GoldenRelevance
from rag_ft_pipeline.evaluation.scoring import EvaluationResult
from rag_ft_pipeline.questions.dataset import DATASET_FOLDER
from rag_ft_pipeline.retrieval.embedding import Prompts
from rag_ft_pipeline.retrieval.retrievers import Retriever
from rag_ft_pipeline.retrieval.vector_store import VectorIndex
from rag_ft_pipeline.training.checkpoints import training_fingerprint
from rag_ft_pipeline.training.curves import curves_png
from rag_ft_pipeline.training.settings import TrainingSettings
from rag_ft_pipeline.training.trainer import FineTunedModel, TrainingResult, train_model, validation_corpus

GROUP = "finetuned_model"


class TrainingConfig(dg.Config, TrainingSettings):
    pass


# The `training` pool (one slot) lets one training run use the machine (or GPU) at a time.
@dg.asset(group_name=GROUP, kinds={"pytorch", "sentencetransformers"}, pool="training")
def finetuned_model(
    context: dg.AssetExecutionContext,
    config: TrainingConfig,
    train_pairs: pd.DataFrame,
    validation_pairs: pd.DataFrame,
    chunks: Corpus,
    paths: ProjectPathsResource,
    embedding_model: EmbeddingModelResource,
) -> dg.Output[FineTunedModel]:
    """The base model fine-tuned with Multiple Negatives Ranking Loss (no-duplicates batches) for as
    long as the time budget allows. Saved in a folder named for its run, loadable with
    `SentenceTransformer(path)`; earlier runs' models are kept (see the `retention` asset)."""
    settings = TrainingSettings.model_validate(config.model_dump())
    prompts = settings.prompts_for(embedding_model.prompts().query)
    folder = paths.artifact_dir("finetuned_model")
    corpus = validation_corpus(chunks.chunks, validation_pairs, settings.seed)
    run_folder = folder / context.run_id  # one folder per run: older models are never overwritten
    result = train_model(
        embedding_model.resolved_path,
        train_pairs,
        validation_pairs,
        corpus,
        folder / "checkpoints" / training_fingerprint(embedding_model.resolved_path, settings, train_pairs),
        run_folder,
        settings,
        context.log,
        prompts=prompts,
        negatives_corpus=[c.text for c in chunks.chunks],
    )
    _keep_beside_the_model(run_folder, paths, embedding_model.model_name_or_path, settings, prompts, result)
    return dg.Output(
        FineTunedModel(
            model_path=result.model_path,
            run_id=context.run_id,
            base_model=embedding_model.model_name_or_path,
            prompts=prompts,
            matryoshka_dims=tuple(settings.matryoshka_dims),
        ),
        metadata={
            **settings.model_dump(),
            "base_model": embedding_model.model_name_or_path,
            "validation_pairs": len(validation_pairs),
            **_training_metadata(result, prompts),
            "curves_path": dg.MetadataValue.path(str(run_folder / "training_curves.csv")),
        },
    )


def _keep_beside_the_model(
    run_folder: Path,
    paths: ProjectPathsResource,
    base_model: str,
    settings: TrainingSettings,
    prompts: Prompts,
    result: TrainingResult,
) -> None:
    """The pairs it was trained on (and the eval pairs it was not), its settings and its curves."""
    shutil.copytree(
        paths.artifact_dir("question_pairs") / DATASET_FOLDER, run_folder / DATASET_FOLDER, dirs_exist_ok=True
    )
    recorded = {"base_model": base_model, **settings.model_dump(), "query_prompt": prompts.query}
    write_atomic(run_folder / "settings.json", json.dumps({**recorded, "passage_prompt": prompts.passage}, indent=2))
    write_atomic(run_folder / "training_curves.csv", result.curves.to_csv(index=False))


def _training_metadata(result: TrainingResult, prompts: Prompts) -> dict:
    """What the run did and why it stopped where it did, its speed, its prompts and its curves."""
    plan = result.plan
    return {
        "model_path": dg.MetadataValue.path(str(result.model_path)),
        "train_pairs": result.train_pairs,
        "steps": result.steps,
        "planned_steps": plan.steps,
        "steps_per_epoch": plan.steps_per_epoch,
        "epochs_trained": round(plan.epochs, 3),
        "limited_by": plan.limited_by,
        "budget_minutes": plan.budget_minutes,
        "precision": plan.precision,
        "loss": "MNRL" if plan.full_batch else "CachedMNRL (GradCache: the batch did not fit in memory whole)",
        "seconds_per_step": plan.seconds_per_step,
        "precision_probe_seconds": dg.MetadataValue.json(plan.step_seconds_by_precision),
        "estimated_seconds": round(plan.estimated_seconds, 1) if plan.estimated_seconds else None,
        "training_seconds": round(result.seconds, 1),
        "pairs_per_second": round(result.pairs_per_second, 2),
        "resumed_from_step": result.resumed_from_step,
        "query_prompt": prompts.query or "",
        "passage_prompt": prompts.passage or "",
        "best_validation_ndcg@10": result.best_validation_ndcg,
        "training_curves": image(curves_png(result.curves), "training loss and validation NDCG@10 by step"),
        **{name: dg.MetadataValue.text(value) for name, value in result.tracker.items()},
    }


@dg.asset(group_name=GROUP, kinds={"chromadb", "sentencetransformers"}, pool="vector_store")
def finetuned_index(
    context: dg.AssetExecutionContext,
    finetuned_model: FineTunedModel,
    chunks: Corpus,
    embedding_model: EmbeddingModelResource,
    vector_store: VectorStoreResource,
) -> dg.Output[VectorIndex]:
    """Every chunk embedded with the fine-tuned model (after its passage prompt), in a collection of its own."""
    model_path = str(finetuned_model.model_path)
    return build_index(
        context,
        embedding_model.load(model_path),
        model_path,
        Retriever.FINETUNED,
        chunks,
        vector_store,
        embedding_model.batch_size,
        finetuned_model.prompts,
    )


@dg.asset(group_name=GROUP, kinds={"chromadb"})
def finetuned_metrics(
    context: dg.AssetExecutionContext,
    finetuned_model: FineTunedModel,
    finetuned_index: VectorIndex,
    eval_pairs: pd.DataFrame,
    chunks: Corpus,
    golden_questions: GoldenRelevance | None,
    embedding_model: EmbeddingModelResource,
    vector_store: VectorStoreResource,
) -> dg.Output[EvaluationResult]:
    """The same metrics as base_metrics, for the fine-tuned model, on the same questions and chunks
    (and per embedding size, when it was trained with Matryoshka dimensions)."""
    return measure_dense(
        context,
        Retriever.FINETUNED.value,
        embedding_model.load(str(finetuned_model.model_path)),
        finetuned_model.prompts.query,
        finetuned_index,
        eval_pairs,
        chunks,
        golden_questions,
        vector_store,
        embedding_model.batch_size,
        finetuned_model.matryoshka_dims,
    )
