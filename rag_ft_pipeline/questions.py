"""Stage 3: synthetic (question, passage) pairs from chunks, cached by content and generator."""

from __future__ import annotations

import hashlib
import random
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from rag_ft_pipeline.chunking import Chunk, sentence_spans
from rag_ft_pipeline.question_cache import QuestionCache

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class QuestionPair:
    query: str
    positive: str  # the text the model learns to match with the query


class QuestionGenerator(ABC):
    """Turns a chunk into zero or more training pairs; zero for chunks with nothing to ask."""

    name: str

    @abstractmethod
    def fingerprint(self) -> str:
        """The generator and every setting that changes its output: part of the cache key."""

    @abstractmethod
    def generate(self, text: str) -> list[QuestionPair]: ...


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

    def __init__(self, keep_sentence_fraction: float = 0.1, min_context_words: int = 8) -> None:
        self.keep_sentence_fraction = keep_sentence_fraction
        self.min_context_words = min_context_words

    def fingerprint(self) -> str:
        return f"{self.name}:v1:keep={self.keep_sentence_fraction}:context={self.min_context_words}"

    def generate(self, text: str) -> list[QuestionPair]:
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


@dataclass
class GenerationStats:
    chunks: int = 0
    cache_hits: int = 0
    generated: int = 0
    failed: int = 0
    chunks_with_pairs: int = 0


def generate_pairs(
    chunks: Sequence[Chunk],
    generator: QuestionGenerator,
    cache: QuestionCache,
    progress: Progress | None = None,
    on_error: Callable[[Chunk, Exception], None] | None = None,
) -> tuple[list[dict], GenerationStats]:
    """Pairs for every chunk: cached answers are reused, the rest generated and cached at once, so
    an interrupted run loses nothing it already paid for. A chunk whose generation fails is
    reported through `on_error` and skipped (not cached, so the next run retries it)."""
    stats = GenerationStats(chunks=len(chunks))
    fingerprint = generator.fingerprint()
    cached = cache.get_many([c.content_hash for c in chunks], fingerprint)
    rows: list[dict] = []
    for done, chunk in enumerate(chunks, start=1):
        pairs = cached.get(chunk.content_hash)
        if pairs is None:
            try:
                pairs = [asdict(pair) for pair in generator.generate(chunk.text)]
            except Exception as error:  # one bad chunk must not stop the others
                stats.failed += 1
                if on_error is not None:
                    on_error(chunk, error)
                continue
            cache.put(chunk.content_hash, fingerprint, pairs)
            stats.generated += 1
        else:
            stats.cache_hits += 1
        stats.chunks_with_pairs += bool(pairs)
        rows.extend(
            {
                "chunk_id": chunk.chunk_id,
                "doc_id": chunk.doc_id,
                "content_hash": chunk.content_hash,
                "query": pair["query"],
                "positive": pair["positive"],
                "generator": generator.name,
            }
            for pair in pairs
        )
        if progress is not None:
            progress(done, len(chunks))
    return rows, stats
