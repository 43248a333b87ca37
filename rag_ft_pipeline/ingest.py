"""Stage 1: find source documents and turn each into clean plain text."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from rag_ft_pipeline.cleaning import CleaningStats, clean_text
from rag_ft_pipeline.conversion import DEFAULT_MAX_BYTES, SUPPORTED_EXTENSIONS, DocumentError, check_source, document_markdown


@dataclass(frozen=True)
class SourceDocument:
    doc_id: str  # the path relative to the documents folder, in POSIX form
    path: Path


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


class NoDocumentsError(Exception):
    """The documents folder is missing or holds no supported file."""


def document_ids(docs_dir: Path) -> list[str]:
    """The ids of the folder's documents; a missing or empty folder is an error that says so."""
    if not docs_dir.is_dir():
        raise NoDocumentsError(f"documents folder not found: {docs_dir}")
    ids = [doc.doc_id for doc in find_documents(docs_dir)]
    if not ids:
        raise NoDocumentsError(f"no documents ({', '.join(sorted(SUPPORTED_EXTENSIONS))}) in {docs_dir}")
    return ids


_FRONT_MATTER = re.compile(r"\A---\n.*?\n---[ \t]*\n", re.DOTALL)
_FENCE = re.compile(r"^[ \t]*(```|~~~).*$", re.MULTILINE)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_LINK_DEFINITION = re.compile(r"^[ \t]*\[[^\]]+\]:[ \t]*\S+.*$", re.MULTILINE)
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>\n]*>")
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)[ \t#]*$", re.MULTILINE)
_SETEXT_UNDERLINE = re.compile(r"^[ \t]*(=+|-{2,})[ \t]*$", re.MULTILINE)
_RULE = re.compile(r"^[ \t]*([*_-])([ \t]*\1){2,}[ \t]*$", re.MULTILINE)
_TABLE_DIVIDER = re.compile(r"^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*$", re.MULTILINE)
_TABLE_ROW = re.compile(r"^[ \t]*\|(.*)\|[ \t]*$", re.MULTILINE)
_BLOCKQUOTE = re.compile(r"^[ \t]*>[ \t]?", re.MULTILINE)
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+", re.MULTILINE)
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", re.DOTALL)
# Underscore emphasis only at word edges, so snake_case identifiers survive.
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?!\*)|(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)", re.DOTALL)
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_RUN = re.compile(r"\n{3,}")


def _table_row_to_text(match: re.Match[str]) -> str:
    cells = [cell.strip() for cell in match.group(1).split("|")]
    return "; ".join(cell for cell in cells if cell)


def strip_markdown(markdown: str) -> str:
    """Plain text from Markdown: syntax removed, words kept, paragraphs separated by blank lines."""
    text = markdown.replace("\r\n", "\n").replace("\r", "\n")
    text = _FRONT_MATTER.sub("", text)
    text = _FENCE.sub("", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    text = _LINK_DEFINITION.sub("", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    text = _TABLE_DIVIDER.sub("", text)
    text = _TABLE_ROW.sub(_table_row_to_text, text)
    text = _HEADING.sub(r"\1", text)
    text = _RULE.sub("", text)
    text = _SETEXT_UNDERLINE.sub("", text)
    text = _BLOCKQUOTE.sub("", text)
    text = _BULLET.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(lambda m: m.group(1) or m.group(2), text)
    text = _STRIKE.sub(r"\1", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _TRAILING_SPACE.sub("", text)
    return _BLANK_RUN.sub("\n\n", text).strip()


def convert_document(path: Path, docs_dir: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, CleaningStats]:
    """The clean text of one document; raises DocumentError naming the reason it has none."""
    check_source(path, docs_dir, max_bytes)
    raw, is_markdown = document_markdown(path)
    text, stats = clean_text(strip_markdown(raw) if is_markdown else raw)
    if not text:
        raise DocumentError("no text left after cleaning")
    return text, stats


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def storage_name(doc_id: str) -> str:
    """A file-system-safe, collision-free file stem for a document id."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", doc_id)[:80]
    digest = hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[:10]
    return f"{readable}-{digest}"


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
