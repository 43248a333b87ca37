"""Indexes published whole: readers never see a half-built version; a killed update is carried on."""

import hashlib
import statistics
import threading
import time

import chromadb
import numpy as np
import pytest

from rag_ft_pipeline.retrieval.search import IndexNotFoundError, search_index
from rag_ft_pipeline.retrieval.versions import IndexVersions
from rag_ft_pipeline_tests.helpers import chunks_of


def embed(texts) -> np.ndarray:
    """Deterministic unit vectors from the text's hash: these tests are about the store, not the model."""
    vectors = np.array(
        [np.random.default_rng(int(hashlib.sha1(t.encode()).hexdigest()[:8], 16)).normal(size=16) for t in texts]
    )
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def corpus(n: int, revision: int = 0, changed: int = 0):
    """`n` chunks; the first `changed` of them reworded in this revision."""
    return chunks_of(
        {f"d{i // 10}.md#{i % 10}": f"passage {i} revision {revision if i < changed else 0}" for i in range(n)}
    )


@pytest.fixture
def client(tmp_path):
    client = chromadb.PersistentClient(path=str(tmp_path), settings=chromadb.Settings(anonymized_telemetry=False))
    yield client
    client.close()


def test_updates_publish_whole_versions_and_embed_only_what_changed(client):
    index = IndexVersions(client, "base-model")
    with pytest.raises(IndexNotFoundError):
        search_index(client, "base-model", embed(["q"])[0], 3)
    embedded = []

    def encoder(texts):
        embedded.extend(texts)
        return embed(texts)

    first, update = index.update(corpus(50), encoder, batch_size=16)
    assert (first, update.added, len(embedded)) == ("base-model-v1", 50, 50)
    embedded.clear()
    second, update = index.update(corpus(60, revision=1, changed=5), encoder, batch_size=16)
    assert second == "base-model-v2" and index.current_name() == second
    assert (update.added, update.updated, update.unchanged, len(embedded)) == (10, 5, 45, 15)  # the rest is copied
    assert client.get_collection(second).count() == 60 and sorted(index.versions()) == [1, 2]  # v1 kept for readers
    same, nothing = index.update(corpus(60, revision=1, changed=5), encoder)
    assert same == second and nothing.embedded == 0 and sorted(index.versions()) == [1, 2]
    third, _ = index.update(corpus(40), encoder)
    assert third == "base-model-v3" and sorted(index.versions()) == [2, 3]  # older than the last replaced: gone
    hits = search_index(client, "base-model", embed(["passage 7 revision 0"])[0], 3)
    assert hits[0].chunk_id == "d0.md#7" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert index.drop() and index.versions() == {} and index.current_name() is None


def test_an_update_killed_half_way_is_carried_on_and_never_served(client):
    index = IndexVersions(client, "base-model")
    index.update(corpus(30), embed)
    calls = []

    def dies_on_the_second_batch(texts):
        calls.append(len(texts))
        if len(calls) == 2:
            raise KeyboardInterrupt  # as a kill would stop it, mid-update
        return embed(texts)

    with pytest.raises(KeyboardInterrupt):
        index.update(corpus(30, revision=1, changed=30), dies_on_the_second_batch, batch_size=10)
    assert index.current_name() == "base-model-v1"  # readers still get the complete old version
    assert client.get_collection("base-model-v2").count() == 10  # one batch of the next version written
    embedded = []

    def encoder(texts):
        embedded.extend(texts)
        return embed(texts)

    name, _ = index.update(corpus(30, revision=1, changed=30), encoder, batch_size=10)
    assert name == "base-model-v2" and len(embedded) == 20  # the first batch is not embedded again
    stored = client.get_collection(name).get(include=["documents"])
    assert sorted(stored["ids"]) == sorted(c.chunk_id for c in corpus(30)) and len(stored["ids"]) == 30
    assert all("revision 1" in text for text in stored["documents"])


def test_twenty_readers_during_an_update_always_search_a_complete_version(client):
    old, new = corpus(600), corpus(800, revision=1, changed=200)
    index = IndexVersions(client, "base-model")
    index.update(old, embed)
    ids = {c.chunk_id for c in new}
    counts, latencies, errors = [], [], []
    writing = threading.Event()

    def slow_encoder(texts):
        time.sleep(0.05)  # an update that takes a while, as embedding does
        return embed(texts)

    def writer():
        writing.set()
        index.update(new, slow_encoder, batch_size=20)
        writing.clear()

    def reader(seed: int):
        rng = np.random.default_rng(seed)
        while writing.is_set() or not counts:
            started = time.perf_counter()
            try:
                collection = index.current()
                counts.append(collection.count())
                hits = search_index(client, "base-model", embed([f"question {rng.integers(1000)}"])[0], 5)
                assert len(hits) == 5 and {h.chunk_id for h in hits} <= ids
            except Exception as error:  # every failure is recorded, none may happen
                errors.append(repr(error))
            latencies.append(time.perf_counter() - started)

    thread = threading.Thread(target=writer)
    thread.start()
    writing.wait()
    readers = [threading.Thread(target=reader, args=(seed,)) for seed in range(20)]
    for r in readers:
        r.start()
    thread.join()
    for r in readers:
        r.join()
    assert not errors, errors[:3]
    assert set(counts) <= {600, 800} and 600 in counts and len(counts) > 100
    assert statistics.quantiles(latencies, n=20)[18] < 5.0  # p95, generous: this is about errors, not speed
