"""Questions written by people (a golden set, or a team's FAQ), with the documents and/or answer
text that are right, matched to the chunks they are about."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag_ft_pipeline.common.text import SharedWordRuns, word_tokens
from rag_ft_pipeline.common.types import Chunk

# A chunk and an answer that share this many consecutive words talk about the same thing.
MIN_SHARED_WORDS = 12


@dataclass(frozen=True)
class GoldenQuestion:
    question: str
    relevant_doc_ids: tuple[str, ...] = ()
    answer: str | None = None


@dataclass(frozen=True)
class GoldenRelevance:
    questions: list[str]
    chunks: list[set[str]]  # relevant chunk ids per question
    documents: list[set[str]]  # relevant document ids per question
    unanswerable: list[str] = field(default_factory=list)  # questions no chunk is relevant to


class GoldenSetError(ValueError):
    """A questions file that cannot be read; the message names the file, the line and what is wrong."""


def load_golden_set(path: Path) -> list[GoldenQuestion]:
    """JSON lines of {"question": ..., "relevant_doc_ids": [...], "answer": ...}; either of the last
    two may be absent, not both. Errors name the file and line."""
    if not path.is_file():
        raise GoldenSetError(f"{path}: no such file")
    questions = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise GoldenSetError(f"{path}: not UTF-8 text ({error})") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            ids = record.get("relevant_doc_ids") or []
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise TypeError("relevant_doc_ids must be a list of document ids")
            question = GoldenQuestion(
                question=record["question"].strip(),
                relevant_doc_ids=tuple(ids),
                answer=(record.get("answer") or "").strip() or None,
            )
        except (json.JSONDecodeError, KeyError, AttributeError, TypeError) as error:
            raise GoldenSetError(
                f"{path}, line {number}: not a question record ({type(error).__name__}: {error})"
            ) from error
        if not question.question or not (question.relevant_doc_ids or question.answer):
            raise GoldenSetError(f"{path}, line {number}: needs a question and relevant_doc_ids or an answer")
        questions.append(question)
    return questions


def answer_overlaps(answer: str, candidates: Sequence[Chunk], tokens: dict[str, list[str]]) -> list[tuple[Chunk, int]]:
    """The candidates an answer is about, with the length of the passage each shares with it.
    Human answers often span more than one chunk, so a chunk is relevant when it shares a passage
    of at least MIN_SHARED_WORDS consecutive words with the answer, or, for a shorter answer, holds
    all of it. `tokens` caches each chunk's words across calls."""
    runs = SharedWordRuns(answer)
    needed = min(MIN_SHARED_WORDS, len(word_tokens(answer)))
    found = []
    for chunk in candidates:
        if chunk.chunk_id not in tokens:
            tokens[chunk.chunk_id] = word_tokens(chunk.text)
        shared = runs.longest(tokens[chunk.chunk_id])
        if shared >= needed:
            found.append((chunk, shared))
    return found


def _candidates(item: GoldenQuestion, chunks: Sequence[Chunk], by_document: dict[str, list[Chunk]]) -> list[Chunk]:
    if item.relevant_doc_ids:
        return [c for doc_id in dict.fromkeys(item.relevant_doc_ids) for c in by_document.get(doc_id, [])]
    return list(chunks)


def golden_relevance(golden: Sequence[GoldenQuestion], chunks: Sequence[Chunk]) -> GoldenRelevance:
    """Relevant chunks: in a relevant document (when ids are given) and overlapping the answer
    (when one is given). Relevant documents: the given ids, else those of the relevant chunks."""
    by_document: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_document.setdefault(chunk.doc_id, []).append(chunk)
    tokens: dict[str, list[str]] = {}
    relevant_chunks, relevant_documents, questions, unanswerable = [], [], [], []
    for item in golden:
        candidates = _candidates(item, chunks, by_document)
        if item.answer:
            candidates = [chunk for chunk, _ in answer_overlaps(item.answer, candidates, tokens)]
        if not candidates:
            unanswerable.append(item.question)
            continue
        questions.append(item.question)
        relevant_chunks.append({c.chunk_id for c in candidates})
        relevant_documents.append(set(item.relevant_doc_ids) or {c.doc_id for c in candidates})
    return GoldenRelevance(questions, relevant_chunks, relevant_documents, unanswerable)


def document_ranking(chunk_ranking: Sequence[str], doc_of: dict[str, str]) -> list[str]:
    """Documents in the order their first chunk appears."""
    return list(dict.fromkeys(doc_of[chunk_id] for chunk_id in chunk_ranking))


def best_answer_chunks(
    questions: Sequence[GoldenQuestion], chunks: Sequence[Chunk]
) -> list[tuple[GoldenQuestion, Chunk]]:
    """Each question with an answer, and the chunk that shares the longest passage with it (a
    training pair); questions no chunk answers are left out."""
    by_document: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_document.setdefault(chunk.doc_id, []).append(chunk)
    tokens: dict[str, list[str]] = {}
    matched = []
    for item in questions:
        if not item.answer:
            continue
        found = answer_overlaps(item.answer, _candidates(item, chunks, by_document), tokens)
        if found:
            matched.append((item, max(found, key=lambda pair: pair[1])[0]))
    return matched
