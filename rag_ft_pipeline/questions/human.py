"""Training pairs from questions people already asked (an FAQ, support tickets), in the golden-set
format: each question paired with the chunk its answer overlaps most."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from rag_ft_pipeline.common.types import Chunk
from rag_ft_pipeline.evaluation.golden import GoldenQuestion, best_answer_chunks
from rag_ft_pipeline.questions.batch import PAIR_COLUMNS

HUMAN = "human"


def human_pairs(questions: Sequence[GoldenQuestion], chunks: Sequence[Chunk]) -> pd.DataFrame:
    """One (question, chunk text) pair per question whose answer a chunk shares a passage with."""
    rows = [
        {
            "chunk_id": c.chunk_id,
            "doc_id": c.doc_id,
            "content_hash": c.content_hash,
            "query": q.question,
            "positive": c.text,
            "generator": HUMAN,
        }
        for q, c in best_answer_chunks(questions, chunks)
    ]
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)
