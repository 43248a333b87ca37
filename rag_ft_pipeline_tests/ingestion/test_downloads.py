"""download_documents against a real HTTP server on 127.0.0.1 that serves the shared FDA PDFs."""

import hashlib
import socket
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest

from rag_ft_pipeline.ingestion.downloads import DownloadResult, ManifestEntry, download_documents, read_manifest
from rag_ft_pipeline_tests.helpers import FDA_PDFS

SLOW_SECONDS = 3.0  # the slow path answers this late; clients here give up after 1 s


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, format, *args):  # keep pytest output quiet
        pass

    def do_GET(self):
        path = unquote(urlsplit(self.path).path)
        with self.server.lock:
            self.server.requests[path] += 1
            count = self.server.requests[path]
        pdf = self.server.pdfs[0].read_bytes()
        if path == "/missing.pdf":
            self.send_error(404)
        elif path == "/slow.pdf":
            if not self.server.stopping.wait(SLOW_SECONDS):
                self._send(pdf, "application/pdf")
        elif path == "/page.pdf":
            self._send(b"<html><body>Please log in</body></html>", "text/html; charset=utf-8")
        elif (path == "/flaky.pdf" and count == 1) or path == "/down.pdf":
            self.send_error(503)
        elif path == "/flaky.pdf":
            self._send(pdf, "application/pdf")
        elif path == "/no-length.pdf":
            self._send(self.server.pdfs[1].read_bytes(), "application/pdf", with_length=False)
        elif (source := self.server.folder / path.lstrip("/")).is_file() and source.parent == self.server.folder:
            self._send(source.read_bytes(), "application/pdf")
        else:
            self.send_error(404)

    def _send(self, body: bytes, content_type: str, with_length: bool = True) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        if with_length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # HTTP/1.0 closes the connection after the body, which is how a body without length ends.
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, folder: Path):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.folder = folder
        self.pdfs = sorted(folder.glob("*.pdf"), key=lambda p: p.stat().st_size)
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_port}/{quote(path)}"


@pytest.fixture
def server():
    if not FDA_PDFS.is_dir() or len(list(FDA_PDFS.glob("*.pdf"))) < 2:
        pytest.skip(f"shared FDA PDFs not found at {FDA_PDFS}")
    httpd = _Server(FDA_PDFS)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.stopping.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def docs(tmp_path) -> Path:
    return tmp_path / "docs"


def good_entry(server: _Server) -> ManifestEntry:
    """The smallest real PDF, which every failure test also fetches to show the others go on."""
    return ManifestEntry(server.url(server.pdfs[0].name))


def download(entries, dest, **options) -> list[DownloadResult]:
    options = {"timeout_seconds": 5.0, "retries": 0, "backoff_factor": 0.0} | options
    return download_documents(entries, dest, **options)


def assert_only(dest: Path, *names: str) -> None:
    """`dest` holds exactly `names`: no partial or temporary file is left behind."""
    assert sorted(p.name for p in dest.iterdir()) == sorted(names)


def assert_good_one_downloaded(server: _Server, result: DownloadResult, dest: Path) -> None:
    source = server.pdfs[0]
    assert result.status == "downloaded", result
    assert (dest / source.name).read_bytes() == source.read_bytes()


def test_downloads_a_manifest_then_reports_present_without_a_request(server, docs, tmp_path):
    small, second = server.pdfs[:2]
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"url,filename,sha256\n{server.url(small.name)},,\n{server.url(second.name)},copy.pdf,\n")
    calls = []

    results = download(read_manifest(manifest), docs, progress=lambda done, total: calls.append((done, total)))

    assert [(r.filename, r.status, r.bytes) for r in results] == [
        (small.name, "downloaded", small.stat().st_size),
        ("copy.pdf", "downloaded", second.stat().st_size),
    ]
    assert (docs / small.name).read_bytes() == small.read_bytes()
    assert (docs / "copy.pdf").read_bytes() == second.read_bytes()
    assert calls == [(1, 2), (2, 2)]
    assert_only(docs, small.name, "copy.pdf")

    before = sum(server.requests.values())
    again = download(read_manifest(manifest), docs)
    assert [r.status for r in again] == ["present", "present"]
    assert again[0].bytes == small.stat().st_size
    assert sum(server.requests.values()) == before


def test_checksum_decides_whether_an_existing_file_is_present(server, docs):
    source = server.pdfs[0]
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    docs.mkdir()
    (docs / source.name).write_bytes(b"stale copy")

    first = download([ManifestEntry(server.url(source.name), sha256=digest.upper())], docs)
    assert first[0].status == "downloaded"
    assert (docs / source.name).read_bytes() == source.read_bytes()

    second = download([ManifestEntry(server.url(source.name), sha256=digest)], docs)
    assert second[0].status == "present"
    assert server.requests[f"/{source.name}"] == 1
    assert_only(docs, source.name)


def test_http_404_fails_and_the_next_entry_still_downloads(server, docs):
    results = download([ManifestEntry(server.url("missing.pdf")), good_entry(server)], docs)
    assert (results[0].status, results[0].reason) == ("failed", "HTTP 404")
    assert_good_one_downloaded(server, results[1], docs)
    assert_only(docs, server.pdfs[0].name)


def test_timeout_fails_quickly(server, docs):
    results = download([ManifestEntry(server.url("slow.pdf")), good_entry(server)], docs, timeout_seconds=1.0)
    assert (results[0].status, results[0].reason) == ("failed", "timed out after 1.0 s")
    assert server.requests["/slow.pdf"] == 1
    assert_good_one_downloaded(server, results[1], docs)
    assert_only(docs, server.pdfs[0].name)


