"""The offline default: queries taken from the chunk itself (the inverse cloze task)."""

from __future__ import annotations

import hashlib
import random

from rag_ft_pipeline.common.text import LETTER_WORD, lead_span
from rag_ft_pipeline.questions.generator import Generation, QuestionGenerator, QuestionPair


class InverseClozeGenerator(QuestionGenerator):
    """Inverse cloze task (Lee et al., 2019): a sentence of the chunk becomes the query, the rest of
    the chunk the positive.

    It needs no API and no model, and it teaches what retrieval needs: to match a statement with
    the context it came from. The query is the chunk's lead: its first sentence that reads as prose
    (so headings and contact lines never become queries). A lead says what its passage is about,
    which is what people ask; a random or the most substantive sentence is more often a detail.
    As in the paper, the sentence stays in the positive for a fixed share of pairs so the model
    also keeps lexical matching. A chunk that is little more than its one sentence keeps it too:
    the pair then teaches that matching only.
    """

    name = "inverse_cloze"
    extractive = True

    def __init__(self, keep_sentence_fraction: float = 0.1, min_context_words: int = 8) -> None:
        self.keep_sentence_fraction = keep_sentence_fraction
        self.min_context_words = min_context_words

    def fingerprint(self) -> str:
        return f"{self.name}:lead:keep={self.keep_sentence_fraction}:context={self.min_context_words}"

    def generate(self, text: str) -> Generation:
        return Generation(pairs=self._pairs(text))

    def _pairs(self, text: str) -> list[QuestionPair]:
        lead = lead_span(text)
        if lead is None:
            return []
        start, end = lead
        query = " ".join(text[start:end].split())
        context = " ".join(f"{text[:start]} {text[end:]}".split())
        # Seeded by the text, so the same chunk always gives the same pair.
        seed = int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:12], 16)
        too_little_context = len(LETTER_WORD.findall(context)) < self.min_context_words
        if too_little_context or random.Random(seed).random() < self.keep_sentence_fraction:
            context = " ".join(text.split())
        return [QuestionPair(query=query, positive=context)]
