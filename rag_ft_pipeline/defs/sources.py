"""Documents listed in a manifest (e.g. FDA guidance URLs), downloaded into the documents folder (group `sources`)."""

from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from rag_ft_pipeline.common.progress import progress_logger
from rag_ft_pipeline.defs.metadata import table
from rag_ft_pipeline.defs.resources import ProjectPathsResource
from rag_ft_pipeline.ingestion.conversion import FileSizeLimit
from rag_ft_pipeline.ingestion.downloads import download_documents, read_manifest
from rag_ft_pipeline.settings import MANIFEST_ENV


class DownloadConfig(dg.Config, FileSizeLimit):
    timeout_seconds: float = Field(default=30.0, gt=0, description="Per request.")
    retries: int = Field(default=3, ge=0, description="On 429 (honouring Retry-After), 5xx and timeouts.")


@dg.asset(group_name="sources", kinds={"python"})
def downloaded_documents(
    context: dg.AssetExecutionContext, config: DownloadConfig, paths: ProjectPathsResource
) -> dg.MaterializeResult:
    """The manifest's documents not yet in the documents folder, downloaded there (with timeouts,
    retries, a size limit, a content-type check and optional checksums). The documents-folder
    sensor then picks them up like any other new file."""
    manifest = paths.manifest
    if not manifest:
        context.log.info(f"no manifest configured (set {MANIFEST_ENV}): nothing to download")
        return dg.MaterializeResult(metadata={"downloaded": 0, "present": 0, "failed": 0})
    results = download_documents(
        read_manifest(Path(manifest)),
        paths.docs_path,
        timeout_seconds=config.timeout_seconds,
        retries=config.retries,
        max_bytes=config.max_bytes,
        progress=progress_logger(context.log, "downloading"),
    )
    frame = pd.DataFrame(
        [{"filename": r.filename, "status": r.status, "reason": r.reason, "bytes": r.bytes} for r in results],
        columns=["filename", "status", "reason", "bytes"],
    )
    counts = frame["status"].value_counts()
    for failed in frame[frame["status"] == "failed"].itertuples():
        context.log.warning(f"{failed.filename}: {failed.reason}")
    return dg.MaterializeResult(
        metadata={
            "manifest": manifest,
            "downloaded": int(counts.get("downloaded", 0)),
            "present": int(counts.get("present", 0)),
            "failed": int(counts.get("failed", 0)),
            "results": table(frame, rows=100),
        }
    )
