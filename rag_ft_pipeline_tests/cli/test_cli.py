"""The `rag-ft` console script, run as a user would: in a subprocess."""

import json
import subprocess
from pathlib import Path

import dagster as dg
import pytest
import yaml

from rag_ft_pipeline.cli.run_config import check_run_config, load_run_config
from rag_ft_pipeline.defs import build_definitions
from rag_ft_pipeline.defs.runner import latest_metadata
from rag_ft_pipeline_tests.helpers import (
    EXAMPLES,
    SAMPLE_DOCS,
    SAMPLE_GOLDEN,
    copy_documents,
    project_settings,
    rag_ft,
)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def assert_one_line_error(done: subprocess.CompletedProcess, *phrases: str) -> None:
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    for phrase in phrases:
        assert phrase in done.stderr, done.stderr


def test_missing_empty_or_file_documents_folder_is_a_one_line_error(tmp_path: Path):
    assert_one_line_error(
        rag_ft("run", "--docs-dir", str(tmp_path / "nowhere"), cwd=tmp_path), "documents folder not found"
    )
    (tmp_path / "empty").mkdir()
    assert_one_line_error(rag_ft("run", "--docs-dir", str(tmp_path / "empty"), cwd=tmp_path), "no documents")
    (tmp_path / "notes.md").write_text("a file")
    assert_one_line_error(
        rag_ft("run", "--docs-dir", str(tmp_path / "notes.md"), cwd=tmp_path), "is a file, not a folder"
    )


def test_bad_input_at_the_front_door_is_one_line_and_exit_code_2(tmp_path: Path):
    docs = copy_documents(sorted(SAMPLE_DOCS.glob("*.md"))[:1], tmp_path / "docs")
    unknown = rag_ft("run", "--docs-dir", str(docs), "--select", "key:nope", cwd=tmp_path)
    assert_one_line_error(unknown, "matches no asset", "chunks", "Groups:", "questions")
    bad_group = rag_ft("run", "--docs-dir", str(docs), "--select", "group:nope", cwd=tmp_path)
    assert_one_line_error(bad_group, "matches no asset")
    golden = tmp_path / "golden.jsonl"
    golden.write_text('{"question": "fine?", "answer": "yes"}\n{"question": 3}\n')
    assert_one_line_error(
        rag_ft("run", "--docs-dir", str(docs), "--golden-set", str(golden), cwd=tmp_path), "golden.jsonl, line 2"
    )
    model = rag_ft("run", "--docs-dir", str(docs), "--base-model", "no-such-org/no-such-model", cwd=tmp_path)
    assert_one_line_error(model, "'no-such-org/no-such-model' cannot be loaded", "local", "HF_HUB_OFFLINE")
    assert not (tmp_path / "artifacts" / "chunks").exists()  # refused before any work


def test_a_failed_run_names_the_asset_and_its_error(tmp_path: Path):
    docs = copy_documents(sorted(SAMPLE_DOCS.glob("*.md"))[:1], tmp_path / "docs")
    failed = rag_ft("run", "--docs-dir", str(docs), "--select", "key:train_pairs", cwd=tmp_path)  # nothing upstream yet
    assert failed.returncode == 1
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("rag-ft: run ") and "split_question_pairs failed: " in last, failed.stderr[-2000:]


