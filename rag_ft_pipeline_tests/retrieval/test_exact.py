import numpy as np

from rag_ft_pipeline.retrieval.exact import exact_rankings, top_k_agreement


def test_exact_search_and_agreement():
    corpus = np.eye(4, dtype=np.float32)
    queries = np.array([[0.9, 0.1, 0, 0], [0, 0, 0.2, 0.8]], dtype=np.float32)
    assert exact_rankings(queries, corpus, ["a", "b", "c", "d"], 2) == [["a", "b"], ["d", "c"]]
    assert exact_rankings(queries[:0], corpus, ["a", "b", "c", "d"], 2) == []
    assert top_k_agreement([["a", "b"], ["d", "x"]], [["a", "b"], ["d", "c"]], k=2) == [1.0, 0.5]
