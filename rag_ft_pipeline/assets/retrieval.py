"""Indexes and metrics for the base and the fine-tuned model, and their comparison."""


import json
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from sentence_transformers import SentenceTransformer

from rag_ft_pipeline.assets.documents import chunks, current_document_ids, load_chunks, markdown_table
from rag_ft_pipeline.bm25 import bm25_rankings
from rag_ft_pipeline.chunking import Chunk
from rag_ft_pipeline.embedding import encode, load_model
from rag_ft_pipeline.evaluation import SEARCH_DEPTH, paired_bootstrap
from rag_ft_pipeline.golden import GoldenRelevance, golden_relevance, load_golden_set
from rag_ft_pipeline.indexing import collection_name, sync_index
from rag_ft_pipeline.model_evaluation import DenseRanker, EvaluationResult, best_retriever, evaluate_retriever
from rag_ft_pipeline.paths import ProjectPathsResource
from rag_ft_pipeline.progress import progress_logger
from rag_ft_pipeline.reporting import comparison_chart_png, comparison_table, png_markdown
from rag_ft_pipeline.resources import EmbeddingModelResource, VectorStoreResource


def build_index(
    context: dg.AssetExecutionContext, model: SentenceTransformer, model_id: str, prefix: str,
    paths: ProjectPathsResource, vector_store: VectorStoreResource, batch_size: int,
) -> dg.Output[dict[str, Any]]:
    """Bring the model's Chroma collection in step with the current chunks."""
    all_chunks = load_chunks(paths, current_document_ids(context.instance))
    name = collection_name(prefix, model_id)
    collection = vector_store.collection(name)
    update = sync_index(
        collection, all_chunks,
        encoder=lambda texts: encode(model, texts, batch_size=batch_size),
        progress=progress_logger(context.log, f"embedding chunks into {name}"),
    )
    return dg.Output(
        {"collection": name, "model": model_id},
        metadata={
            "dagster/row_count": collection.count(),
            "collection": name,
            "model": model_id,
            "embedded": update.embedded,
            "added": update.added,
            "updated": update.updated,
            "removed": update.removed,
            "unchanged": update.unchanged,
        },
    )


def require_eval_questions(eval_pairs: pd.DataFrame) -> None:
    if eval_pairs.empty:
        raise dg.Failure("no eval questions: add documents or raise eval_fraction")


def golden_set(paths: ProjectPathsResource, all_chunks: list[Chunk]) -> GoldenRelevance | None:
    if not paths.golden_set:
        return None
    return golden_relevance(load_golden_set(Path(paths.golden_set)), all_chunks)


def evaluation_output(context: dg.AssetExecutionContext, result: EvaluationResult, golden: GoldenRelevance | None, **extra) -> dg.Output[EvaluationResult]:
    context.log.info(f"{result.retriever}: " + ", ".join(f"{k}={v:.3f}" for k, v in result.metrics.items()))
    table = result.table()
    misses = result.per_query[result.per_query["rank"].isna()][["query", "chunk_id", "top_hit"]]
    return dg.Output(
        result,
        metadata={
            **{name: dg.MetadataValue.float(value) for name, value in result.metrics.items()},
            "questions": len(result.per_query),
            "golden_questions": len(golden.questions) if golden else 0,
            "golden_unanswerable": dg.MetadataValue.json(golden.unanswerable[:20] if golden else []),
            "metrics": dg.MetadataValue.md(table.round(4).to_markdown()),
            "misses": markdown_table(misses, rows=5),
            **extra,
        },
    )