def test_run_registers_documents_in_its_own_persistent_dagster_home(tmp_path: Path):
    docs = copy_documents(sorted(SAMPLE_DOCS.glob("*.md"))[:2], tmp_path / "my docs")
    first = rag_ft("run", "--docs-dir", str(docs), "--select", "key:clean_markdown or key:chunks", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "2 documents" in first.stdout
    assert len(list((tmp_path / "artifacts" / "chunks").glob("*.jsonl"))) == 2

    removed = sorted(docs.iterdir())[0]
    removed.unlink()
    second = rag_ft("run", "--docs-dir", str(docs), "--select", "key:clean_markdown", cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    home = tmp_path / "artifacts" / "dagster_home"
    assert "max_concurrent_runs" in (home / "dagster.yaml").read_text()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_dynamic_partitions("documents") == [sorted(p.name for p in docs.iterdir())[0]]
        assert len(instance.get_runs()) == 2


@pytest.mark.slow
def test_search_and_evaluate_against_a_materialized_project(tmp_path: Path, sample_run: Path):
    missing = rag_ft("search", "anything", "--docs-dir", str(SAMPLE_DOCS), cwd=tmp_path)
    assert_one_line_error(missing, "nothing published yet: run `rag-ft run` first")

    run = (sample_run / "stdout.txt").read_text()
    assert "golden (chunk): 24 questions" in run and "fine-tuned vs base on your golden set: hit@1" in run
    assert "hybrid_finetuned" in run and "minus base (95% CI)" in run and "ONNX int8 export of the" in run
    assert run.count("best retriever by ndcg@10") == 1  # the report is printed once
    with dg.DagsterInstance.from_config(str(sample_run / "artifacts" / "dagster_home")) as instance:
        trained = latest_metadata(instance, "finetuned_model")  # examples/offline.yaml's settings
        assert trained["max_train_minutes"] == 40 and trained["budget_minutes"] == 40
        assert latest_metadata(instance, "train_pairs")["split_by"] == "document"

    question = "How long may a sponsor take to report a fatal unexpected reaction?"
    best = json.loads((sample_run / "artifacts" / "comparison" / "comparison.json").read_text())["best_retriever"]
    search = rag_ft("search", question, "-k", "3", "--docs-dir", str(SAMPLE_DOCS), cwd=sample_run)
    assert search.returncode == 0, search.stderr[-3000:]
    assert f"| {best} (best)" in search.stdout  # what the comparison said to serve, by default
    assert "adverse_event_reporting_in_clinical_trials.md" in search.stdout.split("\n+")[2]  # first row of hits
    side = ["--retriever", "base", "--retriever", "hybrid_finetuned", "--retriever", "bm25"]
    compared = rag_ft("search", question, "-k", "3", *side, "--docs-dir", str(SAMPLE_DOCS), cwd=sample_run)
    assert compared.returncode == 0, compared.stderr[-3000:]
    assert "| base " in compared.stdout and "| hybrid_finetuned " in compared.stdout and "| bm25 " in compared.stdout

    model = next((sample_run / "artifacts" / "finetuned_model").glob("*/model"))
    evaluate = rag_ft(
        "evaluate", str(model), "--golden", str(SAMPLE_GOLDEN), "--docs-dir", str(SAMPLE_DOCS), cwd=sample_run
    )
    assert evaluate.returncode == 0, evaluate.stderr[-3000:]
    assert "24 golden questions" in evaluate.stdout
    assert "eval pairs" in evaluate.stdout and "golden (document)" in evaluate.stdout and "ndcg@10" in evaluate.stdout
    onnx = next((sample_run / "artifacts" / "onnx_model").glob("*/model_int8.onnx")).parent
    evaluate_onnx = rag_ft(
        "evaluate", str(onnx), "--golden", str(SAMPLE_GOLDEN), "--docs-dir", str(SAMPLE_DOCS), cwd=sample_run
    )
    assert evaluate_onnx.returncode == 0, evaluate_onnx.stderr[-3000:]
    assert "24 golden questions" in evaluate_onnx.stdout and "golden (chunk)" in evaluate_onnx.stdout
    assert_one_line_error(
        rag_ft("evaluate", "no-such-model", "--docs-dir", str(SAMPLE_DOCS), cwd=sample_run), "model not found"
    )


def test_run_config_files_are_checked_whole_before_any_work(tmp_path: Path):
    docs = copy_documents(sorted(SAMPLE_DOCS.glob("*.md"))[:1], tmp_path / "docs")
    defaults = rag_ft("config", "--docs-dir", str(docs), cwd=tmp_path)
    assert defaults.returncode == 0, defaults.stderr[-2000:]
    printed = yaml.safe_load(defaults.stdout)
    assert printed["ops"]["finetuned_model"]["config"]["batch_size"] == 128
    assert "# Wall-clock budget" in defaults.stdout and "api_key" not in defaults.stdout
    defs = build_definitions(project_settings(docs, tmp_path))
    for path in [*sorted(EXAMPLES.glob("*.yaml")), write(tmp_path / "defaults.yaml", defaults.stdout)]:
        check_run_config(defs, load_run_config(path), path)  # every quickstart, and the defaults, as given

    cases = {
        "ops:\n  finetuned_model:\n    config:\n      max_train_minuts: 3\n": (
            'unexpected config entry "max_train_minuts"',
            "valid keys: batch_size",
        ),
        "ops:\n  finetuned_model:\n    config:\n      max_train_minutes: -3\n": (
            "ops.finetuned_model.config.max_train_minutes: Input should be greater than 0",
        ),
        "resources:\n  question_generator:\n    config:\n      instructor_mode: xml\n": ("instructor_mode",),
        "ops: [1\n": ("bad.yaml, line 2: not YAML",),
    }
    for text, phrases in cases.items():
        bad = write(tmp_path / "bad.yaml", text)
        assert_one_line_error(rag_ft("run", "--docs-dir", str(docs), "--config", str(bad), cwd=tmp_path), *phrases)
    assert not (tmp_path / "artifacts" / "chunks").exists()  # refused before any work


def test_a_run_config_sets_assets_and_resources(tmp_path: Path):
    docs = copy_documents(sorted(SAMPLE_DOCS.glob("*.md"))[:1], tmp_path / "docs")
    config = write(
        tmp_path / "run.yaml",
        "ops:\n  chunks:\n    config:\n      max_tokens: 64\n  finetuned_model:\n    config:\n      epochs: 1\n"
        "resources:\n  question_generator:\n    config:\n      generator: offline\n      domain: aviation\n",
    )
    selection = "key:clean_markdown or key:chunks or key:question_pairs"  # finetuned_model's config is left out
    done = rag_ft("run", "--docs-dir", str(docs), "--select", selection, "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(tmp_path / "artifacts" / "dagster_home")) as instance:
        assert latest_metadata(instance, "chunks")["max_tokens"] == 64
        assert latest_metadata(instance, "chunks")["tokens_max"] <= 64
        assert latest_metadata(instance, "question_pairs")["generator_settings"]["domain"] == "aviation"
