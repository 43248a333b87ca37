"""What a run published for applications, read as an application reads it: one record per label in
the store's `rag-ft-aliases` collection, with plain chromadb. `base` and `finetuned` name each
model's current complete index version, the model to embed questions with and its prompts; `best`
names the retriever the comparison found best. The labels stay; the versions behind them change."""

from __future__ import annotations

from dataclasses import dataclass

from chromadb.api import ClientAPI

from rag_ft_pipeline.retrieval.retrievers import Retriever
from rag_ft_pipeline.retrieval.versions import ALIASES

BEST = "best"


class IndexNotFoundError(LookupError):
    """Nothing has been published under that label yet."""


@dataclass(frozen=True)
class PublishedIndex:
    label: str  # "base" or "finetuned"
    collection: str  # the current complete version: open this collection
    model: str  # the sentence-transformers folder or hub id its chunks were embedded with
    query_prompt: str  # put before each question ("" for none)
    passage_prompt: str  # put before each passage when embedding it ("" for none)

    def details(self) -> dict[str, str]:
        return {"model": self.model, "query_prompt": self.query_prompt, "passage_prompt": self.passage_prompt}


def _record(client: ClientAPI, label: str) -> dict[str, str] | None:
    found = client.get_or_create_collection(ALIASES).get(ids=[label], include=["metadatas"])
    return dict(found["metadatas"][0]) if found["ids"] else None


def published_index(client: ClientAPI, label: Retriever | str) -> PublishedIndex:
    """The model's index as it is published now (raises IndexNotFoundError when it is not yet)."""
    record = _record(client, str(label))
    if record is None or "model" not in record:
        raise IndexNotFoundError(f"no {label} index published yet: run `rag-ft run` first")
    return PublishedIndex(
        str(label), record["collection"], record["model"], record["query_prompt"], record["passage_prompt"]
    )


def publish_best(client: ClientAPI, retriever: Retriever) -> None:
    client.get_or_create_collection(ALIASES).upsert(
        ids=[BEST], embeddings=[[0.0]], metadatas=[{"retriever": retriever.value}]
    )


def best_retriever(client: ClientAPI) -> Retriever | None:
    """The retriever the latest comparison found best, if there was one."""
    record = _record(client, BEST)
    return Retriever(record["retriever"]) if record else None
