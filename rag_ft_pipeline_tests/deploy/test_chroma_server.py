"""The vector store against a real Chroma server gives what the embedded store gives."""

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from rag_ft_pipeline.defs.resources import VectorStoreResource
from rag_ft_pipeline.evaluation.scoring import DenseRanker, evaluate_retriever
from rag_ft_pipeline.ingestion.chunking import chunk_document
from rag_ft_pipeline.questions.inverse_cloze import InverseClozeGenerator
from rag_ft_pipeline.retrieval.embedding import encode
from rag_ft_pipeline.retrieval.vector_store import sync_index
from rag_ft_pipeline_tests.helpers import SAMPLE_DOCS, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def chroma_port(tmp_path: Path) -> Iterator[int]:
    """A `chroma run` server on a free loopback port, stopped at teardown."""
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2):
                    break
            except OSError:
                assert process.poll() is None, "chroma run exited"
                assert time.monotonic() < deadline, "the Chroma server gave no heartbeat within 60 s"
                time.sleep(0.5)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_server_store_indexes_and_evaluates_like_the_embedded_one(
    tmp_path: Path, chroma_port: int, count_tokens, base_model
):
    model = base_model

    def encoder(texts):
        return encode(model, texts)

    chunks = [
        chunk
        for path in sorted(SAMPLE_DOCS.glob("*.md"))
        for chunk in chunk_document(path.name, path.read_text(encoding="utf-8"), 112, count_tokens)
    ]
    generator = InverseClozeGenerator()
    questions = pd.DataFrame(
        [
            {"query": pair.query, "chunk_id": chunk.chunk_id}
            for chunk in chunks
            for pair in generator.generate(chunk.text).pairs
        ]
    )
    assert len(chunks) > 20 and len(questions) > 20

    stores = {
        "embedded": VectorStoreResource(persist_dir=str(tmp_path / "embedded")),
        # persist_dir is where the embedded store would be; with a host it is never written.
        "server": VectorStoreResource(persist_dir=str(tmp_path / "unused"), host="127.0.0.1", port=chroma_port),
    }
    results = {}
    for name, store in stores.items():
        collection = store.collection("base-sample")
        update = sync_index(collection, chunks, encoder, batch_size=16)
        assert (update.added, update.unchanged) == (len(chunks), 0)
        # A second sync reads the stored hashes back (over HTTP for the server) and embeds nothing.
        assert sync_index(store.collection("base-sample"), chunks, encoder).unchanged == len(chunks)
        assert collection.count() == len(chunks)
        # As base_metrics does: the index's rankings, scored per question.
        results[name] = evaluate_retriever(
            name, DenseRanker(collection, encoder), questions, None, {c.chunk_id: c.doc_id for c in chunks}
        )
        store.close()
    assert not (tmp_path / "unused").exists()

    embedded, server = results["embedded"], results["server"]
    assert server.metrics == pytest.approx(embedded.metrics, abs=1e-12)
    pd.testing.assert_frame_equal(server.per_query, embedded.per_query)  # same rank and top hit for every question
    assert embedded.metrics["hit@10"] > 0.9
