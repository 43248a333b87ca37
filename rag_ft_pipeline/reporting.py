"""Stage 9: the comparison as a table, a JSON file and a chart; plot helpers."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # no display: render to files and metadata only
import matplotlib.pyplot as plt
import pandas as pd

MODEL_COLORS = {"finetuned": "tab:blue", "base": "salmon", "bm25": "tab:gray"}
Interval = tuple[float, float, float]  # difference, low, high


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


def comparison_table(metrics_by_model: dict[str, dict[str, float]], intervals: dict[str, Interval] | None = None) -> pd.DataFrame:
    """One row per metric, one column per model; with intervals, the fine-tuned minus base
    difference and its 95% bootstrap interval."""
    table = pd.DataFrame({model: {k: v for k, v in m.items() if isinstance(v, float)} for model, m in metrics_by_model.items()})
    table.index.name = "metric"
    if {"base", "finetuned"} <= set(table.columns):
        table["difference"] = table["finetuned"] - table["base"]
    if intervals:
        table["ci95_low"] = [intervals[m][1] if m in intervals else None for m in table.index]
        table["ci95_high"] = [intervals[m][2] if m in intervals else None for m in table.index]
    return table


def comparison_chart_png(metrics_by_model: dict[str, dict[str, float]], intervals: dict[str, Interval] | None = None) -> bytes:
    """Grouped bars: one group per metric, one bar per model. The fine-tuned bars carry the 95%
    interval of their difference from the base model (base + interval)."""
    table = comparison_table(metrics_by_model)[list(metrics_by_model)]
    fig, ax = plt.subplots(figsize=(12, 4.5))
    width = 0.8 / len(table.columns)
    for i, model in enumerate(table.columns):
        positions = [x + (i - (len(table.columns) - 1) / 2) * width for x in range(len(table.index))]
        errors = None
        if model == "finetuned" and intervals and "base" in table:
            low = [table.loc[m, "finetuned"] - (table.loc[m, "base"] + intervals[m][1]) for m in table.index]
            high = [(table.loc[m, "base"] + intervals[m][2]) - table.loc[m, "finetuned"] for m in table.index]
            errors = [[max(v, 0) for v in low], [max(v, 0) for v in high]]
        bars = ax.bar(positions, table[model], width, label=model, color=MODEL_COLORS.get(model), yerr=errors, capsize=2)
        ax.bar_label(bars, fmt="%.2f", fontsize=6, padding=1)
    ax.set_xticks(range(len(table.index)), table.index, rotation=30)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("score")
    ax.set_title("Retrieval on held-out questions (whiskers: 95% interval of fine-tuned minus base)")
    ax.legend()
    return _png(fig)


def table_from_report(report: dict) -> pd.DataFrame:
    """The comparison table again, from comparison.json."""
    models = [name for name in ("base", "finetuned", "bm25") if name in report]
    intervals = {m: (v["difference"], v["ci95_low"], v["ci95_high"]) for m, v in report.get("finetuned_minus_base", {}).items()}
    return comparison_table({name: report[name] for name in models}, intervals)
