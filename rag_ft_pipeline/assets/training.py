"""The fine-tuned model."""


import random
from typing import Any

import dagster as dg
import pandas as pd

from rag_ft_pipeline.assets.documents import chunks, current_document_ids, load_chunks
from rag_ft_pipeline.paths import ProjectPathsResource
from rag_ft_pipeline.resources import EmbeddingModelResource
from rag_ft_pipeline.training import TrainingSettings, estimate_training_seconds, train_model


class TrainingConfig(dg.Config):
    epochs: int = 3
    learning_rate: float = 2e-5
    batch_size: int = 32
    warmup_ratio: float = 0.1
    max_train_pairs: int | None = None  # a budget: train on a seeded sample of at most this many pairs
    validation_corpus_size: int = 2000  # chunks searched when scoring checkpoints (all validation answers included)
    seed: int = 42


def validation_corpus(all_chunks, validation: pd.DataFrame, size: int, seed: int) -> dict[str, str]:
    """The validation questions' own chunks plus a seeded sample of the others, up to `size`."""
    by_id = {c.chunk_id: c.text for c in all_chunks}
    needed = set(validation["chunk_id"])
    others = sorted(set(by_id) - needed)
    sample = random.Random(seed).sample(others, min(len(others), max(0, size - len(needed))))
    return {chunk_id: by_id[chunk_id] for chunk_id in sorted(needed | set(sample))}


@dg.asset(group_name="finetuned_model", kinds={"pytorch", "sentencetransformers"}, deps=[chunks])
def finetuned_model(
    context: dg.AssetExecutionContext, config: TrainingConfig, train_pairs: pd.DataFrame,
    validation_pairs: pd.DataFrame, paths: ProjectPathsResource, embedding_model: EmbeddingModelResource,
) -> dg.Output[dict[str, Any]]:
    """The base model fine-tuned with Multiple Negatives Ranking Loss (no-duplicates batches),
    best checkpoint kept by the validation slice. Saved in a folder named for its run, loadable
    with `SentenceTransformer(path)`; earlier runs' models are kept."""
    settings = TrainingSettings(**config.model_dump(exclude={"validation_corpus_size"}))
    n_pairs = min(len(train_pairs), settings.max_train_pairs or len(train_pairs))
    estimate = estimate_training_seconds(n_pairs, settings.epochs)
    context.log.info(
        f"training on {n_pairs} pairs for {settings.epochs} epochs: about {estimate / 60:.1f} min on a 2-core CPU "
        "(set max_train_pairs or epochs to bound it)"
    )
    corpus = validation_corpus(
        load_chunks(paths, current_document_ids(context.instance)), validation_pairs, config.validation_corpus_size, config.seed
    )
    result = train_model(
        embedding_model.resolved_path, train_pairs, validation_pairs, corpus,
        paths.artifact_dir("finetuned_model") / context.run_id, settings, context.log,
    )
    return dg.Output(
        {"model_path": str(result.model_path), "run_id": context.run_id, "base_model": embedding_model.model_name_or_path},
        metadata={
            **config.model_dump(),
            "model_path": dg.MetadataValue.path(str(result.model_path)),
            "base_model": embedding_model.model_name_or_path,
            "train_pairs": result.train_pairs,
            "validation_pairs": len(validation_pairs),
            "steps": result.steps,
            "training_seconds": round(result.seconds, 1),
            "estimated_seconds": round(estimate, 1),
            "best_validation_ndcg@10": result.best_validation_ndcg,
        },
    )
