import pytest

from rag_ft_pipeline.retrieval.embedding import BGE_QUERY_INSTRUCTION, Prompts
from rag_ft_pipeline.training.settings import TrainingSettings


@pytest.mark.parametrize(
    ("query", "passage", "base_prompt", "expected"),
    [
        (None, None, None, Prompts("query: ", "passage: ")),  # a base model without prompts learns E5's
        (None, None, BGE_QUERY_INSTRUCTION, Prompts(BGE_QUERY_INSTRUCTION, None)),  # BGE keeps its own, passages bare
        ("", None, None, Prompts(None, None)),
        ("", "", BGE_QUERY_INSTRUCTION, Prompts(None, None)),
        ("query: ", "", None, Prompts("query: ", None)),
        (None, "passage: ", BGE_QUERY_INSTRUCTION, Prompts(BGE_QUERY_INSTRUCTION, "passage: ")),
        ("search_query: ", None, BGE_QUERY_INSTRUCTION, Prompts("search_query: ", None)),
    ],
)
def test_the_finetuned_models_prompts(query, passage, base_prompt, expected):
    assert TrainingSettings(query_prompt=query, passage_prompt=passage).prompts_for(base_prompt) == expected
