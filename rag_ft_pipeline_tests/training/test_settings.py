import pytest
from pydantic import ValidationError

from rag_ft_pipeline.defs.finetuned_model import TrainingConfig
from rag_ft_pipeline.retrieval.embedding import BGE_QUERY_INSTRUCTION, Prompts
from rag_ft_pipeline.training.settings import TrainingSettings


@pytest.mark.parametrize("settings", [TrainingSettings, TrainingConfig])
def test_a_mining_window_too_narrow_for_its_negatives_is_refused_before_any_work(settings):
    with pytest.raises(ValidationError, match="hard_negative_range_max \\(12\\) leaves no room for 3 negative"):
        settings(hard_negatives=3, hard_negative_range_min=10, hard_negative_range_max=12)
    assert settings(hard_negatives=2, hard_negative_range_min=10, hard_negative_range_max=12).hard_negatives == 2
    assert settings(hard_negative_range_max=1).hard_negatives == 0  # no mining: the window is not used


@pytest.mark.parametrize("settings", [TrainingSettings, TrainingConfig])
def test_loss_variants_that_gist_does_not_have_are_refused(settings):
    with pytest.raises(ValidationError, match="not cached_gist"):
        settings(loss="cached_gist", hardness_strength=9.0)
    with pytest.raises(ValidationError, match="not cached_gist"):
        settings(loss="cached_gist", loss_directions="all")
    assert settings(loss="cached_mnrl", loss_directions="all").loss_directions == "all"


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
