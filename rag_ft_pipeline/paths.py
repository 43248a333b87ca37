"""Where documents are read from and artifacts are written, as a Dagster resource."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from rag_ft_pipeline.ingest import storage_name


class ProjectPathsResource(dg.ConfigurableResource):
    """The documents folder, the artifact root (everything the pipeline writes) and an optional
    manifest of documents to download."""

    docs_dir: str
    artifacts_dir: str
    manifest: str | None = None  # CSV of document URLs (url,filename,sha256) to download into docs_dir
    golden_set: str | None = None  # JSON lines of human-written questions, scored beside the synthetic eval

    @property
    def docs_path(self) -> Path:
        return Path(self.docs_dir)

    def document(self, doc_id: str) -> Path:
        return self.docs_path / doc_id

    def artifact_dir(self, asset_name: str) -> Path:
        path = Path(self.artifacts_dir) / asset_name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def document_status_file(self) -> Path:
        return self.artifact_dir("clean_markdown") / "status.sqlite"

    def clean_text_file(self, doc_id: str) -> Path:
        return self.artifact_dir("clean_markdown") / f"{storage_name(doc_id)}.txt"

    def chunks_file(self, doc_id: str) -> Path:
        return self.artifact_dir("chunks") / f"{storage_name(doc_id)}.jsonl"
