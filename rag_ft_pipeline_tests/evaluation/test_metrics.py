import math

import numpy as np
import pytest
from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

from rag_ft_pipeline.evaluation.metrics import means, paired_bootstrap, per_query_metrics, query_metrics


def test_metrics_of_one_query_by_hand():
    scores = query_metrics(["x", "a", "y", "z"], {"a"})
    assert scores["hit@1"] == 0 and scores["hit@3"] == 1 and scores["hit@10"] == 1
    assert scores["recall@10"] == 1 and scores["mrr@10"] == 0.5
    assert scores["ndcg@10"] == pytest.approx(1 / math.log2(3))


def test_hit_and_recall_differ_when_a_question_has_several_relevant_chunks():
    two = query_metrics(["a", "x", "y"], {"a", "b"})
    assert two["hit@1"] == 1.0 and two["recall@10"] == 0.5 and two["mrr@10"] == 1.0
    assert two["ndcg@10"] == pytest.approx(1 / (1 + 1 / math.log2(3)))
    miss = query_metrics(["x", "y"], {"a"})
    assert all(value == 0 for value in miss.values())


def test_averages_over_queries():
    averaged = means(per_query_metrics([["a"], ["x", "b"], ["x"]], [{"a"}, {"b"}, {"c"}]))
    assert averaged["hit@1"] == pytest.approx(1 / 3)
    assert averaged["hit@3"] == pytest.approx(2 / 3)
    assert averaged["mrr@10"] == pytest.approx((1 + 0.5 + 0) / 3)
    with pytest.raises(ValueError):
        per_query_metrics([], [])


def test_map_by_hand():
    scores = query_metrics(["x", "a", "y", "b"], {"a", "b"})
    assert scores["map@100"] == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert query_metrics(["a"], {"a"})["map@100"] == 1.0


def test_metrics_agree_with_sentence_transformers_evaluator():
    """The project keeps its own per-question metrics (the bootstrap needs them); on the same
    rankings they must equal InformationRetrievalEvaluator's."""
    rng = np.random.default_rng(0)
    corpus = {f"c{i}": f"text {i}" for i in range(40)}
    rankings, relevant = [], []
    for _ in range(30):
        rankings.append([f"c{i}" for i in rng.permutation(40)])
        relevant.append({f"c{i}" for i in rng.choice(40, size=rng.integers(1, 4), replace=False)})
    queries = {f"q{i}": f"question {i}" for i in range(len(rankings))}
    evaluator = InformationRetrievalEvaluator(
        queries,
        corpus,
        {f"q{i}": rel for i, rel in enumerate(relevant)},
        accuracy_at_k=[1, 3, 5, 10],
        precision_recall_at_k=[10],
        mrr_at_k=[10],
        ndcg_at_k=[10],
        map_at_k=[100],
    )
    results = [[{"corpus_id": c, "score": 1.0 - r / 100} for r, c in enumerate(ranking)] for ranking in rankings]
    theirs = evaluator.compute_metrics(results)
    ours = means(per_query_metrics(rankings, relevant))
    for k in (1, 3, 5, 10):
        assert ours[f"hit@{k}"] == pytest.approx(theirs["accuracy@k"][k])
    assert ours["recall@10"] == pytest.approx(theirs["recall@k"][10])
    assert ours["mrr@10"] == pytest.approx(theirs["mrr@k"][10])
    assert ours["ndcg@10"] == pytest.approx(theirs["ndcg@k"][10])
    assert ours["map@100"] == pytest.approx(theirs["map@k"][100])


def test_paired_bootstrap_known_answers():
    base = np.zeros(400)
    assert paired_bootstrap(base, base + 0.1) == pytest.approx((0.1, 0.1, 0.1))
    other = np.tile([0.0, 1.0], 200)  # a mean gain of 0.5 with a standard error of 0.025
    difference, low, high = paired_bootstrap(base, other)
    assert difference == 0.5 and 0.44 < low < 0.48 and 0.52 < high < 0.56
    noise = np.random.default_rng(1).normal(size=400)
    _, low, high = paired_bootstrap(noise, noise + np.random.default_rng(2).normal(scale=0.01, size=400))
    assert low < 0 < high  # no real difference: the interval covers zero
