"""Stage 9: the before/after comparison as a table, a JSON file and a chart; plot helpers."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # no display: render to files and metadata only
import matplotlib.pyplot as plt
import pandas as pd

MODEL_COLORS = {"finetuned": "tab:blue", "base": "salmon"}


def png_markdown(png: bytes, alt: str) -> str:
    """Markdown that shows a PNG inline in Dagster's metadata panel."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def _png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def token_histogram_png(token_counts: list[int], limit: int) -> bytes:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.hist(token_counts, bins=range(0, limit + 5, 4), color="tab:blue", edgecolor="white")
    ax.axvline(limit, color="tab:red", linestyle="--", label=f"limit ({limit})")
    ax.set_xlabel("tokens per chunk")
    ax.set_ylabel("chunks")
    ax.set_title(f"{len(token_counts)} chunks")
    ax.legend()
    return _png(fig)


def comparison_table(metrics_by_model: dict[str, dict[str, float]]) -> pd.DataFrame:
    """One row per metric, one column per model, plus the fine-tuned minus base difference."""
    table = pd.DataFrame(metrics_by_model)
    table.index.name = "metric"
    if {"base", "finetuned"} <= set(table.columns):
        table["difference"] = table["finetuned"] - table["base"]
    return table


def comparison_chart_png(metrics_by_model: dict[str, dict[str, float]]) -> bytes:
    """Grouped bars: one group per metric and k, one bar per model."""
    table = pd.DataFrame(metrics_by_model)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(table.columns)
    for i, model in enumerate(table.columns):
        positions = [x + (i - (len(table.columns) - 1) / 2) * width for x in range(len(table.index))]
        bars = ax.bar(positions, table[model], width, label=model, color=MODEL_COLORS.get(model))
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(range(len(table.index)), table.index, rotation=30)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("score")
    ax.set_title("Retrieval on held-out questions: base vs fine-tuned")
    ax.legend()
    return _png(fig)
