"""The `rag-ft` console script, run as a user would: in a subprocess."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from rag_ft_pipeline_tests.conftest import SAMPLE_DOCS

RAG_FT = Path(sys.executable).with_name("rag-ft")


def rag_ft(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_HOME", "RAG_FT_"))}
    return subprocess.run([str(RAG_FT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_missing_or_empty_documents_folder_is_a_one_line_error(tmp_path: Path):
    missing = rag_ft("run", "--docs-dir", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "documents folder not found" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = rag_ft("run", "--docs-dir", str(tmp_path / "empty"), cwd=tmp_path)
    assert empty.returncode == 2 and "no documents" in empty.stderr and "Traceback" not in empty.stderr


def test_run_registers_documents_in_its_own_persistent_dagster_home(tmp_path: Path):
    docs = tmp_path / "my docs"
    docs.mkdir()
    for path in sorted(SAMPLE_DOCS.glob("*.md"))[:2]:
        shutil.copy(path, docs / path.name)
    first = rag_ft("run", "--docs-dir", str(docs), "--select", "key:clean_markdown or key:chunks", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "2 documents" in first.stdout
    assert len(list((tmp_path / "artifacts" / "chunks").glob("*.jsonl"))) == 2

    removed = sorted(docs.iterdir())[0]
    removed.unlink()
    second = rag_ft("run", "--docs-dir", str(docs), "--select", "key:clean_markdown", cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    home = tmp_path / "artifacts" / "dagster_home"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_dynamic_partitions("documents") == [sorted(p.name for p in docs.iterdir())[0]]
        assert len(instance.get_runs()) == 2


@pytest.mark.slow
def test_search_and_evaluate_against_a_materialized_project(tmp_path: Path):
    missing = rag_ft("search", "anything", "--docs-dir", str(SAMPLE_DOCS), cwd=tmp_path)
    assert missing.returncode == 2 and "no base_index yet: run `rag-ft run`" in missing.stderr

    golden = SAMPLE_DOCS.parent / "sample_golden.jsonl"
    run = rag_ft("run", "--docs-dir", str(SAMPLE_DOCS), "--golden-set", str(golden), "--onnx", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Golden set (human-written questions)" in run.stdout and "best by NDCG@10" in run.stdout
    assert "ONNX int8 export of the" in run.stdout and "| recall@10" in run.stdout

    search = rag_ft("search", "How long may a sponsor take to report a fatal unexpected reaction?", "-k", "3",
                    "--docs-dir", str(SAMPLE_DOCS), cwd=tmp_path)
    assert search.returncode == 0, search.stderr[-3000:]
    assert "| base" in search.stdout and "| fine-tuned" in search.stdout
    assert "adverse_event_reporting_in_clinical_trials.md" in search.stdout.split("\n+")[2]  # first row of hits

    model = next((tmp_path / "artifacts" / "finetuned_model").glob("*/model"))
    evaluate = rag_ft("evaluate", str(model), "--golden", str(golden), "--docs-dir", str(SAMPLE_DOCS), cwd=tmp_path)
    assert evaluate.returncode == 0, evaluate.stderr[-3000:]
    assert "24 golden questions" in evaluate.stdout
    assert "eval pairs" in evaluate.stdout and "golden (document)" in evaluate.stdout and "ndcg@10" in evaluate.stdout
    onnx = next((tmp_path / "artifacts" / "onnx_model").glob("*/model_int8.onnx")).parent
    evaluate_onnx = rag_ft("evaluate", str(onnx), "--golden", str(golden), "--docs-dir", str(SAMPLE_DOCS), cwd=tmp_path)
    assert evaluate_onnx.returncode == 0, evaluate_onnx.stderr[-3000:]
    assert "24 golden questions" in evaluate_onnx.stdout and "golden (chunk)" in evaluate_onnx.stdout
    nowhere = rag_ft("evaluate", "no-such-model", "--docs-dir", str(SAMPLE_DOCS), cwd=tmp_path)
    assert nowhere.returncode == 2 and "model not found: no-such-model" in nowhere.stderr
