"""Hybrid retrieval: rankings of different retrievers (BM25 and a dense model) fused by reciprocal rank."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

# The constant of Cormack, Clarke and Büttcher (2009): it damps the weight of the very first ranks.
RRF_K = 60


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[str]:
    """Ids ordered by the sum over rankings of 1 / (k + rank); an id missing from a ranking gets
    nothing from it. Ties keep the order in which ids were first seen."""
    scores: dict[str, float] = defaultdict(float)
    for ranking in rankings:
        for rank, id_ in enumerate(ranking, start=1):
            scores[id_] += 1.0 / (k + rank)
    return sorted(scores, key=scores.__getitem__, reverse=True)
