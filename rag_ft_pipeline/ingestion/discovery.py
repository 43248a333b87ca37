"""Finding the source documents in the documents folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rag_ft_pipeline.ingestion.conversion import SUPPORTED_EXTENSIONS


@dataclass(frozen=True)
class SourceDocument:
    doc_id: str  # the path relative to the documents folder, in POSIX form
    path: Path


class NoDocumentsError(Exception):
    """The documents folder is missing, is not a folder, or holds no supported file."""


def find_documents(docs_dir: Path) -> list[SourceDocument]:
    """Every supported, non-hidden file under `docs_dir`, sorted by document id."""
    documents = []
    for path in docs_dir.rglob("*"):
        relative = path.relative_to(docs_dir)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() in SUPPORTED_EXTENSIONS and (path.is_file() or path.is_symlink()):
            documents.append(SourceDocument(doc_id=relative.as_posix(), path=path))
    return sorted(documents, key=lambda d: d.doc_id)


def document_ids(docs_dir: Path) -> list[str]:
    """The ids of the folder's documents; a missing, wrong or empty folder is an error that says so."""
    if docs_dir.exists() and not docs_dir.is_dir():
        raise NoDocumentsError(f"the documents folder {docs_dir} is a file, not a folder")
    if not docs_dir.is_dir():
        raise NoDocumentsError(f"documents folder not found: {docs_dir}")
    ids = [doc.doc_id for doc in find_documents(docs_dir)]
    if not ids:
        raise NoDocumentsError(f"no documents ({', '.join(sorted(SUPPORTED_EXTENSIONS))}) in {docs_dir}")
    return ids
