"""The offline default: queries taken from the chunk itself (the inverse cloze task)."""

from __future__ import annotations

import hashlib
import random

from rag_ft_pipeline.common.text import LETTER_WORD, sentence_spans, substantive_score
from rag_ft_pipeline.questions.generator import Generation, QuestionGenerator, QuestionPair


class InverseClozeGenerator(QuestionGenerator):
    """Inverse cloze task (Lee et al., 2019): a sentence of the chunk becomes the query, the rest of
    the chunk the positive.

    It needs no API and no model, and it teaches what retrieval needs: to match a statement with
    the context it came from. The most substantive sentence is chosen (not a random one, so that
    headings and contact lines never become queries), among those no longer than a question people
    ask (`max_query_words`) when the chunk has one, and, as in the paper, it stays in the
    positive for a fixed share of pairs so the model also keeps lexical matching. A chunk that is
    little more than its one sentence keeps it too: the pair then teaches that matching only.
    """

    name = "inverse_cloze"
    extractive = True

    def __init__(
        self, keep_sentence_fraction: float = 0.1, min_context_words: int = 8, max_query_words: int | None = 25
    ) -> None:
        self.keep_sentence_fraction = keep_sentence_fraction
        self.min_context_words = min_context_words
        self.max_query_words = max_query_words

    def fingerprint(self) -> str:
        return (
            f"{self.name}:v1:keep={self.keep_sentence_fraction}:context={self.min_context_words}"
            f":query_words={self.max_query_words}"
        )

    def generate(self, text: str) -> Generation:
        return Generation(pairs=self._pairs(text))

    def _pairs(self, text: str) -> list[QuestionPair]:
        spans = sentence_spans(text)
        scored = [(substantive_score(text[s:e]), -i, (s, e)) for i, (s, e) in enumerate(spans)]
        if self.max_query_words:
            # People's questions are short: prefer a sentence of their length when the chunk has one.
            short = [item for item in scored if item[0] and len(text[slice(*item[2])].split()) <= self.max_query_words]
            scored = short or scored
        best_score, _, (start, end) = max(scored, default=(0, 0, (0, 0)))
        if best_score == 0:
            return []
        query = " ".join(text[start:end].split())
        context = " ".join(f"{text[:start]} {text[end:]}".split())
        # Seeded by the text, so the same chunk always gives the same pair.
        seed = int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:12], 16)
        too_little_context = len(LETTER_WORD.findall(context)) < self.min_context_words
        if too_little_context or random.Random(seed).random() < self.keep_sentence_fraction:
            context = " ".join(text.split())
        return [QuestionPair(query=query, positive=context)]
