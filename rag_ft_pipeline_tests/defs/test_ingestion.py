"""Real PDFs downloaded from a local server, bad files beside them, and a fixed file picked up again."""

import csv
import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest

from rag_ft_pipeline.defs import build_definitions
from rag_ft_pipeline.defs.runner import latest_metadata, materialize_pipeline, register_documents
from rag_ft_pipeline_tests.helpers import launch, locked_pdf, project_settings, sensor_tick

pytestmark = pytest.mark.slow


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_fda_pdfs_with_bad_files_beside_them(tmp_path: Path, fda_pdfs_dir: Path):
    pdfs = sorted(fda_pdfs_dir.glob("*.pdf"))
    held_back = pdfs.pop()  # arrives later, as the fix of a corrupt file
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(fda_pdfs_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    manifest = tmp_path / "manifest.csv"
    with manifest.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["url", "filename", "sha256"])
        writer.writerows([[f"http://127.0.0.1:{server.server_address[1]}/{pdf.name}", "", ""] for pdf in pdfs])

    docs = tmp_path / "docs"
    docs.mkdir()
    settings = project_settings(docs, tmp_path, manifest=manifest)
    defs = build_definitions(settings)
    with dg.instance_for_test() as instance:
        assert materialize_pipeline(defs, instance, selection="key:downloaded_documents").success
        assert latest_metadata(instance, "downloaded_documents")["downloaded"] == 11
        server.shutdown()

        locked_pdf(docs / "locked.pdf")
        (docs / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage")
        shutil.copy(docs / pdfs[0].name, docs / "copy of first.pdf")
        register_documents(settings, instance)
        selection = "key:clean_markdown or key:chunks or key:question_pairs"
        assert materialize_pipeline(defs, instance, selection=selection).success
        converted = latest_metadata(instance, "clean_markdown")
        assert (converted["documents"], converted["failed"], converted["duplicates"]) == (11, 2, 1)
        failures = {record.data["doc_id"]: record.data["reason"] for record in converted["failures"].records}
        assert "the PDF is locked with a user password" in failures["locked.pdf"]
        assert "corrupt or unreadable PDF" in failures["corrupt.pdf"]
        assert f"same content as {pdfs[0].name}" in failures["copy of first.pdf"]
        assert latest_metadata(instance, "chunks")["boilerplate_share"] < 0.1
        assert latest_metadata(instance, "question_pairs")["yield"] >= 0.8

        # The corrupt file is replaced by a good one: the sensor sees the change, and its run converts it.
        seen = sensor_tick(instance, defs.resources, None)  # first tick: remembers the folder as it is
        shutil.copy(held_back, docs / "corrupt.pdf")
        deleted = sensor_tick(instance, defs.resources, seen.cursor)  # its partition goes, to come back last
        [run] = sensor_tick(instance, defs.resources, deleted.cursor).run_requests
        assert (
            run.tags["dagster/asset_partition_range_start"]
            == run.tags["dagster/asset_partition_range_end"]
            == "corrupt.pdf"
        )
        assert launch(defs, instance, run).success
        fixed = latest_metadata(instance, "clean_markdown")
        assert (
            fixed["documents"] == 1
            and fixed["failed"] == 1
            and "corrupt.pdf" not in {r.data["doc_id"] for r in fixed["failures"].records}
        )
