"""A lexical baseline: BM25 (bm25s) over the same chunks, to show how lexical the questions are."""

from __future__ import annotations

from collections.abc import Sequence

import bm25s


def bm25_rankings(ids: Sequence[str], texts: Sequence[str], queries: Sequence[str], k: int) -> list[list[str]]:
    """The ids of the top `k` chunks for each query by BM25, best first (English stop words removed)."""
    if not queries:
        return []
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(list(texts), stopwords="en", show_progress=False), show_progress=False)
    tokens = bm25s.tokenize(list(queries), stopwords="en", show_progress=False)
    results, scores = retriever.retrieve(tokens, k=min(k, len(ids)), show_progress=False)
    # Zero-score results match no query word: they are not retrieved, just listed.
    return [[ids[i] for i, s in zip(row, row_scores) if s > 0] for row, row_scores in zip(results, scores)]
