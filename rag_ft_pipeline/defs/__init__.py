"""The Dagster layer: every asset, check, resource, sensor, schedule and job of the pipeline, one
module per asset group. Nothing outside this package (but the command line and the code-location
entry point) imports Dagster."""

from __future__ import annotations

import warnings

import dagster as dg

from rag_ft_pipeline.defs import (
    base_model,
    baselines,
    export,
    finetuned_model,
    ingestion,
    questions,
    reporting,
    retention,
    sources,
)
from rag_ft_pipeline.defs.automation import documents_folder_sensor, retraining_schedule
from rag_ft_pipeline.defs.io_managers import CHUNKS_IO_MANAGER, ChunksIOManager
from rag_ft_pipeline.defs.jobs import full_pipeline, retraining_job
from rag_ft_pipeline.defs.resources import (
    EmbeddingModelResource,
    ProjectPathsResource,
    QuestionGeneratorResource,
    VectorStoreResource,
)
from rag_ft_pipeline.settings import LLM_ENV, Settings

ASSET_MODULES = [sources, ingestion, questions, base_model, baselines, finetuned_model, reporting, retention, export]
OWNERS = ["team:retrieval"]


def _optional(path: object) -> str | None:
    return str(path) if path else None


def build_definitions(settings: Settings) -> dg.Definitions:
    assets = dg.map_asset_specs(
        lambda spec: spec.replace_attributes(owners=OWNERS), dg.load_assets_from_modules(ASSET_MODULES)
    )
    with warnings.catch_warnings():  # code references are a beta feature: it works, the notice is noise
        warnings.simplefilter("ignore", dg.BetaWarning)
        assets = dg.with_source_code_references(assets)
    return dg.Definitions(
        assets=assets,
        asset_checks=dg.load_asset_checks_from_modules(ASSET_MODULES),
        jobs=[full_pipeline, retraining_job],
        sensors=[documents_folder_sensor],
        schedules=[retraining_schedule(settings.retrain_cron)],
        resources={
            "paths": ProjectPathsResource(
                docs_dir=str(settings.docs_dir),
                artifacts_dir=str(settings.artifacts_dir),
                manifest=_optional(settings.manifest),
                golden_set=_optional(settings.golden_set),
                train_questions=_optional(settings.train_questions),
            ),
            "embedding_model": EmbeddingModelResource(model_name_or_path=settings.base_model),
            # The key and endpoint by name, read at run time (a secret is never stored with the run).
            "question_generator": QuestionGeneratorResource(
                **{
                    field: dg.EnvVar(name)
                    for field, name in zip(("api_key", "base_url"), LLM_ENV)
                    if name in settings.llm_env
                }
            ),
            "vector_store": VectorStoreResource(
                persist_dir=str(settings.artifacts_dir / "chroma"), host=settings.chroma_host, port=settings.chroma_port
            ),
            CHUNKS_IO_MANAGER: ChunksIOManager(artifacts_dir=str(settings.artifacts_dir)),
            # Small tables and values only; models and indexes live under the artifact root.
            "io_manager": dg.FilesystemIOManager(base_dir=str(settings.artifacts_dir / "tables")),
        },
        # One process for the whole run: the embedding model loads once and is shared by the steps.
        executor=dg.in_process_executor,
    )
