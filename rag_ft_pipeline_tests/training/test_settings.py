import pytest
from pydantic import ValidationError

from rag_ft_pipeline.defs.finetuned_model import TrainingConfig
from rag_ft_pipeline.retrieval.embedding import BGE_QUERY_INSTRUCTION
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
    ("setting", "base_prompt", "expected"),
    [
        (None, None, None),
        (None, BGE_QUERY_INSTRUCTION, BGE_QUERY_INSTRUCTION),  # the base model's, by default
        ("query: ", None, "query: "),  # a base model without one learns it
        ("", None, None),
        ("", BGE_QUERY_INSTRUCTION, None),
        ("search_query: ", BGE_QUERY_INSTRUCTION, "search_query: "),
    ],
)
def test_the_finetuned_models_query_prompt(setting, base_prompt, expected):
    assert TrainingSettings(query_prompt=setting).query_prompt_for(base_prompt) == expected
