"""The LLM question path over real HTTP: the openai client and instructor against a scripted local server."""

import time
from pathlib import Path

import pytest

from rag_ft_pipeline.common.types import Chunk
from rag_ft_pipeline.questions.batch import Budget, generate_pairs
from rag_ft_pipeline.questions.cache import QuestionCache
from rag_ft_pipeline.questions.llm import LLMQuestionGenerator, LLMSettings
from rag_ft_pipeline_tests.helpers import chunks_of as chunks_by_id
from rag_ft_pipeline_tests.openai_server import OpenAICompatibleServer, Reply, passage_of

SECRET = "sk-test-secret-4f9a"


def chunks_of(*texts: str) -> list[Chunk]:
    return chunks_by_id({f"doc.md#{i}": text for i, text in enumerate(texts)})


PASSAGES = [f"Passage {i}: sponsors should keep shipment records for lot {i} for two years." for i in range(6)]


def ask(request, attempt):
    passage = passage_of(request)
    if "Table of contents" in passage:
        return Reply(questions=[])
    return Reply(questions=[f"Why keep records for {passage.split(':')[0].lower()}?"])


def generator(server, **settings) -> LLMQuestionGenerator:
    options = {"llm_model": "test-model", "max_retries": 2, "timeout_seconds": 5, **settings}
    return LLMQuestionGenerator(LLMSettings(**options), api_key=SECRET, base_url=server.base_url)


@pytest.mark.parametrize("mode", ["tools", "json"])
def test_questions_over_http_in_tools_and_json_mode(mode):
    with OpenAICompatibleServer(ask) as server:
        llm = generator(server, instructor_mode=mode)
        generation = llm.generate(PASSAGES[0])
        assert [p.query for p in generation.pairs] == ["Why keep records for passage 0?"]
        assert generation.pairs[0].positive == PASSAGES[0]
        assert (generation.prompt_tokens, generation.completion_tokens) == (50, 10)
        assert llm.generate("Table of contents\n1. Introduction").pairs == []  # nothing to ask: no pair
    first = server.requests[0]
    assert first["path"] == "/v1/chat/completions"
    assert first["headers"]["authorization"] == f"Bearer {SECRET}"
    assert first["body"]["model"] == "test-model"
    assert "regulatory guidance documents" in first["body"]["messages"][0]["content"]
    assert bool(first["body"].get("tools")) == (mode == "tools")


def test_questions_per_chunk_is_a_ceiling():
    many = lambda request, attempt: Reply(questions=["How one?", "How two?", "How three?"])  # noqa: E731
    with OpenAICompatibleServer(many) as server:
        assert len(generator(server, questions_per_chunk=2).generate(PASSAGES[0]).pairs) == 2


@pytest.mark.parametrize(
    "first_reply",
    [
        Reply(status=429, headers={"Retry-After": "1"}),
        Reply(status=500),
        Reply(delay=2.5),  # longer than the client's timeout
        Reply(arguments='{"questions": ["unterminated'),  # malformed JSON: instructor asks again
    ],
    ids=["429-retry-after", "500", "timeout", "malformed-json"],
)
def test_a_failed_first_attempt_is_retried(first_reply):
    script = lambda request, attempt: first_reply if attempt == 0 else ask(request, attempt)  # noqa: E731
    with OpenAICompatibleServer(script) as server:
        started = time.monotonic()
        generation = generator(server, timeout_seconds=1).generate(PASSAGES[1])
        elapsed = time.monotonic() - started
    assert [p.query for p in generation.pairs] == ["Why keep records for passage 1?"]
    assert len(server.requests) == 2
    if first_reply.status == 429:
        assert elapsed >= 0.9  # Retry-After was honoured


def test_a_chunk_failing_every_retry_is_recorded_and_the_others_go_on(tmp_path: Path):
    script = lambda request, attempt: Reply(status=500) if "Passage 2" in passage_of(request) else ask(request, attempt)  # noqa: E731
    with OpenAICompatibleServer(script) as server:
        rows, report = generate_pairs(
            chunks_of(*PASSAGES), generator(server, max_retries=1), QuestionCache(tmp_path / "c.sqlite")
        )
    assert len(rows) == 5 and report.generated == 5
    assert [f["chunk_id"] for f in report.failures] == ["doc.md#2"]
    assert "Error code: 500" in report.failures[0]["reason"]
    assert server.attempts[PASSAGES[2]] == 2  # the first try and one retry


def test_an_interrupted_run_resumes_without_asking_again(tmp_path: Path):
    chunks = chunks_of(*PASSAGES)
    cache = QuestionCache(tmp_path / "c.sqlite")

    def interrupt(done, total):
        if done >= 3:
            raise KeyboardInterrupt

    with OpenAICompatibleServer(ask) as server:
        with pytest.raises(KeyboardInterrupt):
            generate_pairs(chunks, generator(server, concurrency=1), cache, progress=interrupt)
        answered_first = set(server.passages_requested())
        server.requests.clear()
        rows, report = generate_pairs(chunks, generator(server, concurrency=1), cache)
    assert len(rows) == 6 and report.cache_hits == len(answered_first) >= 3
    assert not answered_first & set(server.passages_requested())  # zero repeat calls
    with OpenAICompatibleServer(ask) as server:
        _, rerun = generate_pairs(chunks, generator(server), cache)
    assert rerun.cache_hits == 6 and server.requests == []  # a rerun: 100% cache hits


def test_concurrent_requests_and_identical_chunks_asked_once(tmp_path: Path):
    slow = lambda request, attempt: Reply(questions=["How?"], delay=0.3)  # noqa: E731
    texts = [*PASSAGES, PASSAGES[0]]  # the same text twice
    with OpenAICompatibleServer(slow) as server:
        llm = generator(server, concurrency=6)
        rows, _ = generate_pairs(chunks_of(*texts), llm, QuestionCache(tmp_path / "c.sqlite"))
    assert len(server.requests) == 6 and len(rows) == 7  # identical texts asked once, answered for both
    assert server.max_in_flight > 1  # not one at a time


@pytest.mark.parametrize("budget", [Budget(max_chunks=2), Budget(max_cost_usd=0.5)])
def test_a_budget_stops_cleanly_keeping_what_was_generated(tmp_path: Path, budget):
    cache = QuestionCache(tmp_path / "c.sqlite")
    with OpenAICompatibleServer(ask) as server:
        # 60 tokens at these prices cost 0.3 USD a call: the cost budget allows two calls.
        llm = generator(server, concurrency=1, usd_per_million_input_tokens=5000, usd_per_million_output_tokens=5000)
        rows, report = generate_pairs(chunks_of(*PASSAGES), llm, cache, budget)
        assert len(server.requests) == 2 and len(rows) == 2
        assert report.skipped_for_budget == 4 and report.budget_reached
        assert report.cost_usd == pytest.approx(0.6)
        _, resumed = generate_pairs(chunks_of(*PASSAGES), llm, cache)
    assert resumed.cache_hits == 2 and resumed.generated == 4


def test_fingerprint_changes_with_settings_and_hides_the_key():
    def fingerprint(api_key: str = "sk-secret-1", **settings) -> str:
        return LLMQuestionGenerator(
            LLMSettings(llm_model="m", **settings), api_key, "http://127.0.0.1:9/v1"
        ).fingerprint()

    assert "sk-secret" not in fingerprint()
    assert fingerprint() == fingerprint(api_key="sk-other")
    assert fingerprint() != fingerprint(temperature=0.9)
    assert fingerprint() != fingerprint(domain="clinical trials")
    assert fingerprint() != fingerprint(instructor_mode="json")
