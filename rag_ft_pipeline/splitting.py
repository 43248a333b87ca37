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


def split_pairs(pairs: pd.DataFrame, eval_fraction: float = 0.1, validation_fraction: float = 0.1, seed: int = 42) -> PairSplit:
    """Split by chunk, so that all questions about one chunk land on the same side.

    Chunk ids are shuffled with a seeded generator; `eval_fraction` of them go to eval, then
    `validation_fraction` of the rest to validation. The same pairs and seed always give the same
    split, whatever the row order.
    """
    chunk_ids = np.array(sorted(pairs["chunk_id"].unique()))
    np.random.default_rng(seed).shuffle(chunk_ids)
    n_eval = round(len(chunk_ids) * eval_fraction)
    eval_ids = set(chunk_ids[:n_eval])
    rest = chunk_ids[n_eval:]
    validation_ids = set(rest[: round(len(rest) * validation_fraction)])

    def rows(ids: set[str]) -> pd.DataFrame:
        return pairs[pairs["chunk_id"].isin(ids)].sort_values(["chunk_id", "query"]).reset_index(drop=True)

    train_ids = set(rest) - validation_ids
    return PairSplit(train=rows(train_ids), validation=rows(validation_ids), eval=rows(eval_ids))
