"""Conversion of each format from real files, and each kind of bad input."""

import os
import shutil
from pathlib import Path

import docx
import pytest

from rag_ft_pipeline.ingestion.conversion import DocumentError, FileSizeLimit, convert_document, read_text
from rag_ft_pipeline.ingestion.discovery import find_documents
from rag_ft_pipeline_tests.helpers import locked_pdf


def test_all_shared_fda_pdfs_convert_including_the_aes_encrypted_one(fda_pdfs_dir: Path):
    from pypdf import PdfReader

    pdfs = sorted(fda_pdfs_dir.glob("*.pdf"))
    assert len(pdfs) == 12
    assert any(PdfReader(p).is_encrypted for p in pdfs)  # the owner-password, AES one
    for pdf in pdfs:
        text, stats = convert_document(pdf, fda_pdfs_dir)
        assert len(text.split()) > 300, pdf.name
        assert "\f" not in text and stats.lines_joined > 0


def test_aes_encrypted_pdf_reads_as_text(fda_pdfs_dir: Path):
    text, _ = convert_document(fda_pdfs_dir / "Drug_Approval_Process_Overview.pdf", fda_pdfs_dir)
    assert "Investigational New Drug" in text


def test_docx_built_with_python_docx(tmp_path: Path):
    document = docx.Document()
    document.add_heading("Scope", level=1)
    document.add_paragraph("Manufacturers should validate each sterilization cycle with biological indicators.")
    table = document.add_table(rows=2, cols=2)
    for (row, col), value in {(0, 0): "Method", (0, 1): "Indicator", (1, 0): "Steam", (1, 1): "Spores"}.items():
        table.cell(row, col).text = value
    path = tmp_path / "guidance.docx"
    document.save(path)
    text, _ = convert_document(path, tmp_path)
    assert text.startswith("Scope\n\nManufacturers should validate each sterilization cycle")
    assert "Method; Indicator" in text and "Steam; Spores" in text
    assert "#" not in text and "|" not in text


def test_html_page(tmp_path: Path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>t</title><script>var tracking = 1;</script><style>p {color: red}</style></head>"
        "<body><h1>Labeling</h1><p>The <b>Drug Facts</b> label uses a <a href='/size'>minimum type size</a>.</p>"
        "<ul><li>6-point type</li><li>4.5-point on small packages</li></ul></body></html>"
    )
    text, _ = convert_document(path, tmp_path)
    assert text.startswith("Labeling\n\nThe Drug Facts label uses a minimum type size.")
    assert "6-point type" in text and "tracking" not in text and "color" not in text and "<" not in text


def test_plain_text_in_a_legacy_encoding_and_odd_names(tmp_path: Path):
    path = tmp_path / "Guidance – café é 1.txt"
    path.write_bytes(
        ("Stérilisation et qualité: les résumés sont conservés à 4 °C pour les études. " * 6).encode("cp1252")
    )
    text, _ = convert_document(path, tmp_path)
    assert "Stérilisation et qualité" in text
    assert [d.doc_id for d in find_documents(tmp_path)] == ["Guidance – café é 1.txt"]


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        (
            "corrupt.pdf",
            lambda p: p.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage"),
            "corrupt or unreadable PDF",
        ),
        ("truncated.pdf", lambda p: p.write_bytes(b"not a pdf at all"), "corrupt or unreadable PDF"),
        ("locked.pdf", locked_pdf, "locked with a user password"),
        ("empty.md", lambda p: p.write_text(""), "empty"),
        ("binary.txt", lambda p: p.write_bytes(bytes(range(256)) * 40), "binary data"),
        ("broken.docx", lambda p: p.write_bytes(b"PK\x03\x04 not really a zip"), "cannot convert .docx"),
    ],
)
def test_bad_inputs_fail_with_a_clear_reason(tmp_path: Path, name, make, reason):
    path = tmp_path / name
    make(path)
    with pytest.raises(DocumentError, match=reason):
        convert_document(path, tmp_path)


def test_oversized_files_and_links_out_of_the_folder_are_refused(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    big = docs / "big.txt"
    big.write_text("word " * 300_000)  # 1.4 MiB
    with pytest.raises(DocumentError, match=r"the file is 1.4 MiB, over the 1 MiB limit"):
        convert_document(big, docs, max_bytes=FileSizeLimit(max_file_mib=1).max_bytes)
    outside = tmp_path / "secret.txt"
    outside.write_text("Private notes that must never be read through a link in the documents folder.")
    os.symlink(outside, docs / "link.txt")
    with pytest.raises(DocumentError, match="outside the documents folder"):
        convert_document(docs / "link.txt", docs)
    inside = docs / "inner"
    inside.mkdir()
    shutil.copy(big, inside / "copy.txt")
    os.symlink(inside / "copy.txt", docs / "inner-link.txt")  # a link within the folder is fine
    assert convert_document(docs / "inner-link.txt", docs)[0].startswith("word")


def test_read_text_decodes_non_utf8_and_rejects_empty(tmp_path: Path):
    text = (
        "The “café” résumé describes the naïve approach to sterilisation – déjà vu for reviewers. "
        "Each rôle is documented, and the entrepôt keeps the crème at 4 °C for the études. "
    ) * 5
    latin = tmp_path / "latin.txt"
    latin.write_bytes(text.encode("cp1252"))
    assert read_text(latin) == text
    empty = tmp_path / "empty.md"
    empty.write_text("  \n")
    with pytest.raises(DocumentError, match="empty"):
        convert_document(empty, tmp_path)
