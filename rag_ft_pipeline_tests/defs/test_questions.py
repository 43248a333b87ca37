"""Questions a team already has join training, never evaluation; a golden question trained on fails the run."""

import json
from pathlib import Path

import dagster as dg
import pytest

from rag_ft_pipeline.defs import build_definitions
from rag_ft_pipeline.defs.runner import latest_metadata, materialize_pipeline, register_documents
from rag_ft_pipeline_tests.helpers import SAMPLE_DOCS, SAMPLE_GOLDEN, project_settings

pytestmark = pytest.mark.slow

UP_TO_THE_SPLIT = (
    dg.AssetSelection.assets("train_pairs").upstream() | dg.AssetSelection.assets("golden_questions")
).required_multi_asset_neighbors()


def split_with(
    tmp_path: Path,
    train: Path | None,
    golden: Path,
    instance: dg.DagsterInstance | None = None,
    selection: dg.AssetSelection = UP_TO_THE_SPLIT,
):
    settings = project_settings(SAMPLE_DOCS, tmp_path, golden_set=golden, train_questions=train)
    defs = build_definitions(settings)
    if instance is None:
        instance = dg.DagsterInstance.ephemeral()
        register_documents(settings, instance)
    return materialize_pipeline(defs, instance, selection, log_level="WARNING"), instance, defs


def test_human_questions_are_trained_on_and_never_evaluated(tmp_path: Path):
    lines = SAMPLE_GOLDEN.read_text().splitlines()
    train, golden = tmp_path / "faq.jsonl", tmp_path / "golden.jsonl"
    train.write_text("\n".join(lines[:12]) + "\n")
    golden.write_text("\n".join(lines[12:]) + "\n")
    result, instance, defs = split_with(tmp_path, train, golden)
    assert result.success
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["eval_pairs_held_out"].passed
    human = latest_metadata(instance, "human_question_pairs")
    assert human["questions"] == 12 and 0 < human["dagster/row_count"] <= 12
    by_generator = latest_metadata(instance, "train_pairs")["by_generator"]
    assert 0 < by_generator.get("human", 0) <= human["dagster/row_count"]  # unless its chunk is held out
    assert "human" not in latest_metadata(instance, "eval_pairs")["by_generator"]
    asked = {json.loads(line)["question"] for line in lines[:12]}
    eval_pairs = defs.load_asset_value("eval_pairs", instance=instance)
    assert not asked & set(eval_pairs["query"]) and asked & set(
        defs.load_asset_value("train_pairs", instance=instance)["query"]
    )


def test_a_golden_question_in_the_training_file_fails_the_leakage_check_before_training(tmp_path: Path):
    to_training = UP_TO_THE_SPLIT | dg.AssetSelection.assets("finetuned_model").upstream(depth=1)
    result, instance, _ = split_with(tmp_path, SAMPLE_GOLDEN, SAMPLE_GOLDEN, selection=to_training)
    check = next(c for c in result.get_asset_check_evaluations() if c.check_name == "eval_pairs_held_out")
    assert not check.passed and check.metadata["golden_questions_trained_on"].value > 0
    training = [e for e in instance.all_logs(result.run_id) if e.step_key == "finetuned_model"]
    assert any("Not executing" in e.user_message for e in training)  # planned, and held back
    assert not any(e.is_dagster_event and e.dagster_event.is_step_start for e in training)


def test_a_generated_question_that_is_a_golden_question_is_left_out(tmp_path: Path):
    """A generator's question can match a person's word for word (a rule-made "What is a premarket
    approval (PMA) application?" did on the FDA benchmark): such a pair is dropped, not trained on."""
    _, instance, defs = split_with(tmp_path, None, SAMPLE_GOLDEN)  # a first run, to learn a generated question
    pair = defs.load_asset_value("train_pairs", instance=instance).query("generator == 'inverse_cloze'").iloc[0]
    golden = tmp_path / "golden.jsonl"
    asked = {"question": pair["query"], "relevant_doc_ids": [pair["doc_id"]], "answer": pair["positive"]}
    golden.write_text(json.dumps(asked) + "\n")
    result, _, defs = split_with(tmp_path, None, golden, instance)
    assert result.success
    check = next(c for c in result.get_asset_check_evaluations() if c.check_name == "eval_pairs_held_out")
    assert check.passed and check.metadata["golden_questions_trained_on"].value == 0
    assert latest_metadata(instance, "train_pairs")["golden_questions_left_out"] == 1
    for name in ("train_pairs", "validation_pairs", "eval_pairs"):
        assert pair["query"] not in set(defs.load_asset_value(name, instance=instance)["query"])
