"""Each training option runs one short epoch on the real packaged model; the time budget bounds the
steps; a killed run resumes."""

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sentence_transformers import SentenceTransformer
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rag_ft_pipeline.ingestion.chunking import chunk_document
from rag_ft_pipeline.ingestion.conversion import convert_document
from rag_ft_pipeline.ingestion.discovery import find_documents
from rag_ft_pipeline.questions.inverse_cloze import InverseClozeGenerator
from rag_ft_pipeline.retrieval.embedding import BGE_QUERY_INSTRUCTION, NO_PROMPTS, Prompts, resolve_model_path
from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL
from rag_ft_pipeline.training.budget import CALIBRATION_STEPS
from rag_ft_pipeline.training.checkpoints import training_fingerprint
from rag_ft_pipeline.training.curves import curves_png
from rag_ft_pipeline.training.settings import TrainingSettings
from rag_ft_pipeline.training.trainer import column_prompts, train_model, training_dataset
from rag_ft_pipeline_tests.helpers import SAMPLE_DOCS

pytestmark = pytest.mark.slow
LOG = logging.getLogger("test_training")
MODEL = resolve_model_path(DEFAULT_BASE_MODEL)


@pytest.fixture(scope="module")
def pairs(count_tokens) -> pd.DataFrame:
    rows = []
    for doc in find_documents(SAMPLE_DOCS):
        for chunk in chunk_document(doc.doc_id, convert_document(doc.path, SAMPLE_DOCS)[0], 112, count_tokens):
            rows += [
                {
                    "chunk_id": chunk.chunk_id,
                    "doc_id": chunk.doc_id,
                    "query": p.query,
                    "positive": p.positive,
                    "text": chunk.text,
                }
                for p in InverseClozeGenerator().generate(chunk.text).pairs
            ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("options", "prompts"),
    [
        ({"batching": "shuffled"}, NO_PROMPTS),
        ({"hard_negatives": 1, "batching": "shuffled"}, NO_PROMPTS),
        ({"matryoshka_dims": [384, 128, 64]}, NO_PROMPTS),
        ({}, Prompts(BGE_QUERY_INSTRUCTION)),
        # E5's prompts: the passage prompt before positives and mined negatives alike.
        (
            {"batching": "by_document", "hard_negatives": 1, "precision": "bf16"},
            Prompts("query: ", "passage: "),
        ),
    ],
    ids=["shuffled", "hard_negatives", "matryoshka", "query_prompt", "by_document"],
)
def test_each_training_option_trains_a_loadable_model(tmp_path: Path, pairs: pd.DataFrame, options, prompts):
    train, validation = pairs.iloc[:24], pairs.iloc[24:30]
    corpus = dict(zip(pairs["chunk_id"], pairs["text"]))
    settings = TrainingSettings(epochs=1, batch_size=8, **{"precision": "fp32", **options})
    result = train_model(
        MODEL, train, validation, corpus, tmp_path / "ckpt", tmp_path / "run", settings, LOG, prompts=prompts
    )
    # Mining drops the pairs that have no negative in range; one epoch is every pair left, once.
    expected_pairs = range(1, 25) if options.get("hard_negatives") else range(24, 25)
    assert result.train_pairs in expected_pairs
    assert result.steps == max(1, result.train_pairs // 8) and result.resumed_from_step == 0
    assert result.plan.limited_by == "epochs" and result.plan.full_batch  # a batch of 8 fits in memory whole
    assert result.best_validation_ndcg is not None and 0 <= result.best_validation_ndcg <= 1
    assert not (tmp_path / "ckpt").exists()  # checkpoints are cleared once the model is saved
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["model"]  # no partial folder left beside it
    model = SentenceTransformer(str(result.model_path))
    assert model.encode(["a question"]).shape == (1, 384)
    # Saved, so that `encode_query` and `encode_document` put them before queries and passages.
    assert model.prompts == {"query": prompts.query or "", "document": prompts.passage or ""}
    if "matryoshka_dims" in options:
        assert model.encode(["a question"], truncate_dim=64).shape == (1, 64)


def test_a_batch_too_large_for_memory_is_embedded_in_mini_batches(tmp_path: Path, pairs: pd.DataFrame, monkeypatch):
    monkeypatch.setattr("rag_ft_pipeline.training.budget.MEMORY_SHARE", 0.0)  # as if no memory were free
    settings = TrainingSettings(epochs=1, batch_size=8, precision="fp32")
    result = train_model(MODEL, pairs.iloc[:16], pairs.iloc[:0], {}, tmp_path / "c", tmp_path / "r", settings, LOG)
    assert not result.plan.full_batch and result.steps == 2
    assert "CachedMultipleNegativesRankingLoss" in (result.model_path / "README.md").read_text()


def test_hard_negatives_are_mined_from_the_whole_corpus(pairs: pd.DataFrame, base_model):
    train = pairs.iloc[:24]
    # Chunks no training pair points to: only a corpus-wide search can find them.
    others = sorted(set(pairs["text"]) - set(pairs["positive"]))
    settings = TrainingSettings(hard_negatives=1)
    among_positives = training_dataset(base_model, train, settings, NO_PROMPTS, (), LOG)
    among_corpus = training_dataset(base_model, train, settings, NO_PROMPTS, others, LOG)
    assert set(among_positives["negative_1"]) <= set(train["positive"])
    assert len(set(among_corpus["negative_1"]) & set(others)) >= len(among_corpus) // 4
    assert set(among_corpus["positive"]) <= set(train["positive"])
    # Training puts the passage prompt before the mined negatives as before the positives.
    e5 = Prompts("query: ", "passage: ")
    assert column_prompts(e5, among_corpus.column_names) == {
        "anchor": "query: ",
        "positive": "passage: ",
        "negative_1": "passage: ",
    }
    assert column_prompts(Prompts(BGE_QUERY_INSTRUCTION), among_corpus.column_names) == {
        "anchor": BGE_QUERY_INSTRUCTION
    }
    assert column_prompts(NO_PROMPTS, among_corpus.column_names) is None


def test_budgets_bound_the_work(tmp_path: Path, pairs: pd.DataFrame):
    settings = TrainingSettings(epochs=3, batch_size=4, max_train_pairs=16, max_steps=2, precision="fp32")
    result = train_model(MODEL, pairs, pairs.iloc[:0], {}, tmp_path / "c", tmp_path / "r", settings, LOG)
    assert (result.train_pairs, result.steps, result.plan.limited_by) == (16, 2, "max_steps")
    # A budget of a few seconds: the first steps, timed as they train, decide the steps; the
    # learning rate still warms up and decays to zero over the steps planned.
    budget = TrainingSettings(epochs=3, batch_size=4, max_train_minutes=0.05, precision="fp32")
    timed = train_model(MODEL, pairs, pairs.iloc[:0], {}, tmp_path / "c2", tmp_path / "r2", budget, LOG)
    assert timed.plan.limited_by == "time budget" and timed.plan.seconds_per_step > 0
    assert timed.plan.steps == max(1, int(3 / timed.plan.seconds_per_step)) < timed.plan.steps_per_epoch * 3
    assert timed.steps == max(timed.plan.steps, CALIBRATION_STEPS + 1)  # no step is spent outside training
    # Planned for all epochs, the schedule would still be warming up when the budget stops it.
    rates = timed.curves["learning_rate"].dropna()
    assert len(rates) >= 2 and rates.iloc[-1] < rates.max()


RESUMABLE_TRAINING = """
import json, logging, sys
from pathlib import Path
import pandas as pd
from rag_ft_pipeline.training.settings import TrainingSettings
from rag_ft_pipeline.training.trainer import train_model
settings = TrainingSettings(**json.loads(sys.argv[1]))
pairs = pd.read_json(sys.argv[2])
result = train_model(sys.argv[3], pairs, pairs.iloc[:0], {}, Path(sys.argv[4]), Path(sys.argv[5]), settings,
                     logging.getLogger())
print(json.dumps({"steps": result.steps, "resumed_from_step": result.resumed_from_step}))
"""


def test_a_killed_training_resumes_from_its_last_checkpoint(tmp_path: Path, pairs: pd.DataFrame):
    data = tmp_path / "pairs.json"
    pairs.iloc[:40][["query", "positive", "doc_id"]].to_json(data)
    options = {"epochs": 1, "batch_size": 4, "checkpoint_every_steps": 2, "precision": "fp32"}
    checkpoints, run = tmp_path / "checkpoints", tmp_path / "run"
    first_key = training_fingerprint("m", TrainingSettings(**options), pairs)
    assert first_key == training_fingerprint("m", TrainingSettings(**options), pairs)
    args = [sys.executable, "-c", RESUMABLE_TRAINING, json.dumps(options), str(data), MODEL, str(checkpoints), str(run)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}

    first = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (checkpoints / "checkpoint-4" / "trainer_state.json").exists():  # two checkpoints written, mid-epoch
        assert first.poll() is None, "training ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert not (run / "model").exists()

    second = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    outcome = json.loads(second.stdout.strip().splitlines()[-1])
    assert outcome["resumed_from_step"] >= 4 and outcome["steps"] == 10  # 40 pairs / 4 per batch
    assert SentenceTransformer(str(run / "model")).encode(["x"]).shape == (1, 384)


def test_the_curves_are_recorded_and_handed_to_tensorboard(tmp_path: Path, pairs: pd.DataFrame):
    train, validation = pairs.iloc[:24], pairs.iloc[24:30]
    corpus = dict(zip(pairs["chunk_id"], pairs["text"]))
    settings = TrainingSettings(
        epochs=1, batch_size=4, checkpoint_every_steps=2, precision="fp32", report_to="tensorboard"
    )
    result = train_model(MODEL, train, validation, corpus, tmp_path / "ckpt", tmp_path / "run", settings, LOG)
    curves = result.curves
    assert curves["step"].tolist() == list(range(1, 7)) and curves["loss"].notna().all()  # 6 steps, each logged
    validated = curves.dropna(subset=["validation_ndcg@10"])
    assert validated["step"].tolist() == [2, 4, 6]  # at each checkpoint, the last one being the final model's
    assert validated["validation_ndcg@10"].iloc[-1] == pytest.approx(result.best_validation_ndcg)
    assert curves_png(curves)[:8] == b"\x89PNG\r\n\x1a\n"

    logdir = Path(result.tracker["tracker_run"])
    assert result.tracker["tracker"] == "tensorboard" and logdir == tmp_path / "run" / "tensorboard"
    assert result.tracker["open_with"] == f"tensorboard --logdir {logdir}"
    events = EventAccumulator(str(logdir))
    events.Reload()
    assert {"train/loss", "eval/validation_cosine_ndcg@10"} <= set(events.Tags()["scalars"])
    logged = [event.value for event in events.Scalars("train/loss")]
    assert logged == pytest.approx(curves["loss"].tolist(), rel=1e-5)
