"""What a run published for applications, read as an application reads it: one record per label in
the store's `rag-ft-aliases` collection, with plain chromadb. `base` and `finetuned` name each
model's current complete index version, the model to embed questions with and its prompts; `best`
names the retriever the comparison found best. The labels stay; the versions behind them change."""

from __future__ import annotations

from dataclasses import dataclass

from chromadb.api import ClientAPI
from chromadb.errors import NotFoundError

from rag_ft_pipeline.retrieval.embedding import Prompts
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


def published_details(model: str, prompts: Prompts) -> dict[str, str]:
    """What a label's record holds beside the collection: the model and its prompts."""
    return {"model": model, "query_prompt": prompts.query or "", "passage_prompt": prompts.passage or ""}


def _record(client: ClientAPI, label: str) -> dict[str, str] | None:
    try:
        found = client.get_collection(ALIASES).get(ids=[label], include=["metadatas"])
    except NotFoundError:  # nothing published in this store yet
        return None
    return dict(found["metadatas"][0]) if found["ids"] else None


def published_index(client: ClientAPI, label: Retriever | str) -> PublishedIndex:
    """The model's index as it is published now (raises IndexNotFoundError when it is not yet)."""
    record = _record(client, str(label))
    if record is None or "model" not in record:
        raise IndexNotFoundError(f"no {label} index published yet: run `rag-ft run` first")
    return PublishedIndex(
        str(label), record["collection"], record["model"], record["query_prompt"], record["passage_prompt"]
    )


def publish_best(client: ClientAPI, retriever: Retriever | None) -> None:
    """Name the retriever to serve; None takes the name back (readers then use the newest model)."""
    aliases = client.get_or_create_collection(ALIASES)
    if retriever is None:
        aliases.delete(ids=[BEST])
    else:
        aliases.upsert(ids=[BEST], embeddings=[[0.0]], metadatas=[{"retriever": retriever.value}])


def best_retriever(client: ClientAPI) -> Retriever | None:
    """The retriever the latest comparison found best, if there was one."""
    record = _record(client, BEST)
    return Retriever(record["retriever"]) if record else None
