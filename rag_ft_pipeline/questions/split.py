"""A seeded train / validation / eval split of the question pairs, and the check that nothing leaks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

SplitUnit = Literal["pair", "document"]


class SplitSettings(BaseModel):
    split_by: SplitUnit = Field(
        default="pair",
        description="pair: by chunk (all questions about one chunk on one side); "
        "document: no document contributes to both train and eval.",
    )
    eval_fraction: float = Field(default=0.1, gt=0, lt=1, description="Share of units held out for evaluation.")
    validation_fraction: float = Field(
        default=0.1, ge=0, lt=1, description="Share of the training units that picks the best checkpoint."
    )
    split_seed: int = Field(default=42, description="Seeds the shuffle: the same pairs and seed give the same split.")


@dataclass(frozen=True)
class PairSplit:
    train: pd.DataFrame
    validation: pd.DataFrame  # taken from the training share, for choosing the best checkpoint
    eval: pd.DataFrame  # held out: never used for any choice during training


SPLIT_UNITS = {"pair": "chunk_id", "document": "doc_id"}


def split_pairs(pairs: pd.DataFrame, settings: SplitSettings | None = None) -> PairSplit:
    """A seeded split by pair (as the seed: in practice by chunk, so all questions about one chunk
    land on the same side) or by document (no document contributes to both train and eval).

    The units are shuffled with a seeded generator; `eval_fraction` of them go to eval, then
    `validation_fraction` of the rest to validation. The same pairs and seed always give the same
    split, whatever the row order.
    """
    settings = settings or SplitSettings()
    eval_fraction, validation_fraction = settings.eval_fraction, settings.validation_fraction
    column = SPLIT_UNITS[settings.split_by]
    units = np.array(sorted(pairs[column].unique()))
    np.random.default_rng(settings.split_seed).shuffle(units)
    # At least one unit on each held-out side once there are enough to spare one.
    n_eval = max(1, round(len(units) * eval_fraction)) if len(units) >= 2 and eval_fraction > 0 else 0
    rest = units[n_eval:]
    n_validation = max(1, round(len(rest) * validation_fraction)) if len(rest) >= 3 and validation_fraction > 0 else 0

    def rows(selected) -> pd.DataFrame:
        frame = pairs[pairs[column].isin(set(selected))].sort_values(["chunk_id", "query"]).reset_index(drop=True)
        frame.attrs["split_by"] = settings.split_by  # what the leakage check must hold the sides to
        return frame

    return PairSplit(train=rows(rest[n_validation:]), validation=rows(rest[:n_validation]), eval=rows(units[:n_eval]))


def leakage(
    eval_pairs: pd.DataFrame, seen: pd.DataFrame, by_document: bool, golden_questions: Sequence[str] = ()
) -> dict[str, set[str]]:
    """What of the evaluation also appears in the pairs a model saw: eval chunks (as positives),
    eval question texts, golden questions, and documents (which a split by document must keep
    apart; see `split_by`)."""
    leaks = {
        "shared_chunks": set(eval_pairs["chunk_id"]) & set(seen["chunk_id"]),
        "shared_questions": set(eval_pairs["query"]) & set(seen["query"]),
        "golden_questions_trained_on": set(golden_questions) & set(seen["query"]),
    }
    if by_document:
        leaks["shared_documents"] = set(eval_pairs["doc_id"]) & set(seen["doc_id"])
    return leaks
