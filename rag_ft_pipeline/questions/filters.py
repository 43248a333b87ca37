"""Quality filters for generated pairs, each counting what it removed, with examples."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from pydantic import BaseModel, Field
from sentence_transformers import SentenceTransformer
from sentence_transformers.util import semantic_search

from rag_ft_pipeline.common.text import longest_shared_word_run
from rag_ft_pipeline.retrieval.embedding import NO_PROMPTS, Prompts


class FilterSettings(BaseModel):
    max_copied_words: int = Field(
        default=10,
        ge=1,
        description="Drop questions that copy a longer run of their chunk's words (LLM questions only).",
    )
    round_trip_top_k: int | None = Field(
        default=None,
        ge=1,
        description="Keep a question only if the base model ranks its chunk this high among all chunks.",
    )


@dataclass
class FilterReport:
    removed: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, name: str, dropped: pd.DataFrame) -> None:
        self.removed[name] = len(dropped)
        self.examples[name] = dropped["query"].head(3).tolist()

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {"filter": name, "removed": n, "examples": " | ".join(self.examples[name])[:300]}
                for name, n in self.removed.items()
            ]
        )


def _drop(pairs: pd.DataFrame, mask: pd.Series, name: str, report: FilterReport) -> pd.DataFrame:
    report.note(name, pairs[mask])
    return pairs[~mask].reset_index(drop=True)


def filter_pairs(
    pairs: pd.DataFrame,
    chunk_texts: dict[str, str],
    report: FilterReport,
    check_copying: bool,
    settings: FilterSettings | None = None,
    model: SentenceTransformer | None = None,
    prompts: Prompts = NO_PROMPTS,
) -> pd.DataFrame:
    """Drop empty questions, questions asked of more than one chunk, questions that copy more than
    `max_copied_words` consecutive words of their chunk (when `check_copying`), and with
    `round_trip_top_k` those whose chunk `model` does not rank in its top k among all chunks
    (round-trip consistency, as in Promptagator)."""
    settings = settings or FilterSettings()
    pairs = _drop(pairs, pairs["query"].str.strip().str.len() == 0, "empty", report)
    # A question asked of two chunks has no single right answer to train or score against.
    pairs = _drop(pairs, pairs.duplicated("query", keep=False), "duplicate", report)
    if check_copying:
        copied = pd.Series(
            [
                longest_shared_word_run(q, chunk_texts[c]) > settings.max_copied_words
                for q, c in zip(pairs["query"], pairs["chunk_id"])
            ],
            index=pairs.index,
            dtype=bool,
        )
        pairs = _drop(pairs, copied, "copies_chunk", report)
    top_k = settings.round_trip_top_k
    if top_k and not pairs.empty:
        if model is None:
            raise ValueError("round_trip_top_k needs the model that ranks the chunks")
        ids = list(chunk_texts)
        texts = [chunk_texts[i] for i in ids]
        corpus = model.encode(texts, normalize_embeddings=True, convert_to_tensor=True, prompt=prompts.passage)
        queries = model.encode(
            pairs["query"].tolist(), normalize_embeddings=True, convert_to_tensor=True, prompt=prompts.query
        )
        hits = semantic_search(queries, corpus, top_k=top_k)
        missed = pd.Series(
            [chunk_id not in {ids[h["corpus_id"]] for h in found} for chunk_id, found in zip(pairs["chunk_id"], hits)],
            index=pairs.index,
            dtype=bool,
        )
        pairs = _drop(pairs, missed, f"round_trip_top{top_k}", report)
    return pairs
