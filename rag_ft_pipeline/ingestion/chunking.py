"""Clean text into token-bounded chunks that keep paragraphs and sentences whole."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

from langchain_text_splitters import RecursiveCharacterTextSplitter
from pydantic import BaseModel, Field
from tokenizers import Tokenizer

from rag_ft_pipeline.common.files import write_atomic
from rag_ft_pipeline.common.hashing import content_hash
from rag_ft_pipeline.common.text import sentence_spans
from rag_ft_pipeline.common.types import Chunk, ChunkedDocument

TokenCounter = Callable[[str], int]


class ChunkingSettings(BaseModel):
    max_tokens: int = Field(
        default=112,
        ge=8,
        description="Tokens of the model's own tokenizer per chunk at most; most chunks then land near 80-110.",
    )


def token_counter(tokenizer) -> TokenCounter:
    """Count tokens as the embedding model will see them (special tokens excluded)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        # Fast tokenizers: a private copy without padding or truncation, called directly (the
        # Python wrapper costs more than the tokenizing and warns about lengths).
        backend = Tokenizer.from_str(backend.to_str())
        backend.no_padding()
        backend.no_truncation()
        encode = lambda text: backend.encode(text, add_special_tokens=False).ids  # noqa: E731
    else:
        encode = lambda text: tokenizer.encode(text, add_special_tokens=False)  # noqa: E731
    # Splitting counts the same words and sentences many times over.
    return lru_cache(maxsize=65536)(lambda text: len(encode(text)))


def _word_spans(text: str, start: int, end: int, max_tokens: int, count: TokenCounter) -> list[tuple[int, int]]:
    splitter = RecursiveCharacterTextSplitter(
        separators=[" ", ""],
        chunk_size=max_tokens,
        chunk_overlap=0,
        length_function=count,
        add_start_index=True,
    )
    pieces = []
    for doc in splitter.create_documents([text[start:end]]):
        piece_start = start + doc.metadata["start_index"]
        pieces.append((piece_start, piece_start + len(doc.page_content)))
    return pieces


def _pack(text: str, pieces: list[tuple[int, int]], max_tokens: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Greedily join consecutive pieces (each within the limit) into spans within the limit.

    Counts are summed per piece, which is exact for tokenizers that split on whitespace first
    (WordPiece, as in MiniLM and bge); a joined span that still counts over is packed again,
    piece by piece, with exact counts.
    """
    packed: list[tuple[int, int]] = []
    group: list[tuple[int, int]] = []
    group_tokens = 0
    for piece in pieces:
        tokens = count(text[piece[0] : piece[1]])
        if group and group_tokens + tokens > max_tokens:
            packed.append((group[0][0], group[-1][1]))
            group, group_tokens = [], 0
        group.append(piece)
        group_tokens += tokens
    if group:
        packed.append((group[0][0], group[-1][1]))
    exact: list[tuple[int, int]] = []
    for span in packed:
        if count(text[span[0] : span[1]]) <= max_tokens:
            exact.append(span)
        else:
            inner = [p for p in pieces if span[0] <= p[0] and p[1] <= span[1]]
            exact.extend(_pack_exactly(text, inner, max_tokens, count))
    return exact


def _pack_exactly(
    text: str, pieces: list[tuple[int, int]], max_tokens: int, count: TokenCounter
) -> list[tuple[int, int]]:
    packed: list[tuple[int, int]] = []
    for piece in pieces:
        if packed and count(text[packed[-1][0] : piece[1]]) <= max_tokens:
            packed[-1] = (packed[-1][0], piece[1])
        else:
            packed.append(piece)
    return packed


def _bounded_spans(text: str, start: int, end: int, max_tokens: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Split an over-long span into sentences and regroup them greedily; a sentence is cut (at
    word boundaries) only when it alone is over the limit."""
    pieces: list[tuple[int, int]] = []
    for s, e in sentence_spans(text[start:end]):
        s, e = start + s, start + e
        if count(text[s:e]) <= max_tokens:
            pieces.append((s, e))
        else:
            pieces.extend(_word_spans(text, s, e, max_tokens, count))
    return _pack(text, pieces, max_tokens, count)


def chunk_text(text: str, max_tokens: int, count: TokenCounter) -> list[tuple[int, int]]:
    """(start, end) offsets of chunks of at most `max_tokens` tokens, in document order.

    Paragraphs (blank-line separated) are packed greedily by langchain's recursive splitter;
    a chunk still over the limit is split into sentences and regrouped.
    """
    splitter = RecursiveCharacterTextSplitter(
        separators=["\n\n"],
        chunk_size=max_tokens,
        chunk_overlap=0,
        length_function=count,
        add_start_index=True,
    )
    spans: list[tuple[int, int]] = []
    for doc in splitter.create_documents([text]):
        start = doc.metadata["start_index"]
        end = start + len(doc.page_content)
        if count(doc.page_content) <= max_tokens:
            spans.append((start, end))
        else:
            spans.extend(_bounded_spans(text, start, end, max_tokens, count))
    return spans


def chunk_document(doc_id: str, text: str, max_tokens: int, count: TokenCounter) -> list[Chunk]:
    chunks = []
    for index, (start, end) in enumerate(chunk_text(text, max_tokens, count)):
        piece = text[start:end]
        chunks.append(
            Chunk(
                chunk_id=f"{doc_id}#{index}",
                doc_id=doc_id,
                chunk_index=index,
                start=start,
                end=end,
                token_count=count(piece),
                content_hash=content_hash(piece),
                text=piece,
            )
        )
    return chunks


def write_chunks(path: Path, document: ChunkedDocument) -> None:
    """JSON lines: a header with the document id and the token limit, then one chunk a line;
    written atomically, so a reader never sees part of a file."""
    header = json.dumps({"doc_id": document.doc_id, "max_tokens": document.max_tokens}, ensure_ascii=False)
    lines = [header, *(json.dumps(asdict(chunk), ensure_ascii=False) for chunk in document.chunks)]
    write_atomic(path, "\n".join(lines) + "\n")


def read_chunks(path: Path) -> ChunkedDocument:
    with path.open(encoding="utf-8") as f:
        header, *rows = (json.loads(line) for line in f if line.strip())
    return ChunkedDocument(header["doc_id"], header["max_tokens"], [Chunk(**row) for row in rows])
