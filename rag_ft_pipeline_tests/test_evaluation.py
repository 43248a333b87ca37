import math

import pytest

from rag_ft_pipeline.evaluation import query_metrics, retrieval_metrics


def test_metrics_of_one_query_by_hand():
    scores = query_metrics(["x", "a", "y", "z"], {"a"})
    assert scores["recall@1"] == 0 and scores["recall@3"] == 1 and scores["recall@10"] == 1
    assert scores["mrr@1"] == 0 and scores["mrr@3"] == 0.5 and scores["mrr@10"] == 0.5
    assert scores["ndcg@10"] == pytest.approx(1 / math.log2(3))


def test_metrics_with_two_relevant_items_and_a_miss():
    two = query_metrics(["a", "x", "b"], {"a", "b"})
    assert two["recall@1"] == 0.5 and two["recall@3"] == 1.0 and two["mrr@1"] == 1.0
    assert two["ndcg@10"] == pytest.approx((1 + 1 / 2) / (1 + 1 / math.log2(3)))
    miss = query_metrics(["x", "y"], {"a"})
    assert all(value == 0 for value in miss.values())


def test_averages_over_queries():
    averaged = retrieval_metrics([["a"], ["x", "b"], ["x"]], [{"a"}, {"b"}, {"c"}])
    assert averaged["recall@1"] == pytest.approx(1 / 3)
    assert averaged["recall@3"] == pytest.approx(2 / 3)
    assert averaged["mrr@10"] == pytest.approx((1 + 0.5 + 0) / 3)
    with pytest.raises(ValueError):
        retrieval_metrics([], [])


def test_map_by_hand():
    scores = query_metrics(["x", "a", "y", "b"], {"a", "b"})
    assert scores["map@100"] == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert query_metrics(["a"], {"a"})["map@100"] == 1.0


def test_exact_search_and_agreement():
    import numpy as np

    from rag_ft_pipeline.evaluation import exact_rankings, top_k_agreement

    corpus = np.eye(4, dtype=np.float32)
    queries = np.array([[0.9, 0.1, 0, 0], [0, 0, 0.2, 0.8]], dtype=np.float32)
    assert exact_rankings(queries, corpus, ["a", "b", "c", "d"], 2) == [["a", "b"], ["d", "c"]]
    assert top_k_agreement([["a", "b"], ["d", "x"]], [["a", "b"], ["d", "c"]], k=2) == 0.75


def test_paired_bootstrap_known_answers():
    import numpy as np

    from rag_ft_pipeline.evaluation import paired_bootstrap

    base = np.zeros(400)
    assert paired_bootstrap(base, base + 0.1) == pytest.approx((0.1, 0.1, 0.1))
    other = np.tile([0.0, 1.0], 200)  # a mean gain of 0.5 with a standard error of 0.025
    difference, low, high = paired_bootstrap(base, other)
    assert difference == 0.5 and 0.44 < low < 0.48 and 0.52 < high < 0.56
    noise = np.random.default_rng(1).normal(size=400)
    _, low, high = paired_bootstrap(noise, noise + np.random.default_rng(2).normal(scale=0.01, size=400))
    assert low < 0 < high  # no real difference: the interval covers zero
