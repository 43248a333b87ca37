"""Cleaning for text converted from paginated documents: page furniture out, paragraphs rebuilt."""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass, fields

_PAGE_NUMBER = re.compile(r"^\s*(?:page\s+)?(?:\d{1,4}|[ivxlc]{1,6})(?:\s+of\s+\d{1,4})?\s*$", re.IGNORECASE)
# Table-of-contents entries: dotted leaders, optionally followed by a page number.
_DOTTED_LEADER = re.compile(r"(?:\.\s?){5,}\s*[\divxlc]*\s*$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?:;)\]\"”’]\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[•·▪◦*\-–]|\(?[0-9ivxa-h]{1,4}[.)])\s+", re.IGNORECASE)
_HYPHEN_BREAK = re.compile(r"([A-Za-z]{2,})-\n([a-z]{2,})")
_SPACES = re.compile(r"[ \t\u00a0]{2,}")
_BLANK_RUN = re.compile(r"\n{3,}")

# A short line seen this often is a running header or footer ("Contains Nonbinding Recommendations").
REPEATED_LINE_MIN_COUNT = 3
REPEATED_LINE_MAX_WORDS = 12
# A line this much shorter than the document's usual line ends its paragraph (or is a heading).
SHORT_LINE_RATIO = 0.6


@dataclass
class CleaningStats:
    page_numbers: int = 0
    contents_lines: int = 0
    repeated_lines: int = 0
    hyphens_joined: int = 0
    lines_joined: int = 0
    page_breaks_mended: int = 0

    def add(self, other: CleaningStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def repeated_lines(lines: list[str]) -> set[str]:
    counts = Counter(line.strip() for line in lines if line.strip())
    return {
        line
        for line, n in counts.items()
        if n >= REPEATED_LINE_MIN_COUNT and len(line.split()) <= REPEATED_LINE_MAX_WORDS
    }


def _drop_furniture(text: str, stats: CleaningStats) -> str:
    lines = text.split("\n")
    furniture = repeated_lines(lines)
    kept = []
    for line in lines:
        if _PAGE_NUMBER.match(line):
            stats.page_numbers += 1
        elif _DOTTED_LEADER.search(line):
            stats.contents_lines += 1
        elif line.strip() in furniture:
            stats.repeated_lines += 1
        else:
            kept.append(line)
    return "\n".join(kept)


def _join_hyphenated(text: str, stats: CleaningStats) -> str:
    """Rejoin a word split by a line-end hyphen; keep the hyphen where the document itself writes
    the word with one ("decision-making"), drop it otherwise ("infor-mation")."""
    vocabulary = Counter(re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", text.lower()))

    def join(match: re.Match[str]) -> str:
        stats.hyphens_joined += 1
        first, second = match.groups()
        hyphenated = f"{first}-{second}"
        keep_hyphen = vocabulary[hyphenated.lower()] > 0 and vocabulary[(first + second).lower()] == 0
        return hyphenated if keep_hyphen else first + second

    return _HYPHEN_BREAK.sub(join, text)


def _rebuild_paragraphs(text: str, stats: CleaningStats) -> str:
    """Join hard-wrapped lines into paragraphs. A line breaks its paragraph when it is much
    shorter than the document's usual line and ends a sentence or precedes a capital, or when the
    next line starts a list item."""
    lines = [line.strip() for line in text.split("\n")]
    lengths = [len(line) for line in lines if len(line) > 20]
    usual = statistics.quantiles(lengths, n=10)[7] if len(lengths) >= 10 else 80
    paragraphs: list[str] = []
    previous_line = ""  # the last raw line of the current paragraph; "" after a blank line
    for line in lines:
        if not line:
            previous_line = ""
            continue
        short = len(previous_line) < SHORT_LINE_RATIO * usual
        ends_paragraph = short and (bool(_SENTENCE_END.search(previous_line)) or line[:1].isupper())
        if previous_line and not ends_paragraph and not _LIST_ITEM.match(line):
            paragraphs[-1] = f"{paragraphs[-1]} {line}"
            stats.lines_joined += 1
        else:
            paragraphs.append(line)
        previous_line = line
    return "\n\n".join(paragraphs)


def _mend_page_breaks(text: str, stats: CleaningStats) -> str:
    """Remove a paragraph break that falls inside a sentence (a page break mid-sentence): the text
    before it does not end a sentence and the text after it starts in lower case."""
    parts = text.split("\n\n")
    merged = [parts[0]]
    for part in parts[1:]:
        if merged[-1] and part[:1].islower() and not _SENTENCE_END.search(merged[-1]):
            merged[-1] = f"{merged[-1]} {part}"
            stats.page_breaks_mended += 1
        else:
            merged.append(part)
    return "\n\n".join(merged)


def clean_text(text: str) -> tuple[str, CleaningStats]:
    """Normalize unicode and whitespace, drop page numbers, table-of-contents lines and running
    headers/footers, rejoin hyphenated words and hard-wrapped lines, and mend paragraphs split by
    page breaks. Paragraphs come out separated by blank lines."""
    stats = CleaningStats()
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    text = _SPACES.sub(" ", text)
    text = _drop_furniture(text, stats)
    text = _join_hyphenated(text, stats)
    text = _rebuild_paragraphs(text, stats)
    text = _mend_page_breaks(text, stats)
    return _BLANK_RUN.sub("\n\n", text).strip(), stats
