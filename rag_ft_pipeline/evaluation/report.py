"""The comparison as people read it: text tables, a long CSV-ready table and a chart."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from rag_ft_pipeline.common.plots import png_bytes
from rag_ft_pipeline.evaluation.comparison import BASE, BEST_BY, Block, Comparison
from rag_ft_pipeline.retrieval.embedding import Prompts
from rag_ft_pipeline.retrieval.retrievers import Retriever

GOLDEN_ADVICE = (
    "add a golden set of your own questions to tell them apart "
    "(--golden-set FILE: JSON lines of question, relevant_doc_ids, answer)"
)
SHOWN = ["hit@1", "hit@3", "hit@10", "mrr@10", "ndcg@10", "recall@10"]
COLORS = {
    Retriever.BASE.value: "salmon",
    Retriever.FINETUNED.value: "tab:blue",
    Retriever.BM25.value: "tab:gray",
    Retriever.HYBRID_BASE.value: "peachpuff",
    Retriever.HYBRID_FINETUNED.value: "lightskyblue",
}


def long_table(comparison: Comparison) -> pd.DataFrame:
    """Every figure in one row: question set, retriever, metric, value, and the difference from the
    base model with its 95% interval (empty for the base model itself)."""
    rows = []
    for block in comparison.blocks:
        for model in block.metrics.columns:
            for metric, value in block.metrics[model].items():
                difference, low, high = block.intervals.get(model, {}).get(metric, (None, None, None))
                rows.append(
                    {
                        "questions": block.name,
                        "retriever": model,
                        "metric": metric,
                        "value": float(value),
                        "minus_base": difference,
                        "ci95_low": low,
                        "ci95_high": high,
                    }
                )
    return pd.DataFrame(rows)


def block_tables(block: Block) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Retrievers by the metrics people read first; and each one's difference from the base with its
    95% interval, as text."""
    values = block.metrics.loc[SHOWN].T
    values.index.name = "retriever"
    differences = pd.DataFrame(
        {
            model: {m: f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]" for m, (d, lo, hi) in by_metric.items() if m in SHOWN}
            for model, by_metric in block.intervals.items()
        }
    ).T.reindex(columns=SHOWN)
    differences.index.name = "minus base (95% CI)"
    return values, differences


def comparison_text(comparison: Comparison) -> str:
    """The printed report: each question set's tables, golden first; a saturated synthetic eval in one line."""
    parts = []
    golden = any(block.name.startswith("golden") for block in comparison.blocks)
    for block in comparison.blocks:
        title = f"{block.name}: {block.questions} questions"
        if block.name == "synthetic" and block.saturated:
            advice = "trust the golden set" if golden else GOLDEN_ADVICE
            parts.append(
                f"{title}: every retriever scores NDCG@10 ≥ 0.98 here, so these questions cannot tell the "
                f"models apart (offline questions are sentences of their own chunks); {advice}."
            )
            continue
        values, differences = block_tables(block)
        parts.append(f"{title}\n{values.round(3).to_string()}\n{differences.to_string()}")
    lead = comparison.blocks[0].metrics.loc[BEST_BY]
    parts.append(
        f"best retriever by {comparison.best_by}: {comparison.best_retriever} ({lead[comparison.best_retriever]:.3f}); "
        f"best single model: {comparison.best_model} ({lead[comparison.best_model]:.3f})"
    )
    parts.append(comparison.verdict.text)
    return "\n\n".join(parts)


