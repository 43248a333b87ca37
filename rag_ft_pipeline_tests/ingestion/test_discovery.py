from pathlib import Path

import pytest

from rag_ft_pipeline.ingestion.discovery import NoDocumentsError, document_ids, find_documents


def test_find_documents_uses_relative_ids_and_skips_hidden_and_unsupported(tmp_path: Path):
    (tmp_path / "sub dir").mkdir()
    (tmp_path / "sub dir" / "Guidance é.md").write_text("# A")
    (tmp_path / "b.txt").write_text("B")
    (tmp_path / ".hidden.md").write_text("C")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "c.PDF").write_bytes(b"%PDF")
    assert [d.doc_id for d in find_documents(tmp_path)] == ["b.txt", "c.PDF", "sub dir/Guidance é.md"]


def test_a_missing_empty_or_file_documents_folder_says_which(tmp_path: Path):
    with pytest.raises(NoDocumentsError, match="documents folder not found"):
        document_ids(tmp_path / "nowhere")
    with pytest.raises(NoDocumentsError, match="no documents"):
        document_ids(tmp_path)
    (tmp_path / "a.md").write_text("A")
    with pytest.raises(NoDocumentsError, match="is a file, not a folder"):
        document_ids(tmp_path / "a.md")
