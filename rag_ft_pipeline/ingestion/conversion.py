"""Documents of any supported format to text: PDF (pypdf), Word and HTML (markitdown), Markdown and text."""

from __future__ import annotations

import zipfile
from functools import lru_cache
from pathlib import Path

import charset_normalizer
from pydantic import BaseModel, Field
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from rag_ft_pipeline.ingestion.cleaning import CleaningStats, clean_text
from rag_ft_pipeline.ingestion.markdown import strip_markdown

MARKDOWN_EXTENSIONS = frozenset({".md", ".markdown"})
MARKITDOWN_EXTENSIONS = frozenset({".docx", ".html", ".htm"})
SUPPORTED_EXTENSIONS = MARKDOWN_EXTENSIONS | MARKITDOWN_EXTENSIONS | {".pdf", ".txt"}
MIB = 1024 * 1024


class FileSizeLimit(BaseModel):
    """The one size limit on documents, for downloading and for converting alike."""

    max_file_mib: float = Field(
        default=50.0, gt=0, description="Larger documents are refused (MiB, 2^20 bytes), with the reason recorded."
    )

    @property
    def max_bytes(self) -> int:
        return int(self.max_file_mib * MIB)


class DocumentError(Exception):
    """A document that cannot be turned into text; the message says why, for a person to fix."""


def read_text(path: Path) -> str:
    """Decode a text file: UTF-8 first, then the encoding charset-normalizer detects."""
    data = path.read_bytes()
    if not data.strip():
        raise DocumentError("the file is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DocumentError(f"binary data, not text, under a {path.suffix} name")
    matches = charset_normalizer.from_bytes(data)
    if not matches:
        raise DocumentError("not text: no character encoding fits its bytes")
    # Western text is told apart from other 8-bit code pages by its language only, which a
    # detector often misjudges; when Windows-1252 fits, it is by far the likeliest.
    western = next((m for m in matches if m.encoding == "cp1252"), None)
    return str(western or matches.best())


def pdf_text(path: Path) -> str:
    """The text layer of a PDF, pages separated by form feeds. A PDF encrypted with only an owner
    password opens with the empty user password; one that needs a user password is refused."""
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError("the PDF is locked with a user password")
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as error:
        raise DocumentError(f"corrupt or unreadable PDF: {error}") from error
    if not any(page.strip() for page in pages):
        raise DocumentError("the PDF has no text layer (a scanned PDF needs OCR first)")
    return "\f".join(pages)


@lru_cache(maxsize=1)
def _markitdown():
    from markitdown import MarkItDown

    return MarkItDown(enable_plugins=False)


def markitdown_text(path: Path) -> str:
    # markitdown falls back to reading a broken file as plain text; a .docx must be a zip archive.
    if path.suffix.lower() == ".docx" and not zipfile.is_zipfile(path):
        raise DocumentError("cannot convert .docx file: not a valid Word document (not a zip archive)")
    try:
        return _markitdown().convert(str(path)).text_content
    except Exception as error:  # markitdown wraps each format's own errors
        raise DocumentError(f"cannot convert {path.suffix} file: {type(error).__name__}: {error}") from error


def check_source(path: Path, docs_dir: Path, max_bytes: int) -> None:
    """Refuse what must not be read: links leading out of the folder, and files over the limit."""
    if not path.resolve().is_relative_to(docs_dir.resolve()):
        raise DocumentError("a symlink pointing outside the documents folder: refused")
    if not path.is_file():
        raise DocumentError("the file no longer exists")
    size = path.stat().st_size
    if size > max_bytes:
        raise DocumentError(f"the file is {size / MIB:.1f} MiB, over the {max_bytes / MIB:g} MiB limit")


def document_markdown(path: Path) -> tuple[str, bool]:
    """The document's text, and whether it is Markdown (whose syntax is stripped afterwards)."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return pdf_text(path), False
    if suffix in MARKITDOWN_EXTENSIONS:
        return markitdown_text(path), True
    if suffix in MARKDOWN_EXTENSIONS:
        return read_text(path), True
    if suffix == ".txt":
        return read_text(path), False
    raise DocumentError(f"unsupported file type {suffix}")


def convert_document(
    path: Path, docs_dir: Path, max_bytes: int = FileSizeLimit().max_bytes
) -> tuple[str, CleaningStats]:
    """The clean text of one document; raises DocumentError naming the reason it has none."""
    check_source(path, docs_dir, max_bytes)
    raw, is_markdown = document_markdown(path)
    text, stats = clean_text(strip_markdown(raw) if is_markdown else raw)
    if not text:
        raise DocumentError("no text left after cleaning")
    return text, stats
