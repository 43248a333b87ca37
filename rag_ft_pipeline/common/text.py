"""Text heuristics several stages share: sentences, words, and what makes a sentence worth asking about."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

import nupunkt
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

# Words of letters (with inner apostrophes and hyphens): what a reader would call words.
LETTER_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# Runs of word characters: the units compared when two texts are checked for shared passages.
TOKEN = re.compile(r"\w+")
# What makes a poor query: links, e-mail addresses, phone numbers, dotted leaders and ellipses.
_NOISE = re.compile(
    r"https?://|www\.|\S+@\S+\.\w+|\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}|\.{4,}|…{2,}|(?:\. ){3,}",
    re.IGNORECASE,
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence boundaries as (start, end) offsets, surrounding whitespace excluded.

    Hard line breaks are read as spaces (same length, so offsets hold): in converted documents they
    wrap lines, they do not end sentences.
    """
    spans = []
    for start, end in nupunkt.sent_spans(text.replace("\n", " ")):
        end = start + len(text[start:end].rstrip())
        start = end - len(text[start:end].lstrip())
        if end > start:
            spans.append((start, end))
    return spans


def content_words(text: str) -> list[str]:
    """Words of three letters or more that are not English stop words, in order."""
    return [w for w in LETTER_WORD.findall(text) if len(w) > 2 and w.lower() not in ENGLISH_STOP_WORDS]


def substantive_score(sentence: str) -> int:
    """Distinct content words of a sentence that reads as prose, else 0.

    Rejects what makes a poor query: fragments, run-on lists, contact details, links, dotted
    leaders of tables of contents, and lines that are mostly numbers or symbols.
    """
    words = LETTER_WORD.findall(sentence)
    if not 8 <= len(words) <= 100 or _NOISE.search(sentence):
        return 0
    letters = sum(len(w) for w in words)
    if letters < 0.7 * len(sentence.replace(" ", "")):
        return 0
    content = {w.lower() for w in content_words(sentence)}
    return len(content) if len(content) >= 5 else 0


def lead_span(text: str) -> tuple[int, int] | None:
    """Where the text's first sentence that reads as prose (`substantive_score`) lies, if any."""
    return next(((s, e) for s, e in sentence_spans(text) if substantive_score(text[s:e])), None)


def is_boilerplate(text: str) -> bool:
    """A chunk with no sentence worth asking about: contacts, contents, headers, references."""
    return lead_span(text) is None


def word_tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


class SharedWordRuns:
    """Longest runs of consecutive words that many texts share with one text (case-insensitive).
    difflib indexes the one text once; each other text is then compared against that index."""

    def __init__(self, text: str) -> None:
        self._matcher = SequenceMatcher(None, autojunk=False)
        self._matcher.set_seq2(word_tokens(text))

    def longest(self, tokens: list[str]) -> int:
        """The longest shared run with a text given as its `word_tokens`."""
        self._matcher.set_seq1(tokens)
        return self._matcher.find_longest_match().size


def longest_shared_word_run(a: str, b: str) -> int:
    """The length, in words, of the longest run of consecutive words `a` and `b` share (case-insensitive)."""
    return SharedWordRuns(b).longest(word_tokens(a))
