"""The `rag-ft` console script, run as a user would: in a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from rag_ft_pipeline_tests.helpers import SAMPLE_DOCS, SAMPLE_GOLDEN, copy_documents

RAG_FT = Path(sys.executable).with_name("rag-ft")


def rag_ft(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_HOME", "RAG_FT_"))}
    return subprocess.run([str(RAG_FT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


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
def test_search_and_evaluate_against_a_materialized_project(tmp_path: Path):
    missing = rag_ft("search", "anything", "--docs-dir", str(SAMPLE_DOCS), cwd=tmp_path)
    assert_one_line_error(missing, "nothing published yet: run `rag-ft run` first")

    run = rag_ft("run", "--docs-dir", str(SAMPLE_DOCS), "--golden-set", str(SAMPLE_GOLDEN), "--onnx", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "golden (chunk): 24 questions" in run.stdout and "fine-tuned vs base on your golden set: hit@1" in run.stdout
    assert "hybrid_finetuned" in run.stdout and "minus base (95% CI)" in run.stdout
    assert "ONNX int8 export of the" in run.stdout

    question = "How long may a sponsor take to report a fatal unexpected reaction?"
    best = json.loads((tmp_path / "artifacts" / "comparison" / "comparison.json").read_text())["best_retriever"]
    search = rag_ft("search", question, "-k", "3", "--docs-dir", str(SAMPLE_DOCS), cwd=tmp_path)
    assert search.returncode == 0, search.stderr[-3000:]
    assert f"| {best} (best)" in search.stdout  # what the comparison said to serve, by default
    assert "adverse_event_reporting_in_clinical_trials.md" in search.stdout.split("\n+")[2]  # first row of hits
    side = ["--retriever", "base", "--retriever", "hybrid_finetuned", "--retriever", "bm25"]
    compared = rag_ft("search", question, "-k", "3", *side, "--docs-dir", str(SAMPLE_DOCS), cwd=tmp_path)
    assert compared.returncode == 0, compared.stderr[-3000:]
    assert "| base " in compared.stdout and "| hybrid_finetuned " in compared.stdout and "| bm25 " in compared.stdout

    model = next((tmp_path / "artifacts" / "finetuned_model").glob("*/model"))
    evaluate = rag_ft(
        "evaluate", str(model), "--golden", str(SAMPLE_GOLDEN), "--docs-dir", str(SAMPLE_DOCS), cwd=tmp_path
    )
    assert evaluate.returncode == 0, evaluate.stderr[-3000:]
    assert "24 golden questions" in evaluate.stdout
    assert "eval pairs" in evaluate.stdout and "golden (document)" in evaluate.stdout and "ndcg@10" in evaluate.stdout
    onnx = next((tmp_path / "artifacts" / "onnx_model").glob("*/model_int8.onnx")).parent
    evaluate_onnx = rag_ft(
        "evaluate", str(onnx), "--golden", str(SAMPLE_GOLDEN), "--docs-dir", str(SAMPLE_DOCS), cwd=tmp_path
    )
    assert evaluate_onnx.returncode == 0, evaluate_onnx.stderr[-3000:]
    assert "24 golden questions" in evaluate_onnx.stdout and "golden (chunk)" in evaluate_onnx.stdout
    assert_one_line_error(
        rag_ft("evaluate", "no-such-model", "--docs-dir", str(SAMPLE_DOCS), cwd=tmp_path), "model not found"
    )
