"""The Dagster code location (workspace.yaml, `[tool.dagster]`, `dg`, deploy/): the pipeline's
definitions, built from the environment's settings."""

from rag_ft_pipeline.defs import build_definitions
from rag_ft_pipeline.settings import Settings

defs = build_definitions(Settings.from_env())
