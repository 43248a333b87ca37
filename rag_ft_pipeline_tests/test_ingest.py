from pathlib import Path

import pytest

from rag_ft_pipeline.cleaning import clean_text
from rag_ft_pipeline.ingest import DocumentError, convert_document, find_documents, read_text, storage_name, strip_markdown


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


def test_clean_text_removes_page_furniture_and_mends_page_breaks():
    page = "Contains Nonbinding Recommendations\n\n{body}\n\n{number}\n"
    raw = (
        "Table of Contents\nI. Introduction ........................ 1\nII. Scope ..... 2\n\n"
        + page.format(body="The sponsor should keep records of all shipments, including the", number=3)
        + page.format(body="lot numbers and dates, for two years after approval.", number=4)
        + page.format(body="A second paragraph ends here.", number="iv")
    )
    text = clean_text(raw)
    assert "Contains Nonbinding Recommendations" not in text
    assert "....." not in text and "II. Scope" not in text
    assert "including the\nlot numbers and dates" in text  # the page break inside the sentence is gone
    assert "\n\nA second paragraph ends here." in text  # a real paragraph break stays
    assert not any(line.strip() in {"3", "4", "iv"} for line in text.splitlines())


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
        convert_document(empty)


def test_find_documents_uses_relative_ids_and_skips_hidden_and_unsupported(tmp_path: Path):
    (tmp_path / "sub dir").mkdir()
    (tmp_path / "sub dir" / "Guidance é.md").write_text("# A")
    (tmp_path / "b.txt").write_text("B")
    (tmp_path / ".hidden.md").write_text("C")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    assert [d.doc_id for d in find_documents(tmp_path)] == ["b.txt", "sub dir/Guidance é.md"]


def test_storage_names_are_safe_and_distinct():
    names = {storage_name(doc_id) for doc_id in ["a/b.md", "a_b.md", "a b.md", "é" * 300 + ".md"]}
    assert len(names) == 4
    assert all(len(name) < 100 and "/" not in name and " " not in name for name in names)
