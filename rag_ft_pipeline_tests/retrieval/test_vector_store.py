import re
from dataclasses import replace

import chromadb
import numpy as np
import pandas as pd

from rag_ft_pipeline.evaluation.scoring import DenseRanker, evaluate_retriever
from rag_ft_pipeline.ingestion.chunking import chunk_document
from rag_ft_pipeline.retrieval.embedding import encode
from rag_ft_pipeline.retrieval.vector_store import collection_name, search_collection, sync_index

TOPICS = [
    "Steam sterilization cycles are validated with biological indicators placed in the hardest-to-reach spots of the load.",
    "Adverse events that are serious and unexpected are reported to the agency within fifteen calendar days.",
    "Stability studies store the product at twenty-five degrees and sixty percent humidity for a year.",
    "Drug facts labels use a minimum type size so that older consumers can read the directions.",
]


def test_collection_names_are_valid_for_chroma():
    for model_id in ["BAAI/bge-base-en-v1.5", "/tmp/run 1/model/", "é/ü", "x"]:
        name = collection_name("base", model_id)
        assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]", name)
    assert collection_name("base", "a/model") != collection_name("base", "b/model")


def test_index_is_updated_in_place_and_searchable(tmp_path, count_tokens, base_model):
    model = base_model
    embedded: list[str] = []

    def encoder(texts):
        embedded.extend(texts)
        return encode(model, texts)

    collection = chromadb.PersistentClient(path=str(tmp_path)).get_or_create_collection(
        "test-index", metadata={"hnsw:space": "cosine"}
    )
    chunks = chunk_document("doc.md", "\n\n".join(TOPICS), 30, count_tokens)
    assert len(chunks) == 4
    first = sync_index(collection, chunks, encoder, batch_size=3)
    assert (first.added, first.updated, first.removed, first.unchanged) == (4, 0, 0, 0)
    assert collection.get(ids=["doc.md#1"], include=["metadatas"])["metadatas"][0]["doc_id"] == "doc.md"

    embedded.clear()
    changed = replace(chunks[2], text=chunks[2].text + " Intermediate conditions apply too.", content_hash="new")
    second = sync_index(collection, [chunks[0], chunks[1], changed], encoder)
    assert (second.added, second.updated, second.removed, second.unchanged) == (0, 1, 1, 2)
    assert embedded == [changed.text] and collection.count() == 3

    questions = pd.DataFrame(
        {
            "query": [
                "How fast must unexpected serious reactions be reported?",
                "Where do the indicators go in a sterilizer load?",
            ],
            "chunk_id": ["doc.md#1", "doc.md#0"],
        }
    )
    ranker = DenseRanker(collection, lambda texts: encode(model, texts))
    result = evaluate_retriever("base", ranker, questions, None, {c.chunk_id: c.doc_id for c in chunks})
    assert result.metrics["hit@1"] == 1.0 and list(result.per_query["rank"]) == [1, 1]
    assert ranker.agreement == 1.0  # three vectors: the index is exact
    assert np.allclose(np.linalg.norm(encode(model, ["x"]), axis=1), 1.0)
    [hits] = search_collection(collection, encode(model, ["Where do the indicators go?"]), k=2)
    assert (hits[0].chunk_id, hits[0].doc_id) == ("doc.md#0", "doc.md") and 0 < hits[0].score <= 1
