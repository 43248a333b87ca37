"""A lexical baseline: BM25 (bm25s) over the same chunks, to show how lexical the questions are."""

from __future__ import annotations

from collections.abc import Sequence

import bm25s

STOPWORDS = "en"


def words(text: str) -> list[str]:
    """The words BM25 indexes and searches: lowercased, English stop words and one-letter words left out
    (what a framework's BM25 needs as its tokenizer to rank as this one does)."""
    return bm25s.tokenize(text, stopwords=STOPWORDS, return_ids=False, show_progress=False)[0]


class BM25Index:
    """The chunks indexed once (English stop words removed); called with queries, it returns the
    ids of each query's top chunks, best first."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str], k: int) -> None:
        self.ids, self.k = list(ids), k
        self.retriever = bm25s.BM25()
        self.retriever.index(bm25s.tokenize(list(texts), stopwords=STOPWORDS, show_progress=False), show_progress=False)

    def __call__(self, queries: Sequence[str]) -> list[list[str]]:
        if not queries or not self.ids:
            return [[] for _ in queries]
        tokens = bm25s.tokenize(list(queries), stopwords=STOPWORDS, show_progress=False)
        results, scores = self.retriever.retrieve(tokens, k=min(self.k, len(self.ids)), show_progress=False)
        # Zero-score results match no query word: they are not retrieved, just listed.
        return [[self.ids[i] for i, s in zip(row, row_scores) if s > 0] for row, row_scores in zip(results, scores)]
