"""What the models are measured against (group `baselines`): BM25 over the same chunks and questions."""

import dagster as dg
import pandas as pd

from rag_ft_pipeline.common.types import Corpus
from rag_ft_pipeline.defs.dense import evaluation_output, require_eval_questions
from rag_ft_pipeline.evaluation.golden import GoldenRelevance
from rag_ft_pipeline.evaluation.metrics import SEARCH_DEPTH
from rag_ft_pipeline.evaluation.scoring import EvaluationResult, evaluate_retriever
from rag_ft_pipeline.retrieval.bm25 import BM25Index
from rag_ft_pipeline.retrieval.retrievers import Retriever

GROUP = "baselines"


@dg.asset(group_name=GROUP, kinds={"python"})
def bm25_metrics(
    context: dg.AssetExecutionContext,
    eval_pairs: pd.DataFrame,
    chunks: Corpus,
    golden_questions: GoldenRelevance | None,
) -> dg.Output[EvaluationResult]:
    """BM25 (a lexical search, bm25s) over the same chunks and questions: how far plain word overlap
    gets, and so how lexical the questions are."""
    require_eval_questions(eval_pairs)
    index = BM25Index([c.chunk_id for c in chunks.chunks], [c.text for c in chunks.chunks], SEARCH_DEPTH)
    result = evaluate_retriever(
        Retriever.BM25.value,
        index,
        eval_pairs,
        golden_questions,
        chunks.doc_of,
    )
    return evaluation_output(context, result, golden_questions)
