"""Golden questions matched to chunks by answer overlap, scored at chunk and document level."""

import pandas as pd
import pytest

from rag_ft_pipeline.evaluation.golden import (
    GoldenSetError,
    answer_overlaps,
    best_answer_chunks,
    golden_relevance,
    load_golden_set,
)
from rag_ft_pipeline.evaluation.scoring import evaluate_retriever
from rag_ft_pipeline_tests.helpers import PASSAGES, chunks_of, write_jsonl

CHUNKS = chunks_of(PASSAGES)


def test_golden_set_relevance_by_document_and_answer_overlap(tmp_path):
    golden = load_golden_set(
        write_jsonl(
            tmp_path / "golden.jsonl",
            [
                {
                    "question": "How hot is a steam cycle?",
                    "relevant_doc_ids": ["steam.md"],
                    "answer": "The chamber is held at 121 degrees Celsius for fifteen minutes so that every spore in a "
                    "dense load is killed, and indicators confirm it.",
                },
                {"question": "Where do the indicators go?", "relevant_doc_ids": ["steam.md"]},
                {"question": "What type size?", "answer": "a minimum type size of six points"},
                {
                    "question": "Unanswerable?",
                    "answer": "nothing in this corpus says anything like this sentence at all",
                },
            ],
        )
    )
    relevance = golden_relevance(golden, CHUNKS)
    assert relevance.chunks == [{"steam.md#0"}, {"steam.md#0", "steam.md#1"}, {"labels.md#0"}]
    assert relevance.documents == [{"steam.md"}, {"steam.md"}, {"labels.md"}]
    assert relevance.unanswerable == ["Unanswerable?"]


def test_answer_overlap_rule():
    def overlaps(answer: str) -> bool:
        return bool(answer_overlaps(answer, CHUNKS[:1], {}))

    assert overlaps("hold the chamber at 121 degrees Celsius for fifteen minutes so that every spore")  # 13 words
    assert not overlaps(
        "the chamber at 121 degrees Celsius, then cooling for an hour before unloading the sterile load"
    )
    assert overlaps("fifteen minutes")  # a short answer: held in full


def test_a_training_question_is_paired_with_the_chunk_its_answer_overlaps_most(tmp_path):
    questions = load_golden_set(
        write_jsonl(
            tmp_path / "faq.jsonl",
            [
                {
                    "question": "Where go the indicators?",
                    "answer": "in the coldest spots of the load, found by temperature mapping before validation starts",
                },
                {
                    "question": "Nothing?",
                    "answer": "no chunk shares twelve consecutive words with this answer at all, none",
                },
                {"question": "Documents only?", "relevant_doc_ids": ["steam.md"]},
            ],
        )
    )
    assert [(q.question, c.chunk_id) for q, c in best_answer_chunks(questions, CHUNKS)] == [
        ("Where go the indicators?", "steam.md#1")
    ]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"question": "ok?", "answer": "fine"}\n{"question": "no target"}\n', "line 2: needs a question"),
        ('{"question": "ok?", "answer": "fine"}\nnot json\n', "line 2: not a question record (JSONDecodeError"),
        (
            '{"question": "q", "relevant_doc_ids": "a.md"}\n',
            "line 1: not a question record (TypeError: relevant_doc_ids",
        ),
        ('{"answer": "no question"}\n', "line 1: not a question record (KeyError"),
    ],
)
def test_golden_set_errors_name_the_file_line_and_problem(tmp_path, content, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(GoldenSetError, match=f"bad.jsonl, {problem}".replace("(", r"\(")):
        load_golden_set(path)
    with pytest.raises(GoldenSetError, match="no such file"):
        load_golden_set(tmp_path / "missing.jsonl")


def test_golden_scores_at_chunk_and_document_level(tmp_path):
    golden = golden_relevance(
        load_golden_set(
            write_jsonl(
                tmp_path / "g.jsonl",
                [
                    {
                        "question": "indicators",
                        "relevant_doc_ids": ["steam.md"],
                        "answer": "Biological indicators go in the coldest spots of the load",
                    }
                ],
            )
        ),
        CHUNKS,
    )
    rankings = {"indicators": ["steam.md#0", "labels.md#0", "steam.md#1"], "q": ["steam.md#0"]}
    eval_pairs = pd.DataFrame({"query": ["q"], "chunk_id": ["steam.md#0"]})
    result = evaluate_retriever(
        "fixed",
        lambda queries: [rankings[q] for q in queries],
        eval_pairs,
        golden,
        {c.chunk_id: c.doc_id for c in CHUNKS},
    )
    assert result.metrics["hit@1"] == 1.0
    assert result.golden["chunk"]["mrr@10"] == pytest.approx(1 / 3)  # the right chunk is third
    assert result.golden["chunk"]["hit@1"] == 0.0 and result.golden["chunk"]["hit@3"] == 1.0
    assert result.golden["document"]["mrr@10"] == 1.0  # but its document comes first
    assert result.golden_per_query["chunk"]["question"].tolist() == ["indicators"]
    assert result.golden_rankings == [rankings["indicators"]]
