"""What the base and the fine-tuned model's assets share: indexing the chunks with a model and
scoring that index, with the metadata both record."""

from __future__ import annotations

import dagster as dg
import pandas as pd
from sentence_transformers import SentenceTransformer

from rag_ft_pipeline.common.progress import progress_logger
from rag_ft_pipeline.common.types import Corpus
from rag_ft_pipeline.defs.metadata import table
from rag_ft_pipeline.defs.resources import VectorStoreResource
from rag_ft_pipeline.evaluation.golden import GoldenRelevance
from rag_ft_pipeline.evaluation.scoring import DenseRanker, EvaluationResult, evaluate_retriever
from rag_ft_pipeline.retrieval.embedding import Prompts, encode, resolve_model_path
from rag_ft_pipeline.retrieval.published import published_details
from rag_ft_pipeline.retrieval.retrievers import Retriever
from rag_ft_pipeline.retrieval.vector_store import VectorIndex


def build_index(
    context: dg.AssetExecutionContext,
    model: SentenceTransformer,
    model_id: str,
    label: Retriever,
    chunks: Corpus,
    vector_store: VectorStoreResource,
    batch_size: int,
    prompts: Prompts,
) -> dg.Output[VectorIndex]:
    """Bring the model's index in step with the current chunks (each after the model's passage
    prompt) and publish it whole (one writer at a time), also under its label (base, finetuned) with the
    model and its prompts: readers keep searching the previous version until the new one is complete."""
    name = label.index_name(model_id)
    with vector_store.writing(name, context.log):
        published, update = vector_store.index(name).update(
            chunks.chunks,
            encoder=lambda texts: encode(model, texts, batch_size=batch_size, prompt=prompts.passage),
            progress=progress_logger(context.log, f"embedding chunks into {name}"),
            label=label.value,
            details=published_details(resolve_model_path(model_id), prompts),
        )
        stored = vector_store.collection(published).count()
    return dg.Output(
        VectorIndex(name=name, collection=published, model=model_id, chunks=stored),
        metadata={
            "dagster/row_count": stored,
            "index": name,
            "collection": published,
            "model": model_id,
            "label": label.value,
            "query_prompt": prompts.query or "",
            "passage_prompt": prompts.passage or "",
            "embedded": update.embedded,
            "encoded": update.encoded,
            "added": update.added,
            "updated": update.updated,
            "removed": update.removed,
            "unchanged": update.unchanged,
        },
    )


def require_eval_questions(eval_pairs: pd.DataFrame) -> None:
    if eval_pairs.empty:
        raise dg.Failure("no eval questions: add documents or raise eval_fraction")


def evaluation_output(
    context: dg.AssetExecutionContext, result: EvaluationResult, golden: GoldenRelevance | None, **extra
) -> dg.Output[EvaluationResult]:
    context.log.info(f"{result.retriever}: " + ", ".join(f"{k}={v:.3f}" for k, v in result.metrics.items()))
    misses = result.per_query[result.per_query["rank"].isna()][["query", "chunk_id", "top_hit"]]
    return dg.Output(
        result,
        metadata={
            **{name: dg.MetadataValue.float(value) for name, value in result.metrics.items()},
            **(
                {f"golden_{name}": dg.MetadataValue.float(value) for name, value in result.golden["chunk"].items()}
                if result.golden
                else {}
            ),
            "questions": len(result.per_query),
            "golden_questions": len(golden.questions) if golden else 0,
            "metrics": table(result.table().round(4), rows=None, index=True),
            "misses": table(misses, rows=5),
            **extra,
        },
    )


def measure_dense(
    context: dg.AssetExecutionContext,
    name: str,
    model: SentenceTransformer,
    query_prompt: str | None,
    index: VectorIndex,
    eval_pairs: pd.DataFrame,
    chunks: Corpus,
    golden: GoldenRelevance | None,
    vector_store: VectorStoreResource,
    batch_size: int,
    matryoshka_dims: tuple[int, ...] = (),
) -> dg.Output[EvaluationResult]:
    """Search every eval (and golden) question in the model's index and score the rankings."""
    require_eval_questions(eval_pairs)
    ranker = DenseRanker(
        vector_store.collection(index.collection),
        lambda q: encode(model, q, batch_size=batch_size, prompt=query_prompt),
    )
    result = evaluate_retriever(name, ranker, eval_pairs, golden, chunks.doc_of)
    extra = {"ann_agreement@10": dg.MetadataValue.float(ranker.agreement or 1.0), "query_prompt": query_prompt or ""}
    if matryoshka_dims:
        by_dim = pd.DataFrame(ranker.truncated_metrics(eval_pairs, matryoshka_dims)).T.round(4)
        by_dim.index.name = "dimensions"
        extra["matryoshka"] = table(by_dim, rows=None, index=True)
    return evaluation_output(context, result, golden, **extra)
