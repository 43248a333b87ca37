"""Overlapping writers and runs killed anywhere: the stores end up exactly as one clean run leaves them."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import chromadb
import dagster as dg
import pytest
from filelock import FileLock

from rag_ft_pipeline.common.hashing import storage_name
from rag_ft_pipeline.defs.runner import latest_metadata
from rag_ft_pipeline.ingestion.chunking import read_chunks
from rag_ft_pipeline.ingestion.conversion import convert_document
from rag_ft_pipeline.retrieval.vector_store import collection_name
from rag_ft_pipeline.retrieval.versions import IndexVersions
from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL
from rag_ft_pipeline_tests.helpers import copy_documents
from rag_ft_pipeline_tests.openai_server import OpenAICompatibleServer, Reply

pytestmark = pytest.mark.slow

RAG_FT = Path(sys.executable).with_name("rag-ft")
INDEX = "key:clean_markdown or key:chunks or key:base_index"


def start(tmp_path: Path, docs: Path, select: str, log: Path, **env: str) -> subprocess.Popen:
    """`rag-ft run` in its own process group, on the project under tmp_path, output to `log`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_HOME", "RAG_FT_", "OPENAI_"))}
    environment.update(RAG_FT_DOCS_DIR=str(docs), RAG_FT_ARTIFACTS_DIR=str(tmp_path / "artifacts"), **env)
    with log.open("w") as out:
        return subprocess.Popen(
            [str(RAG_FT), "run", "--select", select],
            cwd=tmp_path,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def finish(process: subprocess.Popen, log: Path, timeout: float = 900) -> str:
    assert process.wait(timeout=timeout) == 0, log.read_text()[-3000:]
    return log.read_text()


def kill_when(process: subprocess.Popen, condition, log: Path, timeout: float = 600) -> None:
    """SIGKILL the run's whole process group as soon as `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the run ended before it could be killed:\n{log.read_text()[-2000:]}"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def chunk_files(tmp_path: Path, docs: Path) -> dict[str, list]:
    return {
        p.name: read_chunks(tmp_path / "artifacts" / "chunks" / f"{storage_name(p.name)}.jsonl").chunks
        for p in sorted(docs.iterdir())
    }


def indexed(tmp_path: Path) -> list[str]:
    """The ids in the base index's published version (read once the writers are gone)."""
    client = chromadb.PersistentClient(
        str(tmp_path / "artifacts" / "chroma"), chromadb.Settings(anonymized_telemetry=False)
    )
    try:
        collection = IndexVersions(client, collection_name("base", DEFAULT_BASE_MODEL)).current()
        return collection.get(include=[])["ids"]
    finally:
        client.close()


def assert_index_holds_each_chunk_once(tmp_path: Path, docs: Path) -> None:
    ids = indexed(tmp_path)
    chunks = [c.chunk_id for doc in chunk_files(tmp_path, docs).values() for c in doc]
    assert len(ids) == len(set(ids)) == len(chunks) and set(ids) == set(chunks)


@pytest.fixture
def fda_docs(tmp_path: Path, fda_guidance_dir: Path) -> Path:
    return copy_documents(sorted(fda_guidance_dir.glob("*.md"))[20:32], tmp_path / "docs")


def test_two_overlapping_writers_leave_each_chunk_indexed_once(tmp_path: Path, fda_docs: Path):
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    # The store's writer lock is held here until one run waits for it and the other has its chunks
    # too, so that they surely overlap (left to chance, one can be done before the other starts);
    # then they write in turn (the second behind the lock, or behind the vector_store pool's slot).
    (tmp_path / "artifacts" / "chroma").mkdir(parents=True)
    with FileLock(tmp_path / "artifacts" / "chroma" / "rag_ft_writer.lock"):
        runs = [start(tmp_path, fda_docs, INDEX, log) for log in logs]

        def overlapping() -> bool:
            outputs = [log.read_text() for log in logs]
            return any("waiting for another process to finish writing the vector store" in o for o in outputs) and all(
                "chunking documents: 12/12" in o for o in outputs
            )

        deadline = time.monotonic() + 600
        while not overlapping():
            assert all(run.poll() is None for run in runs), [log.read_text()[-2000:] for log in logs]
            assert time.monotonic() < deadline, [log.read_text()[-2000:] for log in logs]
            time.sleep(1)
    for run, log in zip(runs, logs):
        finish(run, log)
    assert_index_holds_each_chunk_once(tmp_path, fda_docs)


def test_killed_while_converting_it_resumes_and_no_partial_file_counts(tmp_path: Path, fda_guidance_dir: Path):
    docs = copy_documents(sorted(fda_guidance_dir.glob("*.md"))[:40], tmp_path / "docs")
    status = tmp_path / "artifacts" / "clean_markdown" / "status.sqlite"

    def converting() -> bool:
        try:
            with sqlite3.connect(status, timeout=1) as db:
                return 5 <= db.execute("SELECT count(*) FROM status").fetchone()[0] < 40
        except sqlite3.Error:
            return False

    select = "key:clean_markdown or key:chunks"
    kill_when(start(tmp_path, docs, select, tmp_path / "killed.log"), converting, tmp_path / "killed.log")
    finish(start(tmp_path, docs, select, tmp_path / "again.log"), tmp_path / "again.log")
    clean = tmp_path / "artifacts" / "clean_markdown"
    assert not list(clean.glob(".*.tmp")) and not list((tmp_path / "artifacts" / "chunks").glob(".*.tmp"))
    for path in sorted(docs.iterdir()):  # every text whole: what a fresh conversion gives
        assert (clean / f"{storage_name(path.name)}.txt").read_text(encoding="utf-8") == convert_document(path, docs)[0]
    assert all(chunk_files(tmp_path, docs).values())


def test_killed_while_embedding_it_carries_on_and_never_duplicates(tmp_path: Path, fda_docs: Path):
    def part_embedded() -> bool:  # a first batch is stored and more are to come
        reports = re.findall(r"embedding chunks into \S+: (\d+)/(\d+)", (tmp_path / "killed.log").read_text())
        return any(int(done) < int(total) for done, total in reports)

    run = start(tmp_path, fda_docs, INDEX, tmp_path / "killed.log")
    kill_when(run, part_embedded, tmp_path / "killed.log")
    finish(start(tmp_path, fda_docs, INDEX, tmp_path / "again.log"), tmp_path / "again.log")
    assert_index_holds_each_chunk_once(tmp_path, fda_docs)
    with dg.DagsterInstance.from_config(str(tmp_path / "artifacts" / "dagster_home")) as instance:
        meta = latest_metadata(instance, "base_index")
    assert 0 < meta["encoded"] < meta["dagster/row_count"] == meta["added"]  # the killed run's embeddings were kept


def test_killed_while_asking_an_llm_no_stored_answer_is_paid_for_twice(tmp_path: Path, fda_guidance_dir: Path):
    docs = copy_documents(sorted(fda_guidance_dir.glob("*.md"))[20:22], tmp_path / "docs")
    cache = tmp_path / "artifacts" / "question_pairs" / "cache.sqlite"

    def stored() -> set[str]:
        try:
            with sqlite3.connect(cache, timeout=1) as db:
                return {row[0] for row in db.execute("SELECT content_hash FROM pairs")}
        except sqlite3.Error:
            return set()

    def slow(request, attempt):
        return Reply(questions=["What does this passage require of the manufacturer?"], delay=0.2)

    select = "key:clean_markdown or key:chunks or key:question_pairs"
    with OpenAICompatibleServer(slow) as server:
        llm = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.base_url}
        kill_when(
            start(tmp_path, docs, select, tmp_path / "killed.log", **llm),
            lambda: len(stored()) >= 10,
            tmp_path / "killed.log",
        )
        before = stored()
        asked_before = len(server.requests)
        finish(start(tmp_path, docs, select, tmp_path / "again.log", **llm), tmp_path / "again.log")
        asked_again = server.passages_requested()[asked_before:]
    with sqlite3.connect(cache) as db:
        rows = db.execute("SELECT content_hash, fingerprint, count(*) FROM pairs GROUP BY 1, 2").fetchall()
    assert rows and all(count == 1 for *_, count in rows)  # no duplicate answers
    texts = {c.content_hash: c.text for doc in chunk_files(tmp_path, docs).values() for c in doc}
    assert not {texts[h] for h in before} & set(asked_again)  # nothing stored was asked again
    assert {h for h, *_ in rows} == set(texts)  # and every chunk has its answer
