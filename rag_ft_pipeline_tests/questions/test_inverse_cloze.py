from pathlib import Path

import pytest

from rag_ft_pipeline.ingestion.chunking import chunk_document
from rag_ft_pipeline.questions.batch import generate_pairs
from rag_ft_pipeline.questions.cache import QuestionCache
from rag_ft_pipeline.questions.generator import Generation, QuestionGenerator, QuestionPair
from rag_ft_pipeline.questions.inverse_cloze import InverseClozeGenerator

CHUNK = (
    "Stability Testing. "
    "Long-term studies should run at 25 °C and 60% relative humidity for at least twelve months before submission. "
    "Accelerated studies at 40 °C support the proposed shelf life when no significant change occurs within six months. "
    "See section 4."
)


def test_inverse_cloze_takes_the_lead_sentence_out_of_the_passage():
    [pair] = InverseClozeGenerator(keep_sentence_fraction=0.0).generate(CHUNK).pairs
    assert pair.query.startswith("Long-term studies should run")  # the heading is no query
    assert pair.query not in pair.positive
    assert "Stability Testing." in pair.positive and "Accelerated studies" in pair.positive
    assert InverseClozeGenerator(keep_sentence_fraction=0.0).generate(CHUNK).pairs == [pair]  # deterministic


def test_inverse_cloze_keeps_the_sentence_when_asked_or_when_nothing_else_is_left():
    [kept] = InverseClozeGenerator(keep_sentence_fraction=1.0).generate(CHUNK).pairs
    assert kept.query in kept.positive
    lone = "Sponsors should report unexpected serious adverse reactions to the agency within fifteen calendar days."
    [pair] = InverseClozeGenerator(keep_sentence_fraction=0.0).generate(lone).pairs
    assert pair.query == lone and pair.positive == lone


def test_inverse_cloze_asks_the_lead_not_the_wordiest_detail():
    lead = "Modular reviews are intended to be interactive in nature for every applicant."
    detail = (
        "The review team may ask for clarification or additional information by email, phone call, "
        "or informal teleconference during each module review, before issuing a deficiency letter."
    )
    [pair] = InverseClozeGenerator(keep_sentence_fraction=0.0).generate(f"{lead} {detail}").pairs
    assert pair.query == lead and pair.positive == detail


@pytest.mark.parametrize(
    "boilerplate",
    [
        "For questions about this document, contact the Office at 301-796-3400 or ocod@fda.hhs.gov.",
        "I. Introduction ........................................ 1\nII. Background ......... 3",
        "Contains Nonbinding Recommendations",
        "Table 1; 25 °C; 60%; 12; 24; 36",
    ],
)
def test_inverse_cloze_asks_nothing_of_boilerplate(boilerplate):
    assert InverseClozeGenerator().generate(boilerplate).pairs == []


class CountingGenerator(QuestionGenerator):
    name = "counting"

    def __init__(self, fail_on: str | None = None):
        self.calls = 0
        self.fail_on = fail_on

    def fingerprint(self) -> str:
        return "counting:v1"

    def generate(self, text: str) -> Generation:
        self.calls += 1
        if self.fail_on and self.fail_on in text:
            raise RuntimeError("server said no")
        return Generation(pairs=[QuestionPair(query=f"what about {text[:20]}?", positive=text)])


def test_generated_pairs_are_cached_and_failures_retried(tmp_path: Path, count_tokens):
    text = "\n\n".join(f"Paragraph {i} says the sponsor should record lot {i} of the batch." for i in range(6))
    chunks = chunk_document("doc.md", text, 16, count_tokens)
    assert len(chunks) == 6
    cache = QuestionCache(tmp_path / "cache.sqlite")
    failing = CountingGenerator(fail_on="Paragraph 3")
    rows, report = generate_pairs(chunks, failing, cache)
    assert (report.generated, report.cache_hits, len(rows)) == (5, 0, 5)
    assert report.failures == [{"chunk_id": "doc.md#3", "reason": "RuntimeError: server said no"}]
    cache.close()

    reopened = QuestionCache(tmp_path / "cache.sqlite")  # persisted across runs
    fixed = CountingGenerator()
    rows, report = generate_pairs(chunks, fixed, reopened)
    assert fixed.calls == 1 and report.cache_hits == 5 and len(rows) == 6  # only the failed chunk again
    again = CountingGenerator()
    _, report = generate_pairs(chunks, again, reopened)
    assert again.calls == 0 and report.cache_hits == 6


def test_offline_generator_yields_on_most_sample_chunks(count_tokens):
    from rag_ft_pipeline.ingestion.conversion import convert_document
    from rag_ft_pipeline.ingestion.discovery import find_documents
    from rag_ft_pipeline_tests.helpers import SAMPLE_DOCS

    chunks = [
        chunk
        for doc in find_documents(SAMPLE_DOCS)
        for chunk in chunk_document(doc.doc_id, convert_document(doc.path, SAMPLE_DOCS)[0], 112, count_tokens)
    ]
    generator = InverseClozeGenerator()
    with_question = [c for c in chunks if generator.generate(c.text).pairs]
    assert len(with_question) >= 0.7 * len(chunks)
