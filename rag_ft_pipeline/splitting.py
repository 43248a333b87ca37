"""Stage 4: a seeded train / validation / eval split of the question pairs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PairSplit:
    train: pd.DataFrame
    validation: pd.DataFrame  # taken from the training share, for choosing the best checkpoint
    eval: pd.DataFrame  # held out: never used for any choice during training


SPLIT_UNITS = {"pair": "chunk_id", "document": "doc_id"}


def split_pairs(
    pairs: pd.DataFrame, eval_fraction: float = 0.1, validation_fraction: float = 0.1, seed: int = 42, by: str = "pair"
) -> PairSplit:
    """A seeded split by pair (as the seed: in practice by chunk, so all questions about one chunk
    land on the same side) or by document (no document contributes to both train and eval).

    The units are shuffled with a seeded generator; `eval_fraction` of them go to eval, then
    `validation_fraction` of the rest to validation. The same pairs and seed always give the same
    split, whatever the row order.
    """
    column = SPLIT_UNITS[by]
    units = np.array(sorted(pairs[column].unique()))
    np.random.default_rng(seed).shuffle(units)
    # At least one unit on each held-out side once there are enough to spare one.
    n_eval = max(1, round(len(units) * eval_fraction)) if len(units) >= 2 and eval_fraction > 0 else 0
    rest = units[n_eval:]
    n_validation = max(1, round(len(rest) * validation_fraction)) if len(rest) >= 3 and validation_fraction > 0 else 0

    def rows(selected) -> pd.DataFrame:
        return pairs[pairs[column].isin(set(selected))].sort_values(["chunk_id", "query"]).reset_index(drop=True)

    return PairSplit(train=rows(rest[n_validation:]), validation=rows(rest[:n_validation]), eval=rows(units[:n_eval]))


def leakage(eval_pairs: pd.DataFrame, seen: pd.DataFrame, by_document: bool) -> dict[str, set[str]]:
    """What of the eval set also appears in the pairs a model saw: chunks (as positives), question
    texts, and documents (which a split by document must keep apart; see `split_by`)."""
    leaks = {
        "shared_chunks": set(eval_pairs["chunk_id"]) & set(seen["chunk_id"]),
        "shared_questions": set(eval_pairs["query"]) & set(seen["query"]),
    }
    if by_document:
        leaks["shared_documents"] = set(eval_pairs["doc_id"]) & set(seen["doc_id"])
    return leaks
