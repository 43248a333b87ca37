"""The Dagster code location: every asset, check, resource and job of the pipeline."""

from __future__ import annotations

import os

import dagster as dg

from rag_ft_pipeline.assets import DEFAULT_SELECTION, documents, export, questions, retrieval, sources, training
from rag_ft_pipeline.automation import documents_folder_sensor, retraining_job, retraining_schedule
from rag_ft_pipeline.paths import ProjectPathsResource
from rag_ft_pipeline.resources import EmbeddingModelResource, QuestionGeneratorResource, VectorStoreResource
from rag_ft_pipeline.settings import Settings

ASSET_MODULES = [sources, documents, questions, training, retrieval, export]

full_pipeline = dg.define_asset_job("full_pipeline", selection=DEFAULT_SELECTION, description="Documents to comparison.")


def _env(name: str) -> dg.EnvVar | None:
    """A secret or endpoint from the environment, read at run time, or None when unset."""
    return dg.EnvVar(name) if os.environ.get(name) else None


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=dg.load_assets_from_modules(ASSET_MODULES),
        asset_checks=dg.load_asset_checks_from_modules(ASSET_MODULES),
        jobs=[full_pipeline, retraining_job],
        sensors=[documents_folder_sensor],
        schedules=[retraining_schedule],
        resources={
            "paths": ProjectPathsResource(
                docs_dir=str(settings.docs_dir), artifacts_dir=str(settings.artifacts_dir),
                manifest=str(settings.manifest) if settings.manifest else None,
                golden_set=str(settings.golden_set) if settings.golden_set else None,
            ),
            "embedding_model": EmbeddingModelResource(model_name_or_path=settings.base_model),
            "question_generator": QuestionGeneratorResource(
                api_key=_env("OPENAI_API_KEY"), base_url=_env("OPENAI_BASE_URL")
            ),
            "vector_store": VectorStoreResource(
                persist_dir=str(settings.artifacts_dir / "chroma"), host=settings.chroma_host, port=settings.chroma_port
            ),
            # Small tables and dicts only; models and indexes live under the artifact root.
            "io_manager": dg.FilesystemIOManager(base_dir=str(settings.artifacts_dir / "tables")),
        },
        # One process for the whole run: the embedding model loads once and is shared by the steps.
        executor=dg.in_process_executor,
    )


defs = build_definitions(Settings.from_env())