def measure_dense(
    context: dg.AssetExecutionContext, name: str, model: SentenceTransformer, query_prompt: str | None,
    index: dict[str, Any], eval_pairs: pd.DataFrame, paths: ProjectPathsResource,
    vector_store: VectorStoreResource, batch_size: int, matryoshka_dims: list[int] | None = None,
) -> dg.Output[EvaluationResult]:
    """Search every eval (and golden) question in the model's index and score the rankings."""
    require_eval_questions(eval_pairs)
    all_chunks = load_chunks(paths, current_document_ids(context.instance))
    golden = golden_set(paths, all_chunks)
    ranker = DenseRanker(vector_store.collection(index["collection"]), lambda q: encode(model, q, batch_size=batch_size, prompt=query_prompt))
    result = evaluate_retriever(name, ranker, eval_pairs, golden, {c.chunk_id: c.doc_id for c in all_chunks})
    extra = {"ann_agreement@10": dg.MetadataValue.float(ranker.agreement), "query_prompt": query_prompt or ""}
    if matryoshka_dims:
        by_dim = ranker.truncated_metrics(eval_pairs, matryoshka_dims)
        extra["matryoshka"] = dg.MetadataValue.md(pd.DataFrame(by_dim).T.round(4).to_markdown())
    return evaluation_output(context, result, golden, **extra)


@dg.asset(group_name="base_model", kinds={"chromadb", "sentencetransformers"}, deps=[chunks], automation_condition=dg.AutomationCondition.eager())
def base_index(
    context: dg.AssetExecutionContext, paths: ProjectPathsResource,
    embedding_model: EmbeddingModelResource, vector_store: VectorStoreResource,
) -> dg.Output[dict[str, Any]]:
    """Every chunk embedded with the base model in a persistent Chroma collection (cosine space,
    chunk metadata attached). Updated in place: only new or changed chunks are embedded."""
    return build_index(context, embedding_model.load(), embedding_model.model_name_or_path, "base",
                       paths, vector_store, embedding_model.batch_size)


@dg.asset(group_name="base_model", kinds={"chromadb"})
def base_metrics(
    context: dg.AssetExecutionContext, base_index: dict[str, Any], eval_pairs: pd.DataFrame,
    paths: ProjectPathsResource, embedding_model: EmbeddingModelResource, vector_store: VectorStoreResource,
) -> dg.Output[EvaluationResult]:
    """Recall@k and MRR@k (k = 1, 3, 5, 10), NDCG@10 and MAP@100 of the base model on the eval
    questions (and the golden set, when given), with an exact-search cross-check of the index."""
    return measure_dense(context, "base", embedding_model.load(), embedding_model.effective_query_prompt,
                         base_index, eval_pairs, paths, vector_store, embedding_model.batch_size)


@dg.asset(group_name="finetuned_model", kinds={"chromadb", "sentencetransformers"}, deps=[chunks])
def finetuned_index(
    context: dg.AssetExecutionContext, finetuned_model: dict[str, Any], paths: ProjectPathsResource,
    embedding_model: EmbeddingModelResource, vector_store: VectorStoreResource,
) -> dg.Output[dict[str, Any]]:
    """Every chunk embedded with the fine-tuned model, in a collection of its own."""
    return build_index(context, load_model(finetuned_model["model_path"], embedding_model.device),
                       finetuned_model["model_path"], "finetuned", paths, vector_store, embedding_model.batch_size)


@dg.asset(group_name="finetuned_model", kinds={"chromadb"})
def finetuned_metrics(
    context: dg.AssetExecutionContext, finetuned_model: dict[str, Any], finetuned_index: dict[str, Any],
    eval_pairs: pd.DataFrame, paths: ProjectPathsResource, embedding_model: EmbeddingModelResource,
    vector_store: VectorStoreResource,
) -> dg.Output[EvaluationResult]:
    """The same metrics as base_metrics, for the fine-tuned model, on the same questions and chunks
    (and per embedding size, when it was trained with Matryoshka dimensions)."""
    model = load_model(finetuned_model["model_path"], embedding_model.device)
    return measure_dense(context, "finetuned", model, embedding_model.effective_query_prompt, finetuned_index,
                         eval_pairs, paths, vector_store, embedding_model.batch_size, finetuned_model.get("matryoshka_dims"))


