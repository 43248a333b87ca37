"""A golden set: questions written by people, with the documents and/or answer text that are right."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag_ft_pipeline.chunking import Chunk
from rag_ft_pipeline.question_filters import longest_shared_word_run

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


def load_golden_set(path: Path) -> list[GoldenQuestion]:
    """JSON lines of {"question": ..., "relevant_doc_ids": [...], "answer": ...}; either of the last
    two may be absent, not both. Errors name the file and line."""
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            question = GoldenQuestion(
                question=record["question"].strip(),
                relevant_doc_ids=tuple(record.get("relevant_doc_ids") or ()),
                answer=(record.get("answer") or "").strip() or None,
            )
        except (json.JSONDecodeError, KeyError, AttributeError, TypeError) as error:
            raise ValueError(f"{path}, line {number}: not a golden question ({error})") from error
        if not question.question or not (question.relevant_doc_ids or question.answer):
            raise ValueError(f"{path}, line {number}: needs a question and relevant_doc_ids or an answer")
        questions.append(question)
    return questions


def answer_overlaps(chunk_text: str, answer: str) -> bool:
    """Human answers often span more than one chunk, so a chunk is relevant when it shares a
    passage of at least MIN_SHARED_WORDS consecutive words with the answer, or, for a shorter
    answer, holds all of it."""
    answer_words = len(answer.split())
    needed = min(MIN_SHARED_WORDS, answer_words)
    return longest_shared_word_run(chunk_text, answer) >= needed


def golden_relevance(golden: Sequence[GoldenQuestion], chunks: Sequence[Chunk]) -> GoldenRelevance:
    """Relevant chunks: in a relevant document (when ids are given) and overlapping the answer
    (when one is given). Relevant documents: the given ids, else those of the relevant chunks."""
    relevant_chunks, relevant_documents, questions, unanswerable = [], [], [], []
    for item in golden:
        candidates = [c for c in chunks if not item.relevant_doc_ids or c.doc_id in item.relevant_doc_ids]
        if item.answer:
            candidates = [c for c in candidates if answer_overlaps(c.text, item.answer)]
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
