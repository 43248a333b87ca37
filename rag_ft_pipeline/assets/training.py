"""The fine-tuned model."""


import json
import random
from dataclasses import asdict
from typing import Any

import dagster as dg
import pandas as pd

from rag_ft_pipeline.assets.documents import chunks, current_document_ids, load_chunks
from rag_ft_pipeline.paths import ProjectPathsResource
from rag_ft_pipeline.resources import EmbeddingModelResource
from rag_ft_pipeline.training import TrainingSettings, estimate_training_seconds, train_model, training_fingerprint


class TrainingConfig(dg.Config):
    epochs: int = 3
    learning_rate: float = 2e-5
    batch_size: int = 32
    warmup_ratio: float = 0.1
    loss: str = "mnrl"  # or "cached_mnrl" (GradCache: big batches in little memory)
    mini_batch_size: int = 16  # cached_mnrl only
    hard_negatives: int = 0  # negatives mined per pair with the base model
    hard_negative_range_min: int = 10
    hard_negative_margin: float = 0.05
    matryoshka_dims: list[int] = []  # e.g. [384, 256, 128, 64]
    max_train_pairs: int | None = None  # budgets: a seeded sample of at most this many pairs,
    max_steps: int | None = None  # and at most this many optimizer steps
    checkpoint_every_steps: int | None = None  # None: a checkpoint per epoch
    validation_corpus_size: int = 2000  # chunks searched when scoring checkpoints (all validation answers included)
    seed: int = 42


def validation_corpus(all_chunks, validation: pd.DataFrame, size: int, seed: int) -> dict[str, str]:
    """The validation questions' own chunks plus a seeded sample of the others, up to `size`."""
    by_id = {c.chunk_id: c.text for c in all_chunks}
    needed = set(validation["chunk_id"])
    others = sorted(set(by_id) - needed)
    sample = random.Random(seed).sample(others, min(len(others), max(0, size - len(needed))))
    return {chunk_id: by_id[chunk_id] for chunk_id in sorted(needed | set(sample))}


# The `training` pool (one slot in deploy/dagster.yaml) lets one training run use the GPU at a time.
@dg.asset(group_name="finetuned_model", kinds={"pytorch", "sentencetransformers"}, deps=[chunks], pool="training")
def finetuned_model(
    context: dg.AssetExecutionContext, config: TrainingConfig, train_pairs: pd.DataFrame,
    validation_pairs: pd.DataFrame, paths: ProjectPathsResource, embedding_model: EmbeddingModelResource,
) -> dg.Output[dict[str, Any]]:
    """The base model fine-tuned with Multiple Negatives Ranking Loss (no-duplicates batches),
    best checkpoint kept by the validation slice. Saved in a folder named for its run, loadable
    with `SentenceTransformer(path)`; earlier runs' models are kept."""
    settings = TrainingSettings(
        **config.model_dump(exclude={"validation_corpus_size", "matryoshka_dims"}),
        matryoshka_dims=tuple(config.matryoshka_dims),
        query_prompt=embedding_model.effective_query_prompt,
    )
    n_pairs = min(len(train_pairs), settings.max_train_pairs or len(train_pairs))
    estimate = estimate_training_seconds(n_pairs, settings)
    context.log.info(
        f"training on {n_pairs} pairs for {settings.epochs} epochs: about {estimate / 60:.1f} min on a 2-core CPU "
        "(bound it with max_train_pairs, epochs or max_steps)"
    )
    folder = paths.artifact_dir("finetuned_model")
    fingerprint = training_fingerprint(embedding_model.resolved_path, settings, train_pairs)
    corpus = validation_corpus(
        load_chunks(paths, current_document_ids(context.instance)), validation_pairs, config.validation_corpus_size, config.seed
    )
    run_folder = folder / context.run_id  # one folder per run: older models are never overwritten
    result = train_model(
        embedding_model.resolved_path, train_pairs, validation_pairs, corpus,
        folder / "checkpoints" / fingerprint, run_folder, settings, context.log,
    )
    (run_folder / "settings.json").write_text(json.dumps({"base_model": embedding_model.model_name_or_path, **asdict(settings)}, indent=2))
    return dg.Output(
        {
            "model_path": str(result.model_path), "run_id": context.run_id,
            "base_model": embedding_model.model_name_or_path, "matryoshka_dims": list(settings.matryoshka_dims),
        },
        metadata={
            **config.model_dump(),
            "model_path": dg.MetadataValue.path(str(result.model_path)),
            "base_model": embedding_model.model_name_or_path,
            "train_pairs": result.train_pairs,
            "validation_pairs": len(validation_pairs),
            "steps": result.steps,
            "resumed_from_step": result.resumed_from_step,
            "query_prompt": settings.query_prompt or "",
            "training_seconds": round(result.seconds, 1),
            "estimated_seconds": round(estimate, 1),
            "best_validation_ndcg@10": result.best_validation_ndcg,
        },
    )
