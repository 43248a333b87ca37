"""The base model's index and metrics (group `base_model`)."""

import dagster as dg
import pandas as pd

from rag_ft_pipeline.common.types import Corpus
from rag_ft_pipeline.defs.dense import build_index, measure_dense
from rag_ft_pipeline.defs.resources import EmbeddingModelResource, VectorStoreResource
from rag_ft_pipeline.evaluation.golden import GoldenRelevance
from rag_ft_pipeline.evaluation.scoring import EvaluationResult
from rag_ft_pipeline.retrieval.retrievers import Retriever
from rag_ft_pipeline.retrieval.vector_store import VectorIndex

GROUP = "base_model"


@dg.asset(
    group_name=GROUP,
    kinds={"chromadb", "sentencetransformers"},
    pool="vector_store",
    automation_condition=dg.AutomationCondition.eager(),
)
def base_index(
    context: dg.AssetExecutionContext,
    chunks: Corpus,
    embedding_model: EmbeddingModelResource,
    vector_store: VectorStoreResource,
) -> dg.Output[VectorIndex]:
    """Every chunk embedded with the base model in a persistent Chroma collection (cosine space,
    chunk metadata attached). Updated in place: only new or changed chunks are embedded."""
    return build_index(
        context,
        embedding_model.load(),
        embedding_model.model_name_or_path,
        Retriever.BASE,
        chunks,
        vector_store,
        embedding_model.batch_size,
        embedding_model.prompts(),
    )


@dg.asset(group_name=GROUP, kinds={"chromadb"})
def base_metrics(
    context: dg.AssetExecutionContext,
    base_index: VectorIndex,
    eval_pairs: pd.DataFrame,
    chunks: Corpus,
    golden_questions: GoldenRelevance | None,
    embedding_model: EmbeddingModelResource,
    vector_store: VectorStoreResource,
) -> dg.Output[EvaluationResult]:
    """hit@k (k = 1, 3, 5, 10), recall@10, MRR@10, NDCG@10 and MAP@100 of the base model on the eval
    questions (and the golden set, when given), with an exact-search cross-check of the index."""
    return measure_dense(
        context,
        Retriever.BASE.value,
        embedding_model.load(),
        embedding_model.prompts().query,
        base_index,
        eval_pairs,
        chunks,
        golden_questions,
        vector_store,
        embedding_model.batch_size,
    )
