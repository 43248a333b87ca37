from pathlib import Path

import pytest

from rag_ft_pipeline.cleaning import clean_text
from rag_ft_pipeline.conversion import DocumentError, read_text
from rag_ft_pipeline.ingest import convert_document, find_documents, storage_name, strip_markdown


def test_strip_markdown_keeps_words_and_drops_syntax():
    markdown = """---
title: "Front matter"
---
# Sterility Assurance

Manufacturers **must** validate the *cycle* with ~~old~~ new [biological indicators](https://example.org/bi).
![Figure 1: process flow](figures/flow.png)

| Method | Indicator |
|--------|:---------:|
| Steam  | G. stearothermophilus |

- first item
* second item

> quoted advice

Use `snake_case_names` and __strong__ text; see <https://example.org/x>.
"""
    text = strip_markdown(markdown)
    assert "Front matter" not in text and "---" not in text
    assert text.startswith("Sterility Assurance\n\n")
    assert "Manufacturers must validate the cycle with old new biological indicators." in text
    assert "Figure 1: process flow" in text and "figures/flow.png" not in text
    assert "Method; Indicator" in text and "Steam; G. stearothermophilus" in text
    assert "first item\nsecond item" in text
    assert "quoted advice" in text and ">" not in text.replace("<", "")
    assert "snake_case_names" in text and "strong" in text and "__" not in text
    assert "https://example.org/x" in text and "(https://example.org/bi)" not in text
    for syntax in ("#", "**", "|", "`", "[", "]"):
        assert syntax not in text


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


def test_find_documents_uses_relative_ids_and_skips_hidden_and_unsupported(tmp_path: Path):
    (tmp_path / "sub dir").mkdir()
    (tmp_path / "sub dir" / "Guidance é.md").write_text("# A")
    (tmp_path / "b.txt").write_text("B")
    (tmp_path / ".hidden.md").write_text("C")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "c.PDF").write_bytes(b"%PDF")
    assert [d.doc_id for d in find_documents(tmp_path)] == ["b.txt", "c.PDF", "sub dir/Guidance é.md"]


def test_storage_names_are_safe_and_distinct():
    names = {storage_name(doc_id) for doc_id in ["a/b.md", "a_b.md", "a b.md", "é" * 300 + ".md"]}
    assert len(names) == 4
    assert all(len(name) < 100 and "/" not in name and " " not in name for name in names)