def comparison_chart_png(comparison: Comparison) -> bytes:
    """A panel for the golden set at chunk level, then one for the synthetic eval unless it is
    saturated: grouped bars per metric, the whiskers the 95% interval of each retriever's difference
    from the base model."""
    blocks = [
        b
        for b in comparison.blocks
        if b.name in ("golden (chunk)", "synthetic") and not (b.name == "synthetic" and b.saturated)
    ]
    if not blocks:
        fig, ax = plt.subplots(figsize=(9, 1.2))
        ax.axis("off")
        ax.text(
            0.5, 0.5, "synthetic eval saturated: every retriever scores NDCG@10 ≥ 0.98; add a golden set", ha="center"
        )
        return png_bytes(fig)
    fig, axes = plt.subplots(len(blocks), 1, figsize=(12, 4.8 * len(blocks)), squeeze=False)
    for ax, block in zip(axes[:, 0], blocks):
        models = list(block.metrics.columns)
        width = 0.8 / len(models)
        for i, model in enumerate(models):
            values = block.metrics.loc[SHOWN, model]
            positions = [x + (i - (len(models) - 1) / 2) * width for x in range(len(SHOWN))]
            errors = None
            if model != BASE:
                base = block.metrics.loc[SHOWN, BASE]
                intervals = [block.intervals[model][m] for m in SHOWN]
                errors = [
                    [max(v - (b + lo), 0) for v, b, (_, lo, _) in zip(values, base, intervals)],
                    [max((b + hi) - v, 0) for v, b, (_, _, hi) in zip(values, base, intervals)],
                ]
            bars = ax.bar(positions, values, width, label=model, color=COLORS.get(model), yerr=errors, capsize=2)
            ax.bar_label(bars, fmt="%.2f", fontsize=6, padding=1)
        ax.set_xticks(range(len(SHOWN)), SHOWN)
        ax.set_ylim(0, 1.1)
        ax.set_ylabel("score")
        ax.set_title(f"{block.name}: {block.questions} questions (whiskers: 95% interval of the difference from base)")
        ax.legend(fontsize=8, ncol=len(models), loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False)
    fig.suptitle(comparison.verdict.text, fontsize=10)
    return png_bytes(fig)


CARD_MARKER = "<!-- rag_ft_pipeline: evaluation on this corpus -->"


def model_card(card: str, comparison: Comparison, model_path: str, prompts: Prompts) -> str:
    """The model's card with a section (replacing an earlier one) on how base and fine-tuned scored
    on this corpus's golden and synthetic questions, and how to use the model with its prompts."""
    kept = card.split(CARD_MARKER)[0].rstrip()
    parts = [CARD_MARKER, "## Evaluation on this corpus", comparison.verdict.text, ""]
    for block in comparison.blocks:
        values = block.metrics.loc[SHOWN].T.round(4)
        values.index.name = "retriever"
        parts += [f"### {block.name}: {block.questions} questions", "", values.to_markdown(), ""]
    return f"{kept}\n\n" + "\n".join([*parts, *usage(model_path, prompts)])


def usage(model_path: str, prompts: Prompts) -> list[str]:
    """How to embed with the model in each framework, its prompts included: most frameworks leave a
    model's saved prompts out unless told to use them."""
    query, passage = prompts.query or "", prompts.passage or ""
    need = (
        f"It was trained with prompts: `{query!r}` before each question and `{passage!r}` before each "
        "passage, and scored with them above. Put them there, as the calls below do: most frameworks leave "
        "them out unless told."
        if query or passage
        else "It uses no prompts."
    )
    return [
        "## Use it",
        "",
        need,
        "",
        "```python",
        "# sentence-transformers: the prompts are saved in the model",
        "from sentence_transformers import SentenceTransformer",
        f'model = SentenceTransformer("{model_path}")',
        'questions = model.encode_query(["How fast must a fatal unexpected reaction be reported?"])',
        'passages = model.encode_document(["Report each fatal unexpected reaction within 7 days."])',
        "",
        "# LangChain (langchain-huggingface)",
        "from langchain_huggingface import HuggingFaceEmbeddings",
        "embeddings = HuggingFaceEmbeddings(",
        f'    model_name="{model_path}",',
        f'    encode_kwargs={{"prompt": {passage!r}}},',
        f'    query_encode_kwargs={{"prompt": {query!r}}},',
        ")",
        "",
        "# LlamaIndex (llama-index-embeddings-huggingface)",
        "from llama_index.embeddings.huggingface import HuggingFaceEmbedding",
        f'embed_model = HuggingFaceEmbedding(model_name="{model_path}", query_instruction={query!r}, '
        f"text_instruction={passage!r})",
        "```",
        "",
        "Chroma's `SentenceTransformerEmbeddingFunction` puts no prompt anywhere: see `examples/chroma_app.py`.",
        "",
    ]
