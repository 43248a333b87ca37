"""Cleaning for text converted from paginated documents: page furniture out, broken paragraphs mended."""

from __future__ import annotations

import re
from collections import Counter

_PAGE_NUMBER = re.compile(r"^\s*(?:page\s+)?(?:\d{1,4}|[ivxlc]{1,6})(?:\s+of\s+\d{1,4})?\s*$", re.IGNORECASE)
# Table-of-contents entries: dotted leaders, optionally followed by a page number.
_DOTTED_LEADER = re.compile(r"(?:\.\s?){5,}\s*[\divxlc]*\s*$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?:;)\]\"”’]\s*$")
_BLANK_RUN = re.compile(r"\n{3,}")

# A short line seen this often is a running header or footer ("Contains Nonbinding Recommendations").
REPEATED_LINE_MIN_COUNT = 3
REPEATED_LINE_MAX_WORDS = 12


def repeated_lines(lines: list[str]) -> set[str]:
    counts = Counter(line.strip() for line in lines if line.strip())
    return {
        line
        for line, n in counts.items()
        if n >= REPEATED_LINE_MIN_COUNT and len(line.split()) <= REPEATED_LINE_MAX_WORDS
    }


def _join_broken_paragraphs(text: str) -> str:
    """Remove a paragraph break that falls inside a sentence (a page break mid-sentence): the line
    before it does not end a sentence and the line after it starts in lower case."""
    parts = text.split("\n\n")
    merged = [parts[0]]
    for part in parts[1:]:
        if merged[-1] and part[:1].islower() and not _SENTENCE_END.search(merged[-1]):
            merged[-1] = f"{merged[-1]}\n{part}"
        else:
            merged.append(part)
    return "\n\n".join(merged)


def clean_text(text: str) -> str:
    """Drop page numbers, table-of-contents lines and running headers/footers, then mend
    paragraphs that a page break split."""
    lines = text.split("\n")
    furniture = repeated_lines(lines)
    kept = [
        line
        for line in lines
        if not (_PAGE_NUMBER.match(line) or _DOTTED_LEADER.search(line) or line.strip() in furniture)
    ]
    text = _BLANK_RUN.sub("\n\n", "\n".join(kept)).strip()
    return _join_broken_paragraphs(text)
