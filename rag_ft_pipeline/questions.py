"""Stage 3: synthetic (question, passage) pairs from chunks, cached by content and generator."""

from __future__ import annotations

import hashlib
import random
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from rag_ft_pipeline.chunking import sentence_spans


@dataclass(frozen=True)
class QuestionPair:
    query: str
    positive: str  # the text the model learns to match with the query


@dataclass(frozen=True)
class Generation:
    pairs: list[QuestionPair]
    prompt_tokens: int = 0
    completion_tokens: int = 0


class QuestionGenerator(ABC):
    """Turns a chunk into zero or more training pairs; zero for chunks with nothing to ask."""

    name: str
    concurrency: int = 1  # chunks in flight at once
    # Extractive generators take queries from the text itself, so a filter against copied
    # text does not apply to them.
    extractive: bool = False

    @abstractmethod
    def fingerprint(self) -> str:
        """The generator and every setting that changes its output: part of the cache key."""

    @abstractmethod
    def generate(self, text: str) -> Generation: ...

    def estimate_prompt_tokens(self, text: str) -> int:
        return 0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Estimated cost in US dollars."""
        return 0.0


_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_NOISE = re.compile(
    r"https?://|www\.|\S+@\S+\.\w+|\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}|\.{4,}|…{2,}|(?:\. ){3,}",
    re.IGNORECASE,
)


def _content_words(sentence: str) -> list[str]:
    return [w for w in _WORD.findall(sentence) if len(w) > 2 and w.lower() not in ENGLISH_STOP_WORDS]


def substantive_score(sentence: str) -> int:
    """Distinct content words of a sentence that reads as prose, else 0.

    Rejects what makes a poor query: fragments, run-on lists, contact details, links, dotted
    leaders of tables of contents, and lines that are mostly numbers or symbols.
    """
    words = _WORD.findall(sentence)
    if not 8 <= len(words) <= 100 or _NOISE.search(sentence):
        return 0
    letters = sum(len(w) for w in words)
    if letters < 0.7 * len(sentence.replace(" ", "")):
        return 0
    content = {w.lower() for w in _content_words(sentence)}
    return len(content) if len(content) >= 5 else 0


def is_boilerplate(text: str) -> bool:
    """A chunk with no sentence worth asking about: contacts, contents, headers, references."""
    return not any(substantive_score(text[s:e]) for s, e in sentence_spans(text))


class InverseClozeGenerator(QuestionGenerator):
    """Inverse cloze task (Lee et al., 2019): a sentence of the chunk becomes the query, the rest of
    the chunk the positive.

    It needs no API and no model, and it teaches what retrieval needs: to match a statement with
    the context it came from. The most substantive sentence is chosen (not a random one, so that
    headings and contact lines never become queries), and, as in the paper, it stays in the
    positive for a fixed share of pairs so the model also keeps lexical matching. A chunk that is
    little more than its one sentence keeps it too: the pair then teaches that matching only.
    """

    name = "inverse_cloze"
    extractive = True

    def __init__(self, keep_sentence_fraction: float = 0.1, min_context_words: int = 8) -> None:
        self.keep_sentence_fraction = keep_sentence_fraction
        self.min_context_words = min_context_words

    def fingerprint(self) -> str:
        return f"{self.name}:v1:keep={self.keep_sentence_fraction}:context={self.min_context_words}"

    def generate(self, text: str) -> Generation:
        return Generation(pairs=self._pairs(text))

    def _pairs(self, text: str) -> list[QuestionPair]:
        spans = sentence_spans(text)
        scored = [(substantive_score(text[s:e]), -i, (s, e)) for i, (s, e) in enumerate(spans)]
        best_score, _, (start, end) = max(scored, default=(0, 0, (0, 0)))
        if best_score == 0:
            return []
        query = " ".join(text[start:end].split())
        context = " ".join(f"{text[:start]} {text[end:]}".split())
        # Seeded by the text, so the same chunk always gives the same pair.
        seed = int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:12], 16)
        too_little_context = len(_WORD.findall(context)) < self.min_context_words
        if too_little_context or random.Random(seed).random() < self.keep_sentence_fraction:
            context = " ".join(text.split())
        return [QuestionPair(query=query, positive=context)]
