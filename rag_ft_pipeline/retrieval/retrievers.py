"""The retrievers the pipeline builds, compares and serves, by name: each model's index, BM25, and
each model fused with BM25 by reciprocal rank. The one enumeration of their names."""

from __future__ import annotations

from enum import Enum


class Retriever(str, Enum):
    BASE = "base"
    FINETUNED = "finetuned"
    BM25 = "bm25"
    HYBRID_BASE = "hybrid_base"
    HYBRID_FINETUNED = "hybrid_finetuned"

    # Printed, formatted and written to JSON as the plain name.
    __str__ = str.__str__
    __format__ = str.__format__

    @property
    def model(self) -> Retriever | None:
        """The model whose index it searches (None: BM25 alone)."""
        return {
            Retriever.BASE: Retriever.BASE,
            Retriever.FINETUNED: Retriever.FINETUNED,
            Retriever.HYBRID_BASE: Retriever.BASE,
            Retriever.HYBRID_FINETUNED: Retriever.FINETUNED,
        }.get(self)

    @property
    def uses_bm25(self) -> bool:
        return self not in MODELS

    def index_name(self, model_id: str) -> str:
        """The name under which a model's index is published: one per retriever and model."""
        from rag_ft_pipeline.retrieval.vector_store import collection_name  # Chroma is loaded only when asked

        return collection_name(self.value, model_id)

    @classmethod
    def hybrid(cls, model: Retriever) -> Retriever:
        return cls(f"hybrid_{model.value}")


# What can be exported or loaded as an embedding model: a model, not a fusion.
MODELS = (Retriever.BASE, Retriever.FINETUNED)
