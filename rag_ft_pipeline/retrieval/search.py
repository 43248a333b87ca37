"""Answering a question from what a run published: a model's index (its latest complete version),
BM25 over the same chunks, or the two fused by reciprocal rank, as the comparison scored them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from chromadb.api import ClientAPI

from rag_ft_pipeline.retrieval.bm25 import BM25Index
from rag_ft_pipeline.retrieval.embedding import EmbeddingModel, encode
from rag_ft_pipeline.retrieval.fusion import reciprocal_rank_fusion
from rag_ft_pipeline.retrieval.published import BEST, IndexNotFoundError, best_retriever, published_index
from rag_ft_pipeline.retrieval.retrievers import Retriever
from rag_ft_pipeline.retrieval.vector_store import Hit, search_collection
from rag_ft_pipeline.retrieval.versions import IndexVersions

# How deep each ranking goes before fusion: what the comparison fuses (evaluation.metrics.SEARCH_DEPTH).
FUSION_DEPTH = 100


def search_index(client: ClientAPI, name: str, query_embedding: np.ndarray, k: int) -> list[Hit]:
    """The top `k` chunks for one query embedding in the index's published version. A version
    being built meanwhile is never searched, so the answer comes from a complete index."""
    collection = IndexVersions(client, name).current()
    if collection is None:
        raise IndexNotFoundError(f"no published version of the index {name!r}")
    return search_collection(collection, query_embedding.reshape(1, -1), k)[0]


def resolve(client: ClientAPI, name: str) -> Retriever:
    """A retriever's name, or `best`: the comparison's choice, else the fine-tuned model, else the base."""
    if name != BEST:
        return Retriever(name)
    for label in (Retriever.FINETUNED, Retriever.BASE):
        try:
            published_index(client, label)
        except IndexNotFoundError:
            continue
        return best_retriever(client) or label
    raise IndexNotFoundError("nothing published yet: run `rag-ft run` first")


class PublishedRetriever:
    """A retriever opened from the store as an application opens it: the published record says
    which collection, model and prompts; BM25 indexes the texts stored in that collection."""

    def __init__(
        self, client: ClientAPI, retriever: Retriever, load: Callable[[str], EmbeddingModel], depth: int = FUSION_DEPTH
    ) -> None:
        index = published_index(client, retriever.model or Retriever.BASE)
        self.collection = client.get_collection(index.collection)
        self.depth = min(depth, self.collection.count())
        self.query_prompt = index.query_prompt or None
        self.model = load(index.model) if retriever.model else None
        self.bm25: BM25Index | None = None
        if retriever.uses_bm25:
            stored = self.collection.get(include=["documents", "metadatas"])
            self.stored = {
                id_: Hit(id_, meta["doc_id"], float("nan"), text)
                for id_, text, meta in zip(stored["ids"], stored["documents"], stored["metadatas"])
            }
            self.bm25 = BM25Index(list(self.stored), [hit.text for hit in self.stored.values()], depth)

    def __call__(self, question: str, k: int) -> list[Hit]:
        """The top `k` chunks; a fused ranking keeps each chunk's cosine where the model found it."""
        dense: list[Hit] = []
        if self.model is not None:
            query = encode(self.model, [question], prompt=self.query_prompt)
            dense = search_collection(self.collection, query, self.depth if self.bm25 else k)[0]
        if self.bm25 is None:
            return dense
        by_id = {**self.stored, **{hit.chunk_id: hit for hit in dense}}
        fused = reciprocal_rank_fusion([[hit.chunk_id for hit in dense], self.bm25([question])[0]])
        return [by_id[chunk_id] for chunk_id in fused[:k]]
