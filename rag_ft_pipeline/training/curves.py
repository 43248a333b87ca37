"""The curves of a training run, from what the trainer logged: the training loss and the validation
NDCG@10 by step, as a table (kept beside the model) and a plot (shown in the asset's metadata)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd

from rag_ft_pipeline.common.plots import png_bytes

COLUMNS = ["step", "epoch", "loss", "learning_rate", "validation_ndcg@10"]


def training_curves(log_history: Sequence[dict], validation_metric: str) -> pd.DataFrame:
    """One row per logged step: the loss and learning rate where the trainer logged them, the
    validation NDCG@10 where it evaluated."""
    rows: dict[int, dict] = {}
    for entry in log_history:
        if "step" not in entry:
            continue
        row = rows.setdefault(entry["step"], {"step": entry["step"]})
        row["epoch"] = entry.get("epoch", row.get("epoch"))
        for source, column in (("loss", "loss"), ("learning_rate", "learning_rate"), (validation_metric, COLUMNS[-1])):
            if source in entry:
                row[column] = entry[source]
    return pd.DataFrame(sorted(rows.values(), key=lambda row: row["step"]), columns=COLUMNS)


def curves_png(curves: pd.DataFrame) -> bytes:
    """The loss (left axis) and the validation NDCG@10 (right axis) against the step."""
    fig, loss_axis = plt.subplots(figsize=(8, 3.8))
    loss = curves.dropna(subset=["loss"])
    loss_axis.plot(loss["step"], loss["loss"], color="tab:blue", marker=".", label="training loss")
    loss_axis.set_xlabel("step")
    loss_axis.set_ylabel("training loss", color="tab:blue")
    validation = curves.dropna(subset=[COLUMNS[-1]])
    if not validation.empty:
        ndcg_axis = loss_axis.twinx()
        ndcg_axis.plot(validation["step"], validation[COLUMNS[-1]], color="tab:orange", marker="o")
        ndcg_axis.set_ylabel("validation NDCG@10", color="tab:orange")
    loss_axis.set_title(f"training: {int(curves['step'].max()) if len(curves) else 0} steps")
    return png_bytes(fig)
