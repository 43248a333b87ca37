import json

import pandas as pd
import pytest

from rag_ft_pipeline.bm25 import bm25_rankings
from rag_ft_pipeline.chunking import Chunk
from rag_ft_pipeline.golden import answer_overlaps, golden_relevance, load_golden_set
from rag_ft_pipeline.ingest import content_hash
from rag_ft_pipeline.model_evaluation import evaluate_retriever
from rag_ft_pipeline.splitting import leakage, split_pairs

TEXTS = {
    "steam.md#0": "Steam sterilizers hold the chamber at 121 degrees Celsius for fifteen minutes so that every spore in a dense load is killed.",
    "steam.md#1": "Biological indicators go in the coldest spots of the load, found by temperature mapping before validation starts.",
    "labels.md#0": "Drug facts labels print directions in a minimum type size of six points so that older consumers can read them.",
}
CHUNKS = [
    Chunk(chunk_id=i, doc_id=i.split("#")[0], chunk_index=int(i[-1]), start=0, end=len(t), token_count=len(t.split()), content_hash=content_hash(t), text=t)
    for i, t in TEXTS.items()
]


def write_jsonl(path, records):
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


def test_golden_set_relevance_by_document_and_answer_overlap(tmp_path):
    golden = load_golden_set(write_jsonl(tmp_path / "golden.jsonl", [
        {"question": "How hot is a steam cycle?", "relevant_doc_ids": ["steam.md"],
         "answer": "The chamber is held at 121 degrees Celsius for fifteen minutes so that every spore in a dense load is killed, "
                   "and indicators confirm it."},
        {"question": "Where do the indicators go?", "relevant_doc_ids": ["steam.md"]},
        {"question": "What type size?", "answer": "a minimum type size of six points"},
        {"question": "Unanswerable?", "answer": "nothing in this corpus says anything like this sentence at all, not even close"},
    ]))
    relevance = golden_relevance(golden, CHUNKS)
    assert relevance.chunks == [{"steam.md#0"}, {"steam.md#0", "steam.md#1"}, {"labels.md#0"}]
    assert relevance.documents == [{"steam.md"}, {"steam.md"}, {"labels.md"}]
    assert relevance.unanswerable == ["Unanswerable?"]


def test_answer_overlap_rule():
    chunk = TEXTS["steam.md#0"]
    assert answer_overlaps(chunk, "hold the chamber at 121 degrees Celsius for fifteen minutes so that every spore")  # 13 words
    assert not answer_overlaps(chunk, "the chamber at 121 degrees Celsius, then cooling for an hour before unloading the sterile load")
    assert answer_overlaps(chunk, "fifteen minutes")  # a short answer: held in full


def test_golden_set_errors_name_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "ok?", "answer": "fine"}\n{"question": "no target"}\n')
    with pytest.raises(ValueError, match="bad.jsonl, line 2"):
        load_golden_set(path)


def test_golden_scores_at_chunk_and_document_level(tmp_path):
    golden = golden_relevance(load_golden_set(write_jsonl(tmp_path / "g.jsonl", [
        {"question": "indicators", "relevant_doc_ids": ["steam.md"], "answer": "Biological indicators go in the coldest spots of the load"},
    ])), CHUNKS)
    rankings = {"indicators": ["steam.md#0", "labels.md#0", "steam.md#1"], "q": ["steam.md#0"]}
    eval_pairs = pd.DataFrame({"query": ["q"], "chunk_id": ["steam.md#0"]})
    result = evaluate_retriever("fixed", lambda queries: [rankings[q] for q in queries], eval_pairs, golden,
                                {c.chunk_id: c.doc_id for c in CHUNKS})
    assert result.metrics["recall@1"] == 1.0
    assert result.golden["chunk"]["mrr@10"] == pytest.approx(1 / 3)  # the right chunk is third
    assert result.golden["document"]["mrr@10"] == 1.0  # but its document comes first


def test_bm25_ranks_by_shared_words():
    ids, texts = list(TEXTS), list(TEXTS.values())
    rankings = bm25_rankings(ids, texts, ["type size for older consumers", "coldest spots mapping"], k=10)
    assert rankings[0][0] == "labels.md#0" and rankings[1][0] == "steam.md#1"
    assert "labels.md#0" not in rankings[1]  # no shared word: not retrieved


def test_leakage_check_fails_on_a_leaking_split():
    pairs = pd.DataFrame([{"chunk_id": f"d{d}.md#{c}", "doc_id": f"d{d}.md", "query": f"q{d}-{c}"} for d in range(10) for c in range(3)])
    by_document = split_pairs(pairs, eval_fraction=0.2, validation_fraction=0.1, seed=3, by="document")
    seen = pd.concat([by_document.train, by_document.validation])
    assert not any(leakage(by_document.eval, seen, by_document=True).values())
    by_pair = split_pairs(pairs, eval_fraction=0.2, seed=3, by="pair")
    leaks = leakage(by_pair.eval, pd.concat([by_pair.train, by_pair.validation]), by_document=True)
    assert leaks["shared_documents"] and not leaks["shared_chunks"]  # a pair split mixes documents
    leaking = pd.concat([by_pair.train, by_pair.eval.iloc[:1]])
    assert leakage(by_pair.eval, leaking, by_document=False)["shared_chunks"] == {by_pair.eval.iloc[0]["chunk_id"]}
