"""What a run publishes for applications, opened as they open it: labels that follow each update,
and the retrievers (a model's index, BM25, their fusion) searched from those records alone."""

import chromadb
import pytest

from rag_ft_pipeline.retrieval.bm25 import BM25Index
from rag_ft_pipeline.retrieval.embedding import Prompts, encode, load_model, resolve_model_path
from rag_ft_pipeline.retrieval.fusion import reciprocal_rank_fusion
from rag_ft_pipeline.retrieval.published import (
    IndexNotFoundError,
    best_retriever,
    publish_best,
    published_details,
    published_index,
)
from rag_ft_pipeline.retrieval.retrievers import Retriever
from rag_ft_pipeline.retrieval.search import PublishedRetriever, resolve
from rag_ft_pipeline.retrieval.versions import IndexVersions
from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL
from rag_ft_pipeline_tests.helpers import chunks_of

PASSAGES = {
    "ae.md#0": "Report each fatal or life-threatening unexpected adverse reaction to FDA within 7 calendar days.",
    "ae.md#1": "Other serious unexpected suspected adverse reactions are reported within 15 calendar days.",
    "steril.md#0": "Steam sterilization cycles are validated with biological indicators of Geobacillus spores.",
    "steril.md#1": "Ethylene oxide residuals must be measured after aeration of the sterilized devices.",
    "label.md#0": "The Drug Facts label lists active ingredients, purpose, uses, warnings and directions.",
    "label.md#1": "Inactive ingredients are listed in alphabetical order on over-the-counter labels.",
}


@pytest.fixture
def client(tmp_path):
    client = chromadb.PersistentClient(path=str(tmp_path), settings=chromadb.Settings(anonymized_telemetry=False))
    yield client
    client.close()


def publish(client, model, texts=PASSAGES, prompts=("query: ", "passage: ")) -> str:
    details = published_details(resolve_model_path(DEFAULT_BASE_MODEL), Prompts(*prompts))
    name, _ = IndexVersions(client, "base-minilm").update(
        chunks_of(texts), lambda t: encode(model, t, prompt=prompts[1]), label="base", details=details
    )
    return name


def test_the_label_follows_each_update_and_goes_with_the_index(client, base_model):
    with pytest.raises(IndexNotFoundError, match="no base index published yet"):
        published_index(client, Retriever.BASE)
    assert publish(client, base_model) == "base-minilm-v1"
    first = published_index(client, "base")
    assert (first.collection, first.query_prompt, first.passage_prompt) == ("base-minilm-v1", "query: ", "passage: ")
    assert first.model == resolve_model_path(DEFAULT_BASE_MODEL)
    assert publish(client, base_model, {**PASSAGES, "new.md#0": "A new passage."}) == "base-minilm-v2"
    assert published_index(client, Retriever.BASE).collection == "base-minilm-v2"
    assert publish(client, base_model, {**PASSAGES, "new.md#0": "A new passage."}) == "base-minilm-v2"  # no change
    IndexVersions(client, "base-minilm").drop()
    with pytest.raises(IndexNotFoundError):
        published_index(client, Retriever.BASE)


def test_published_retrievers_rank_as_their_parts_and_fuse_them(client, base_model):
    publish(client, base_model)
    question = "How many days does a sponsor have to report a fatal unexpected reaction?"
    loads = []

    def load(path):
        loads.append(path)
        return load_model(path)

    dense = PublishedRetriever(client, Retriever.BASE, load)(question, 3)
    expected = (
        encode(base_model, list(PASSAGES.values()), prompt="passage: ")
        @ encode(base_model, [question], prompt="query: ")[0]
    )
    by_score = [list(PASSAGES)[i] for i in expected.argsort()[::-1]]
    assert [hit.chunk_id for hit in dense] == by_score[:3] and dense[0].chunk_id == "ae.md#0"
    assert loads == [resolve_model_path(DEFAULT_BASE_MODEL)]  # the model the record names

    lexical = BM25Index(list(PASSAGES), list(PASSAGES.values()), 100)([question])[0]
    bm25 = PublishedRetriever(client, Retriever.BM25, load)(question, 6)
    assert [hit.chunk_id for hit in bm25] == lexical[:6] and len(loads) == 1  # no model for BM25 alone

    hybrid = PublishedRetriever(client, Retriever.HYBRID_BASE, load)(question, 4)
    assert [hit.chunk_id for hit in hybrid] == reciprocal_rank_fusion([by_score, lexical])[:4]
    assert hybrid[0].doc_id == "ae.md" and hybrid[0].text == PASSAGES[hybrid[0].chunk_id]


def test_best_is_the_comparisons_choice_else_the_newest_model(client, base_model):
    with pytest.raises(IndexNotFoundError):
        resolve(client, "best")
    publish(client, base_model)
    assert resolve(client, "best") == Retriever.BASE and best_retriever(client) is None
    publish_best(client, Retriever.HYBRID_FINETUNED)
    assert resolve(client, "best") == Retriever.HYBRID_FINETUNED and resolve(client, "bm25") == Retriever.BM25
    publish_best(client, None)  # a comparison that could not tell them apart takes its choice back
    assert resolve(client, "best") == Retriever.BASE
