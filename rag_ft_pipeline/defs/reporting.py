"""The comparison of base, fine-tuned, BM25 and hybrid retrieval (group `reporting`)."""

import json
from pathlib import Path

import dagster as dg
import pandas as pd

from rag_ft_pipeline.common.files import write_atomic
from rag_ft_pipeline.common.types import Corpus
from rag_ft_pipeline.defs.metadata import image, table
from rag_ft_pipeline.defs.resources import ProjectPathsResource, VectorStoreResource
from rag_ft_pipeline.evaluation.comparison import Comparison, compare
from rag_ft_pipeline.evaluation.golden import GoldenRelevance
from rag_ft_pipeline.evaluation.report import (
    block_tables,
    comparison_chart_png,
    comparison_text,
    long_table,
    model_card,
)
from rag_ft_pipeline.evaluation.scoring import EvaluationResult, fused_result
from rag_ft_pipeline.retrieval.fusion import reciprocal_rank_fusion
from rag_ft_pipeline.retrieval.published import publish_best
from rag_ft_pipeline.retrieval.retrievers import MODELS, Retriever
from rag_ft_pipeline.training.trainer import FineTunedModel

GROUP = "reporting"


@dg.asset(group_name=GROUP, kinds={"pandas", "matplotlib"})
def comparison(
    context: dg.AssetExecutionContext,
    base_metrics: EvaluationResult,
    finetuned_metrics: EvaluationResult,
    bm25_metrics: EvaluationResult,
    finetuned_model: FineTunedModel,
    eval_pairs: pd.DataFrame,
    chunks: Corpus,
    golden_questions: GoldenRelevance | None,
    paths: ProjectPathsResource,
    vector_store: VectorStoreResource,
) -> dg.Output[Comparison]:
    """Base, fine-tuned, BM25 and the hybrids (BM25 and each model fused by reciprocal rank) side by
    side: the golden set first when there is one, then the synthetic eval; each difference from the
    base model with its paired bootstrap 95% interval; the best model (chosen on the golden set when
    there is one) and one verdict line. Written as comparison.json, comparison.csv and a chart."""
    results = {
        Retriever.BASE.value: base_metrics,
        Retriever.FINETUNED.value: finetuned_metrics,
        Retriever.BM25.value: bm25_metrics,
    }
    for model in MODELS:
        hybrid = Retriever.hybrid(model).value
        results[hybrid] = fused_result(
            hybrid, [results[model], bm25_metrics], eval_pairs, golden_questions, chunks.doc_of, reciprocal_rank_fusion
        )
    try:
        report = compare(results)
    except ValueError as error:
        raise dg.Failure(f"{error}: rematerialize the metrics assets together") from error
    report.extra["finetuned_model_path"] = str(finetuned_model.model_path)
    folder = paths.artifact_dir("comparison")
    chart = _write_report(report, folder, finetuned_model)
    context.log.info(report.verdict.text)
    # A saturated lead (no golden set) cannot tell retrievers apart: readers then use the newest model.
    best = None if report.blocks[0].saturated else Retriever(report.best_retriever)
    with vector_store.writing("publishing the best retriever", context.log):
        publish_best(vector_store.client(), best)
    lead = report.blocks[0]
    values, differences = block_tables(lead)
    return dg.Output(
        report,
        metadata={
            "verdict": report.verdict.text,
            "best_retriever": report.best_retriever,
            "best_model": report.best_model,
            "best_by": report.best_by,
            "lead": lead.name,
            "metrics": table(values.round(4), rows=None, index=True),
            "minus_base": table(differences, rows=None, index=True),
            "chart": image(chart, "base vs fine-tuned vs BM25 vs hybrid"),
            "chart_path": dg.MetadataValue.path(str(folder / "comparison.png")),
            "json_path": dg.MetadataValue.path(str(folder / "comparison.json")),
            "report": dg.MetadataValue.md(f"```\n{comparison_text(report)}\n```"),
        },
    )


def _write_report(report: Comparison, folder: Path, finetuned_model: FineTunedModel) -> bytes:
    """comparison.json, .csv and .png; the report also beside the model (so older models keep their
    numbers) and in its card. Returns the chart."""
    document = json.dumps(report.to_json(), indent=2)
    chart = comparison_chart_png(report)
    write_atomic(folder / "comparison.json", document)
    write_atomic(folder / "comparison.csv", long_table(report).to_csv(index=False))
    write_atomic(folder / "comparison.png", chart)
    write_atomic(finetuned_model.model_path.parent / "comparison.json", document)
    card = finetuned_model.model_path / "README.md"
    previous = card.read_text() if card.exists() else ""
    write_atomic(card, model_card(previous, report, str(finetuned_model.model_path), finetuned_model.prompts))
    return chart


@dg.asset_check(
    asset=comparison,
    description="Warns when the fine-tuned model is measurably worse than the base model on hit@1 "
    "(the golden set when there is one).",
)
def finetuned_not_worse_than_base(comparison: Comparison) -> dg.AssetCheckResult:
    verdict = comparison.verdict
    return dg.AssetCheckResult(
        passed=verdict.outcome != "worse",
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "verdict": verdict.text,
            f"{verdict.metric}_difference": verdict.difference,
            "ci95": f"[{verdict.low:+.4f}, {verdict.high:+.4f}]",
        },
    )