def test_wrong_content_type_is_refused(server, docs):
    results = download(
        [ManifestEntry(server.url("page.pdf")), good_entry(server)],
        docs,
        allowed_content_types=frozenset({"application/pdf"}),
    )
    assert (results[0].status, results[0].reason) == ("failed", "content type text/html is not allowed")
    assert_good_one_downloaded(server, results[1], docs)
    assert_only(docs, server.pdfs[0].name)


def test_retries_after_503(server, docs):
    results = download([ManifestEntry(server.url("flaky.pdf")), good_entry(server)], docs, retries=2)
    assert results[0].status == "downloaded"
    assert (docs / "flaky.pdf").read_bytes() == server.pdfs[0].read_bytes()
    assert server.requests["/flaky.pdf"] == 2
    assert_good_one_downloaded(server, results[1], docs)
    assert_only(docs, "flaky.pdf", server.pdfs[0].name)


def test_gives_up_after_the_retries_and_reports_the_status(server, docs):
    results = download([ManifestEntry(server.url("down.pdf")), good_entry(server)], docs, retries=2)
    assert (results[0].status, results[0].reason) == ("failed", "HTTP 503")
    assert server.requests["/down.pdf"] == 3
    assert_good_one_downloaded(server, results[1], docs)
    assert_only(docs, server.pdfs[0].name)


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_too_large_is_refused(server, docs, declared):
    small, big = server.pdfs[0], server.pdfs[1]
    limit = small.stat().st_size  # the good entry fits exactly; the bigger PDF does not
    path = big.name if declared else "no-length.pdf"  # /no-length.pdf streams the bigger PDF without a length
    results = download([ManifestEntry(server.url(path)), good_entry(server)], docs, max_bytes=limit)
    expected = (
        f"too large: Content-Length {big.stat().st_size} exceeds the limit of {limit} bytes"
        if declared
        else f"too large: body exceeds the limit of {limit} bytes"
    )
    assert (results[0].status, results[0].reason) == ("failed", expected)
    assert_good_one_downloaded(server, results[1], docs)
    assert_only(docs, small.name)


def test_checksum_mismatch_leaves_no_file(server, docs):
    second = server.pdfs[1]
    wrong = "0" * 64
    results = download([ManifestEntry(server.url(second.name), sha256=wrong), good_entry(server)], docs)
    actual = hashlib.sha256(second.read_bytes()).hexdigest()
    assert (results[0].status, results[0].reason) == ("failed", f"checksum mismatch: expected {wrong}, got {actual}")
    assert_good_one_downloaded(server, results[1], docs)
    assert_only(docs, server.pdfs[0].name)


def test_connection_refused_fails(server, docs):
    with socket.socket() as probe:  # a port nothing listens on once this closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    results = download([ManifestEntry(f"http://127.0.0.1:{port}/a.pdf"), good_entry(server)], docs)
    assert results[0].status == "failed"
    assert results[0].reason.startswith("connection failed")
    assert_good_one_downloaded(server, results[1], docs)


@pytest.mark.parametrize("filename", ["../escape.pdf", "..", "sub/inner.pdf", "..\\escape.pdf"])
def test_filenames_that_escape_the_folder_are_refused(server, docs, tmp_path, filename):
    source = server.pdfs[0].name
    results = download([ManifestEntry(server.url(source), filename=filename), good_entry(server)], docs)
    assert results[0].status == "failed"
    assert "escape the documents folder" in results[0].reason
    assert server.requests[f"/{source}"] == 1  # only the good entry was fetched
    assert_good_one_downloaded(server, results[1], docs)
    assert_only(docs, source)
    assert not (tmp_path / "escape.pdf").exists()


def test_url_quoted_slash_cannot_escape_either(server, docs):
    results = download([ManifestEntry("http://127.0.0.1:9/x/..%2Fescape.pdf")], docs)
    assert results[0].filename == "../escape.pdf"
    assert results[0].status == "failed"


def test_read_manifest_skips_comments_and_blank_lines(tmp_path):
    digest = "AB" * 32
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "# FDA guidance to fetch\n"
        "url,filename,sha256\n"
        "\n"
        "https://example.org/docs/Guidance%20One.pdf,,\n"
        "# http://example.org/commented-out.pdf\n"
        f"http://example.org/b?id=7,renamed.pdf,{digest}\n"
        "https://example.org/c.docx\n"
    )
    assert read_manifest(manifest) == [
        ManifestEntry("https://example.org/docs/Guidance%20One.pdf", "Guidance One.pdf"),
        ManifestEntry("http://example.org/b?id=7", "renamed.pdf", digest.lower()),
        ManifestEntry("https://example.org/c.docx", "c.docx"),
    ]
    assert ManifestEntry("https://example.org/a/b.pdf").filename == "b.pdf"


def test_read_manifest_with_only_a_url_column(tmp_path):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("url\nhttps://example.org/a.pdf\n")
    assert read_manifest(manifest) == [ManifestEntry("https://example.org/a.pdf")]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (",named.pdf,", "missing URL"),
        ("ftp://example.org/a.pdf,,", "not an http(s) URL"),
        ("example.org/a.pdf,,", "not an http(s) URL"),
        ("https://example.org/a.pdf,,not-a-digest", "sha256"),
    ],
)
def test_read_manifest_names_the_file_and_line_of_a_bad_row(tmp_path, row, message):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"url,filename,sha256\n# fine so far\nhttps://example.org/ok.pdf\n{row}\n")
    with pytest.raises(ValueError) as raised:
        read_manifest(manifest)
    assert str(raised.value).startswith(f"{manifest}, line 4: ")
    assert message in str(raised.value)
