"""Answering a question from an index: the latest complete version's top chunks, optionally fused
with BM25's ranking."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from chromadb.api import ClientAPI

from rag_ft_pipeline.common.types import Chunk
from rag_ft_pipeline.retrieval.fusion import reciprocal_rank_fusion
from rag_ft_pipeline.retrieval.vector_store import Hit, search_collection
from rag_ft_pipeline.retrieval.versions import IndexVersions


class IndexNotFoundError(LookupError):
    """No version of the index has been published yet."""


def search_index(client: ClientAPI, name: str, query_embedding: np.ndarray, k: int) -> list[Hit]:
    """The top `k` chunks for one query embedding in the index's published version. A version
    being built meanwhile is never searched, so the answer comes from a complete index."""
    collection = IndexVersions(client, name).current()
    if collection is None:
        raise IndexNotFoundError(f"no published version of the index {name!r}")
    return search_collection(collection, query_embedding.reshape(1, -1), k)[0]


def fuse_with(hits: list[Hit], lexical: list[str], chunks: Mapping[str, Chunk], k: int) -> list[Hit]:
    """The dense hits and a lexical ranking fused by reciprocal rank: the top `k`, each with its
    cosine score where the dense search found it (NaN where only BM25 did)."""
    scores = {hit.chunk_id: hit.score for hit in hits}
    fused = reciprocal_rank_fusion([[hit.chunk_id for hit in hits], lexical])
    return [
        Hit(chunk_id, chunks[chunk_id].doc_id, scores.get(chunk_id, float("nan")), chunks[chunk_id].text)
        for chunk_id in fused
        if chunk_id in chunks
    ][:k]
