"""Indexes and metrics for the base and the fine-tuned model, and their comparison."""


import json
from typing import Any

import dagster as dg
import pandas as pd
from sentence_transformers import SentenceTransformer

from rag_ft_pipeline.assets.documents import chunks, current_document_ids, load_chunks, markdown_table
from rag_ft_pipeline.embedding import encode, load_model
from rag_ft_pipeline.evaluation import evaluate_index
from rag_ft_pipeline.indexing import collection_name, sync_index
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


def measure_index(
    context: dg.AssetExecutionContext, model: SentenceTransformer, index: dict[str, Any],
    eval_pairs: pd.DataFrame, vector_store: VectorStoreResource, batch_size: int,
) -> dg.Output[dict[str, float]]:
    """Search every eval question in the index and score where its chunk ranks."""
    if eval_pairs.empty:
        raise dg.Failure("no eval questions: add documents or lower the share held out")
    metrics, per_question = evaluate_index(
        vector_store.collection(index["collection"]), lambda texts: encode(model, texts, batch_size=batch_size), eval_pairs
    )
    context.log.info(f"{index['model']}: " + ", ".join(f"{k}={v:.3f}" for k, v in metrics.items()))
    table = pd.DataFrame({"metric": list(metrics), "value": [round(v, 4) for v in metrics.values()]})
    return dg.Output(
        metrics,
        metadata={
            **{name: dg.MetadataValue.float(value) for name, value in metrics.items()},
            "questions": len(eval_pairs),
            "metrics": markdown_table(table, rows=len(table)),
            "misses": markdown_table(per_question[per_question["rank"].isna()][["query", "chunk_id", "top_hit"]], rows=5),
        },
    )


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
    embedding_model: EmbeddingModelResource, vector_store: VectorStoreResource,
) -> dg.Output[dict[str, float]]:
    """Recall@k, MRR@k (k = 1, 3, 5, 10) and NDCG@10 of the base model on the eval questions."""
    return measure_index(context, embedding_model.load(), base_index, eval_pairs, vector_store, embedding_model.batch_size)


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
    eval_pairs: pd.DataFrame, embedding_model: EmbeddingModelResource, vector_store: VectorStoreResource,
) -> dg.Output[dict[str, float]]:
    """The same metrics as base_metrics, for the fine-tuned model, on the same questions and chunks."""
    model = load_model(finetuned_model["model_path"], embedding_model.device)
    return measure_index(context, model, finetuned_index, eval_pairs, vector_store, embedding_model.batch_size)


@dg.asset(group_name="reporting", kinds={"pandas", "matplotlib"})
def comparison(
    context: dg.AssetExecutionContext, base_metrics: dict[str, float], finetuned_metrics: dict[str, float],
    paths: ProjectPathsResource,
) -> dg.Output[pd.DataFrame]:
    """Base and fine-tuned metrics side by side: a table, comparison.json / .csv and a bar chart."""
    by_model = {"base": base_metrics, "finetuned": finetuned_metrics}
    table = comparison_table(by_model)
    folder = paths.artifact_dir("comparison")
    (folder / "comparison.json").write_text(json.dumps(by_model, indent=2))
    table.to_csv(folder / "comparison.csv")
    chart = comparison_chart_png(by_model)
    chart_path = folder / "comparison.png"
    chart_path.write_bytes(chart)
    context.log.info(f"comparison chart: {chart_path}")
    return dg.Output(
        table,
        metadata={
            "table": dg.MetadataValue.md(table.round(4).to_markdown()),
            "chart": dg.MetadataValue.md(png_markdown(chart, "base vs fine-tuned")),
            "chart_path": dg.MetadataValue.path(str(chart_path)),
            "json_path": dg.MetadataValue.path(str(folder / "comparison.json")),
        },
    )