@dg.asset(group_name="baselines", kinds={"python"}, deps=[chunks])
def bm25_metrics(context: dg.AssetExecutionContext, eval_pairs: pd.DataFrame, paths: ProjectPathsResource) -> dg.Output[EvaluationResult]:
    """BM25 (a lexical search, bm25s) over the same chunks and questions: how far plain word overlap
    gets, and so how lexical the eval set is."""
    require_eval_questions(eval_pairs)
    all_chunks = load_chunks(paths, current_document_ids(context.instance))
    golden = golden_set(paths, all_chunks)
    ids, texts = [c.chunk_id for c in all_chunks], [c.text for c in all_chunks]
    result = evaluate_retriever(
        "bm25", lambda queries: bm25_rankings(ids, texts, queries, SEARCH_DEPTH), eval_pairs, golden,
        {c.chunk_id: c.doc_id for c in all_chunks},
    )
    return evaluation_output(context, result, golden)


@dg.asset(group_name="reporting", kinds={"pandas", "matplotlib"})
def comparison(
    context: dg.AssetExecutionContext, base_metrics: EvaluationResult, finetuned_metrics: EvaluationResult,
    bm25_metrics: EvaluationResult, finetuned_model: dict[str, Any], paths: ProjectPathsResource,
) -> dg.Output[pd.DataFrame]:
    """Base, fine-tuned and BM25 side by side, with a paired bootstrap 95% interval for each
    fine-tuned minus base difference: a table, comparison.json / .csv and a bar chart."""
    results = {"base": base_metrics, "finetuned": finetuned_metrics, "bm25": bm25_metrics}
    if not all(r.per_query["query"].tolist() == base_metrics.per_query["query"].tolist() for r in results.values()):
        raise dg.Failure("the models were scored on different eval questions: rematerialize their metrics together")
    by_model = {name: r.metrics for name, r in results.items()}
    intervals = {
        metric: paired_bootstrap(base_metrics.per_query[metric].to_numpy(), finetuned_metrics.per_query[metric].to_numpy())
        for metric in base_metrics.metrics
    }
    best = best_retriever(results)
    report = {
        **{name: r.report() for name, r in results.items()},
        "finetuned_minus_base": {m: dict(zip(("difference", "ci95_low", "ci95_high"), v)) for m, v in intervals.items()},
        "best_model": best,
        "finetuned_model_path": finetuned_model["model_path"],
        "questions": len(base_metrics.per_query),
    }
    table = comparison_table(by_model, intervals)
    folder = paths.artifact_dir("comparison")
    (folder / "comparison.json").write_text(json.dumps(report, indent=2))
    table.to_csv(folder / "comparison.csv")
    chart = comparison_chart_png(by_model, intervals)
    chart_path = folder / "comparison.png"
    chart_path.write_bytes(chart)
    # Each run's report is also kept beside its model, so older models keep their numbers.
    (Path(finetuned_model["model_path"]).parent / "comparison.json").write_text(json.dumps(report, indent=2))
    context.log.info(f"best by NDCG@10: {best}; chart: {chart_path}")
    return dg.Output(
        table,
        metadata={
            "best_model": best,
            "table": dg.MetadataValue.md(table.round(4).to_markdown()),
            "chart": dg.MetadataValue.md(png_markdown(chart, "base vs fine-tuned vs BM25")),
            "chart_path": dg.MetadataValue.path(str(chart_path)),
            "json_path": dg.MetadataValue.path(str(folder / "comparison.json")),
            **({"golden": dg.MetadataValue.json({n: r.golden for n, r in results.items()})} if base_metrics.golden else {}),
        },
    )


@dg.asset_check(asset=comparison, description="Warns when the fine-tuned model scores below the base model on NDCG@10.")
def finetuned_not_worse_than_base(comparison: pd.DataFrame) -> dg.AssetCheckResult:
    difference = float(comparison.loc["ndcg@10", "difference"])
    return dg.AssetCheckResult(
        passed=difference >= 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"ndcg@10_difference": difference, "ci95": f"[{comparison.loc['ndcg@10', 'ci95_low']:.4f}, {comparison.loc['ndcg@10', 'ci95_high']:.4f}]"},
    )
