import pytest

from rag_ft_pipeline.llm_questions import LLMQuestionGenerator
from rag_ft_pipeline.resources import QuestionGeneratorResource
from rag_ft_pipeline_tests.openai_server import OpenAICompatibleServer

PASSAGE = "Sponsors should report unexpected serious adverse reactions within fifteen calendar days of learning of them."


def answer(request):
    passage = request["messages"][-1]["content"]
    return None if "Table of contents" in passage else "Why must sponsors report unexpected serious reactions quickly?"


@pytest.mark.parametrize("mode", ["tools", "json"])
def test_llm_generator_over_http(mode):
    with OpenAICompatibleServer(answer) as server:
        generator = LLMQuestionGenerator(model="test-model", api_key="sk-test-secret", base_url=server.base_url, mode=mode)
        [pair] = generator.generate(PASSAGE)
        assert pair.query == "Why must sponsors report unexpected serious reactions quickly?"
        assert pair.positive == PASSAGE
        assert generator.generate("Table of contents\n1. Introduction") == []  # a null answer: no pair
    first = server.requests[0]
    assert first["path"] == "/v1/chat/completions"
    assert first["headers"]["authorization"] == "Bearer sk-test-secret"
    assert first["body"]["model"] == "test-model"
    assert "regulatory guidance documents" in first["body"]["messages"][0]["content"]
    assert bool(first["body"].get("tools")) == (mode == "tools")


def test_fingerprint_changes_with_settings_and_hides_the_key():
    base = dict(model="m", api_key="sk-secret-1", base_url="http://127.0.0.1:9/v1")
    fingerprint = LLMQuestionGenerator(**base).fingerprint()
    assert "sk-secret" not in fingerprint
    assert fingerprint == LLMQuestionGenerator(**{**base, "api_key": "sk-other"}).fingerprint()
    assert fingerprint != LLMQuestionGenerator(**base, temperature=0.9).fingerprint()
    assert fingerprint != LLMQuestionGenerator(**base, domain="clinical trials").fingerprint()


def test_resource_chooses_the_llm_only_with_a_key():
    assert QuestionGeneratorResource().build().name == "inverse_cloze"
    assert QuestionGeneratorResource(api_key="sk-x", base_url="http://127.0.0.1:9/v1").build().name == "llm"
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        QuestionGeneratorResource(generator="llm").build()
