"""Download the documents a manifest lists into the documents folder."""

from __future__ import annotations

import csv
import hashlib
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from rag_ft_pipeline.common.hashing import file_hash
from rag_ft_pipeline.ingestion.conversion import FileSizeLimit

DEFAULT_CONTENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "text/html",
        "text/plain",
        "text/markdown",
    }
)
MANIFEST_COLUMNS = ("url", "filename", "sha256")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class ManifestEntry:
    """One document to fetch; `filename` defaults to the URL's last path segment, unquoted."""

    url: str
    filename: str | None = None
    sha256: str | None = None

    def __post_init__(self) -> None:
        if self.filename is None:
            object.__setattr__(self, "filename", unquote(urlsplit(self.url).path.rsplit("/", 1)[-1]))


@dataclass(frozen=True)
class DownloadResult:
    url: str
    filename: str
    status: Literal["downloaded", "present", "failed"]
    reason: str = ""
    bytes: int = 0


def read_manifest(path: Path) -> list[ManifestEntry]:
    """Parse a `url,filename,sha256` CSV; blank lines and `#` lines are skipped."""
    entries: list[ManifestEntry] = []
    header: list[str] | None = None
    # utf-8-sig: spreadsheets often save CSV with a byte-order mark.
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        for row in reader:
            cells = [cell.strip() for cell in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            where = f"{path}, line {reader.line_num}"
            if header is None:
                header = [cell.lower() for cell in cells]
                unknown = set(header) - set(MANIFEST_COLUMNS)
                if "url" not in header or unknown:
                    raise ValueError(f"{where}: header must name url and optionally filename, sha256; got {row}")
                continue
            if len(cells) > len(header):
                raise ValueError(f"{where}: expected at most {len(header)} columns, got {len(cells)}")
            fields = dict(zip(header, cells))
            url, sha256 = fields.get("url", ""), fields.get("sha256", "").lower()
            if not url:
                raise ValueError(f"{where}: missing URL")
            parts = urlsplit(url)
            if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
                raise ValueError(f"{where}: not an http(s) URL: {url!r}")
            if sha256 and not _SHA256.fullmatch(sha256):
                raise ValueError(f"{where}: sha256 must be 64 hex digits, got {sha256!r}")
            entries.append(ManifestEntry(url, fields.get("filename") or None, sha256 or None))
    return entries


class _Failed(Exception):
    """A download refused for a reason worth reporting as is."""


def download_documents(
    entries: Iterable[ManifestEntry],
    dest_dir: Path,
    *,
    timeout_seconds: float = 30.0,
    retries: int = 3,
    backoff_factor: float = 0.5,
    max_bytes: int = FileSizeLimit().max_bytes,
    allowed_content_types: frozenset[str] = DEFAULT_CONTENT_TYPES,
    progress: Callable[[int, int], None] | None = None,
) -> list[DownloadResult]:
    """Fetch each entry into `dest_dir`; one entry's failure never stops the others."""
    entries = list(entries)
    dest_dir.mkdir(parents=True, exist_ok=True)
    retry = urllib3.util.Retry(
        total=retries,
        backoff_factor=backoff_factor,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=("GET",),
        respect_retry_after_header=True,
        # Hand back the last error response so it is reported as "HTTP 503", not as a RetryError.
        raise_on_status=False,
    )

    def fetch(session: requests.Session, entry: ManifestEntry) -> DownloadResult:
        name = entry.filename or ""
        if problem := _unsafe_filename(name, dest_dir):
            return DownloadResult(entry.url, name, "failed", problem)
        target = dest_dir / name
        if target.is_file() and (entry.sha256 is None or file_hash(target) == entry.sha256.lower()):
            return DownloadResult(entry.url, name, "present", bytes=target.stat().st_size)
        try:
            with session.get(entry.url, stream=True, timeout=timeout_seconds) as response:
                size = _save(response, target, entry.sha256, max_bytes, allowed_content_types)
        except _Failed as exc:
            return DownloadResult(entry.url, name, "failed", str(exc))
        except requests.RequestException as exc:
            return DownloadResult(entry.url, name, "failed", _describe(exc, timeout_seconds))
        return DownloadResult(entry.url, name, "downloaded", bytes=size)

    results: list[DownloadResult] = []
    with requests.Session() as session:
        adapter = HTTPAdapter(max_retries=retry)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        for done, entry in enumerate(entries, start=1):
            results.append(fetch(session, entry))
            if progress is not None:
                progress(done, len(entries))
    return results


def _save(
    response: requests.Response, target: Path, sha256: str | None, max_bytes: int, allowed: frozenset[str]
) -> int:
    """Check the response, stream its body into a hidden temporary file, then rename that over `target`."""
    if not response.ok:
        raise _Failed(f"HTTP {response.status_code}")
    content_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if content_type not in allowed:
        raise _Failed(f"content type {content_type or '(none)'} is not allowed")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _Failed(f"too large: Content-Length {declared} exceeds the limit of {max_bytes} bytes")
    digest, size = hashlib.sha256(), 0
    # Same folder as the target, so the final os.replace is an atomic rename.
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    try:
        with open(temporary, "xb") as out:
            for chunk in response.iter_content(_CHUNK_BYTES):
                size += len(chunk)
                # Content-Length may be absent or wrong, so count as well.
                if size > max_bytes:
                    raise _Failed(f"too large: body exceeds the limit of {max_bytes} bytes")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if sha256 is not None and digest.hexdigest() != sha256.lower():
            raise _Failed(f"checksum mismatch: expected {sha256.lower()}, got {digest.hexdigest()}")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return size


def _unsafe_filename(name: str, dest_dir: Path) -> str | None:
    """Why `name` may not be written into `dest_dir`, or None when it is safe."""
    if not name:
        return "no filename: the URL has none, so give one in the manifest"
    unsafe = name in (".", "..") or any(c in name for c in "/\\\0")
    if unsafe or (dest_dir / name).resolve().parent != dest_dir.resolve():
        return f"unsafe filename {name!r}: it would escape the documents folder"
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and every exception wrapped in it (args, urllib3 `reason`, cause, context)."""
    stack, seen = [exc], set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = (*current.args, getattr(current, "reason", None), current.__cause__, current.__context__)
        stack.extend(item for item in inner if isinstance(item, BaseException))


def _describe(exc: requests.RequestException, timeout_seconds: float) -> str:
    """A short reason; requests reports an exhausted read retry as ConnectionError, so look inside."""
    causes = list(_causes(exc))
    timeouts = (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)
    # urllib3's NewConnectionError subclasses its TimeoutError for old callers; it is no timeout.
    if any(isinstance(c, timeouts) and not isinstance(c, urllib3.exceptions.NewConnectionError) for c in causes):
        return f"timed out after {timeout_seconds} s"
    if isinstance(exc, requests.ConnectionError):
        detail = next((c.strerror for c in causes if isinstance(c, OSError) and c.strerror), None)
        return f"connection failed: {detail}" if detail else "connection failed"
    return f"request failed: {type(exc).__name__}"
