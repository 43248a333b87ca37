"""PNG charts rendered without a display, and Markdown that shows them inline."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # no display: render to files and metadata only
import matplotlib.pyplot as plt


def png_bytes(fig: plt.Figure) -> bytes:
    """The figure as PNG bytes; the figure is closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def png_markdown(png: bytes, alt: str) -> str:
    """Markdown that shows a PNG inline (Dagster's metadata panel renders it)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def histogram_png(values: list[int], limit: int, xlabel: str, ylabel: str) -> bytes:
    """A histogram in bins of 4 up to `limit`, with the limit drawn as a dashed line."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.hist(values, bins=range(0, limit + 5, 4), color="tab:blue", edgecolor="white")
    ax.axvline(limit, color="tab:red", linestyle="--", label=f"limit ({limit})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{len(values)} {ylabel}")
    ax.legend()
    return png_bytes(fig)
