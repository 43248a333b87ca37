from rag_ft_pipeline.retrieval.bm25 import BM25Index
from rag_ft_pipeline_tests.helpers import PASSAGES


def test_bm25_ranks_by_shared_words_and_lists_no_chunk_without_one():
    index = BM25Index(list(PASSAGES), list(PASSAGES.values()), k=10)
    rankings = index(["type size for older consumers", "coldest spots mapping"])
    assert rankings[0][0] == "labels.md#0" and rankings[1][0] == "steam.md#1"
    assert "labels.md#0" not in rankings[1]  # no shared word: not retrieved
    assert index([]) == []
