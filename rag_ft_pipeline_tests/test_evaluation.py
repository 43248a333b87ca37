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
