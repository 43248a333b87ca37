"""The comparison names the best retriever among every row, fusions included, and says what to serve."""

import pandas as pd

from rag_ft_pipeline.evaluation.comparison import compare
from rag_ft_pipeline.evaluation.report import comparison_text
from rag_ft_pipeline.evaluation.scoring import fused_result, score_rankings
from rag_ft_pipeline.retrieval.fusion import reciprocal_rank_fusion
from rag_ft_pipeline.retrieval.retrievers import MODELS, Retriever

CHUNKS = [f"d{i}.md#0" for i in range(8)]
EVAL = pd.DataFrame({"query": [f"q{i}" for i in range(8)], "chunk_id": CHUNKS})
DOC_OF = {c: c.split("#")[0] for c in CHUNKS}


def ranked(position: dict[int, int], reverse: bool) -> list[list[str]]:
    """Rankings of every chunk in which question i's chunk sits at `position.get(i, 3)` (1-based),
    the other chunks in name order or its reverse (two retrievers rarely agree on the misses)."""
    rankings = []
    for i, right in enumerate(CHUNKS):
        others = sorted((c for c in CHUNKS if c != right), reverse=reverse)
        at = position.get(i, 3) - 1
        rankings.append([*others[:at], right, *others[at:]])
    return rankings


def results(**positions: dict[int, int]) -> dict[Retriever, object]:
    scored = {
        Retriever(name): score_rankings(name, EVAL, ranked(p, name == "bm25"), None, [], DOC_OF)
        for name, p in positions.items()
    }
    for model in MODELS:
        parts = [scored[model], scored[Retriever.BM25]]
        scored[Retriever.hybrid(model)] = fused_result(
            Retriever.hybrid(model), parts, EVAL, None, DOC_OF, reciprocal_rank_fusion
        )
    return scored


def test_the_best_retriever_may_be_a_fusion_and_the_verdict_says_to_serve_it():
    # BM25 finds half the chunks first, the fine-tuned model the other half: fused, both halves come
    # up first or second, which beats either alone on NDCG@10.
    report = compare(
        results(
            base={i: 6 for i in range(8)},
            finetuned={i: 1 for i in range(4)} | {i: 4 for i in range(4, 8)},
            bm25={i: 1 for i in range(4, 8)} | {i: 4 for i in range(4)},
        )
    )
    ndcg = report.blocks[0].metrics.loc["ndcg@10"]
    assert report.best_retriever == Retriever.HYBRID_FINETUNED == ndcg.idxmax()
    assert report.best_model == Retriever.FINETUNED  # what only a model can be (the ONNX export)
    assert report.verdict.serve == "hybrid_finetuned" and report.verdict.text.endswith("; serve hybrid_finetuned")
    assert report.to_json()["best_retriever"] == "hybrid_finetuned"
    text = comparison_text(report)
    assert "best retriever by ndcg@10 on synthetic: hybrid_finetuned" in text and "best single model: finetuned" in text


def test_a_tie_goes_to_the_simplest_retriever_and_no_golden_set_is_not_trusted():
    first = {i: 1 for i in range(8)}
    report = compare(results(base=first, finetuned=first, bm25=first))
    assert report.best_retriever == Retriever.BASE and report.best_model == Retriever.BASE
    text = comparison_text(report)
    assert "trust the golden set" not in text and "add a golden set of your own questions" in text
