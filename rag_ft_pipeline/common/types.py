"""The values that travel between stages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

# Texts in, one normalized embedding per text out.
Encoder = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Chunk:
    """A token-bounded piece of one document's clean text."""

    chunk_id: str
    doc_id: str
    chunk_index: int
    start: int  # character offsets into the document's clean text
    end: int
    token_count: int
    content_hash: str
    text: str


@dataclass(frozen=True)
class ChunkedDocument:
    """One document's chunks, and the token limit they were cut at."""

    doc_id: str
    max_tokens: int
    chunks: list[Chunk] = field(default_factory=list)


@dataclass(frozen=True)
class Corpus:
    """Every current document's chunks: what the assets after `chunks` read."""

    documents: list[ChunkedDocument]

    @cached_property
    def chunks(self) -> list[Chunk]:
        return [chunk for document in self.documents for chunk in document.chunks]

    @cached_property
    def doc_of(self) -> dict[str, str]:
        return {chunk.chunk_id: chunk.doc_id for chunk in self.chunks}

    @property
    def texts(self) -> dict[str, str]:
        return {chunk.chunk_id: chunk.text for chunk in self.chunks}
