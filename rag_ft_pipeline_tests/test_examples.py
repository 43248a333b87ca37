"""The examples in examples/, run on what `rag-ft run` made of the sample: each framework, given the
model and the index as the example opens them, scores the golden hit@1 that `rag-ft evaluate` and
the report say."""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rag_ft_pipeline.defs.io_managers import ChunksIOManager
from rag_ft_pipeline.evaluation.golden import golden_relevance, load_golden_set
from rag_ft_pipeline.ingestion.discovery import document_ids
from rag_ft_pipeline_tests.helpers import EXAMPLES, SAMPLE_DOCS, SAMPLE_GOLDEN, rag_ft

pytestmark = pytest.mark.slow
QUESTION = "How long may a sponsor take to report a fatal unexpected reaction?"


def example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def golden(sample_run: Path):
    corpus = ChunksIOManager(artifacts_dir=str(sample_run / "artifacts")).corpus(document_ids(SAMPLE_DOCS))
    return golden_relevance(load_golden_set(SAMPLE_GOLDEN), corpus.chunks)


def hit_at_1(top_ids, golden) -> float:
    """The share of golden questions whose first result is a relevant chunk."""
    firsts = [(top_ids(q) or [None])[0] for q in golden.questions]
    return sum(first in relevant for first, relevant in zip(firsts, golden.chunks)) / len(golden.chunks)


def evaluated_hit_at_1(sample_run: Path, model: str) -> float:
    golden = ["--golden", str(SAMPLE_GOLDEN), "--no-eval-pairs", "--docs-dir", str(SAMPLE_DOCS)]
    done = rag_ft("evaluate", model, *golden, cwd=sample_run)
    assert done.returncode == 0, done.stderr[-2000:]
    return float(re.search(r"^hit@1\s+([\d.]+)", done.stdout, re.MULTILINE).group(1))  # golden (chunk) first


@pytest.mark.parametrize("label", ["finetuned", "base"])
def test_each_framework_scores_what_rag_ft_evaluate_says(sample_run: Path, golden, label: str):
    chroma = str(sample_run / "artifacts" / "chroma")
    model = next((sample_run / "artifacts" / "finetuned_model").glob("*/model")) if label == "finetuned" else "base"
    expected = evaluated_hit_at_1(sample_run, str(model))
    search = example("sentence_transformers_app").build(chroma, label)
    langchain = example("langchain_app").build(chroma, label, k=1)
    llamaindex = example("llamaindex_app").build(chroma, label, k=1)
    collection = example("chroma_app").build(chroma, label)
    top_ids = {
        "sentence-transformers": lambda q: [chunk_id for chunk_id, _ in search(q, 1)],
        "LangChain": lambda q: [document.id for document in langchain.invoke(q)],
        "LlamaIndex": lambda q: [hit.node.node_id for hit in llamaindex.retrieve(q)],
        "Chroma": lambda q: collection.query(query_texts=[q], n_results=1)["ids"][0],
    }
    for framework, ranked in top_ids.items():
        assert hit_at_1(ranked, golden) == pytest.approx(expected, abs=0.005), framework


def test_every_retriever_through_langchain_and_llamaindex_scores_what_the_report_says(sample_run: Path, golden):
    report = json.loads((sample_run / "artifacts" / "comparison" / "comparison.json").read_text())
    chroma = str(sample_run / "artifacts" / "chroma")
    for name in ["best", "finetuned", "base", "bm25", "hybrid_base", "hybrid_finetuned"]:
        expected = report["golden_chunk"]["metrics"][report["best_retriever"] if name == "best" else name]["hit@1"]
        langchain = example("langchain_app").build(chroma, name).invoke
        llamaindex = example("llamaindex_app").build(chroma, name).retrieve
        scored = {
            "LangChain": hit_at_1(lambda q, search=langchain: [d.id for d in search(q)], golden),
            "LlamaIndex": hit_at_1(lambda q, search=llamaindex: [h.node.node_id for h in search(q)], golden),
        }
        assert scored == pytest.approx({"LangChain": expected, "LlamaIndex": expected}, abs=0.005), name


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*_app.py")))
def test_each_example_answers_from_the_command_line(sample_run: Path, script: str):
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), QUESTION, str(sample_run / "artifacts" / "chroma")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "adverse_event_reporting_in_clinical_trials.md" in done.stdout.splitlines()[0], done.stdout


def test_the_readmes_snippet_runs_on_what_a_run_made(sample_run: Path):
    readme = (EXAMPLES.parent / "README.md").read_text()
    section = readme.split("## Use your model", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    done = subprocess.run([sys.executable, "-c", snippet], cwd=sample_run, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(done.stdout.splitlines()) == 3 and done.stdout.split()[0].endswith(".md"), done.stdout
