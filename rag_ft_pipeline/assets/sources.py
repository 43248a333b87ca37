"""Downloading documents listed in a manifest (e.g. FDA guidance URLs) into the documents folder."""

from pathlib import Path

import dagster as dg
import pandas as pd

from rag_ft_pipeline.assets.documents import markdown_table
from rag_ft_pipeline.downloads import download_documents, read_manifest
from rag_ft_pipeline.paths import ProjectPathsResource
from rag_ft_pipeline.progress import progress_logger
from rag_ft_pipeline.settings import MANIFEST_ENV



class DownloadConfig(dg.Config):
    manifest: str | None = None  # overrides the paths resource's manifest (RAG_FT_MANIFEST)
    timeout_seconds: float = 30.0
    retries: int = 3
    max_file_mb: float = 50.0


@dg.asset(group_name="sources", kinds={"python"})
def downloaded_documents(context: dg.AssetExecutionContext, config: DownloadConfig, paths: ProjectPathsResource) -> dg.MaterializeResult:
    """The manifest's documents not yet in the documents folder, downloaded there (with timeouts,
    retries, a size limit, a content-type check and optional checksums). The documents-folder
    sensor then picks them up like any other new file."""
    manifest = config.manifest or paths.manifest
    if not manifest:
        context.log.info(f"no manifest configured (set {MANIFEST_ENV} or this asset's `manifest`): nothing to download")
        return dg.MaterializeResult(metadata={"downloaded": 0, "present": 0, "failed": 0})
    entries = read_manifest(Path(manifest))
    results = download_documents(
        entries, paths.docs_path, timeout_seconds=config.timeout_seconds, retries=config.retries,
        max_bytes=int(config.max_file_mb * 1e6), progress=progress_logger(context.log, "downloading"),
    )
    table = pd.DataFrame([{"filename": r.filename, "status": r.status, "reason": r.reason, "bytes": r.bytes} for r in results])
    counts = table["status"].value_counts() if not table.empty else {}
    for failed in table[table["status"] == "failed"].itertuples() if not table.empty else []:
        context.log.warning(f"{failed.filename}: {failed.reason}")
    return dg.MaterializeResult(
        metadata={
            "manifest": manifest,
            "downloaded": int(counts.get("downloaded", 0)),
            "present": int(counts.get("present", 0)),
            "failed": int(counts.get("failed", 0)),
            "results": markdown_table(table, rows=100),
        }
    )
