from datasets import Dataset

from rag_ft_pipeline.training.batching import DocumentBatchSampler


def sampler(documents, texts, batch_size=4, seed=0):
    dataset = Dataset.from_dict({"anchor": [sorted(t)[0] for t in texts], "positive": [sorted(t)[-1] for t in texts]})
    return DocumentBatchSampler(dataset, batch_size, False, seed=seed, documents=documents, texts=texts)


def test_batches_keep_documents_together_and_cover_every_pair_once():
    documents = [f"doc{i % 3}" for i in range(24)]  # 8 pairs in each of 3 documents
    texts = [frozenset({f"q{i}", f"p{i}"}) for i in range(24)]
    batches = list(sampler(documents, texts))
    assert sorted(i for b in batches for i in b) == list(range(24))
    assert all(len({documents[i] for i in b}) == 1 for b in batches)  # 8 pairs a document, 4 a batch
    again = sampler(documents, texts)
    assert list(again) == batches  # seeded
    again.set_epoch(1)
    assert list(again) != batches and len(again) == 6


def test_a_text_never_appears_twice_in_a_batch():
    documents = ["a"] * 8
    texts = [frozenset({"shared passage", f"q{i}"}) if i < 4 else frozenset({f"p{i}", f"q{i}"}) for i in range(8)]
    for batch in sampler(documents, texts):
        shared = [i for i in batch if "shared passage" in texts[i]]
        assert len(shared) <= 1 or len(batch) <= 1
