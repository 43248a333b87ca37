"""Batches drawn from one document at a time, so that MultipleNegativesRankingLoss's in-batch
negatives are passages about the same subject: the distinctions retrieval fails on most."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from datasets import Dataset
from sentence_transformers.base.sampler import DefaultBatchSampler


class DocumentBatchSampler(DefaultBatchSampler):
    """Each epoch: documents in a seeded random order, each document's pairs shuffled and laid end
    to end, cut into batches (so a batch spans one or two documents), and the batches shuffled.
    A pair whose query or passage is already in the batch waits for the next one, as with the
    no-duplicates sampler: a text in a batch twice would be its own negative."""

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        drop_last: bool,
        valid_label_columns: list[str] | None = None,
        generator=None,
        seed: int = 0,
        *,
        documents: Sequence[str],
        texts: Sequence[frozenset[str]],
    ) -> None:
        super().__init__(dataset, batch_size, drop_last, valid_label_columns, generator, seed)
        if len(documents) != len(dataset) or len(texts) != len(dataset):
            raise ValueError("one document and one set of texts per pair")
        self.documents, self.texts, self.epoch = list(documents), list(texts), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[list[int]]:
        rng = random.Random(self.seed + self.epoch)
        by_document: dict[str, list[int]] = {}
        for index, document in enumerate(self.documents):
            by_document.setdefault(document, []).append(index)
        order = list(by_document)
        rng.shuffle(order)
        stream: list[int] = []
        for document in order:
            indices = by_document[document]
            rng.shuffle(indices)
            stream.extend(indices)
        batches, batch, seen, waiting = [], [], set(), []
        for index in stream:
            if seen & self.texts[index]:
                waiting.append(index)
                continue
            batch.append(index)
            seen |= self.texts[index]
            if len(batch) == self.batch_size:
                batches.append(batch)
                batch, seen = [], set()
                for held in list(waiting):  # the pairs that waited start the next batch
                    if len(batch) < self.batch_size and not seen & self.texts[held]:
                        waiting.remove(held)
                        batch.append(held)
                        seen |= self.texts[held]
        rest = batch + waiting
        while rest:  # what is left, in batches that still hold no text twice
            batch, seen, left = [], set(), []
            for index in rest:
                if len(batch) < self.batch_size and not seen & self.texts[index]:
                    batch.append(index)
                    seen |= self.texts[index]
                else:
                    left.append(index)
            if len(batch) == self.batch_size or not self.drop_last:
                batches.append(batch)
            rest = left
        rng.shuffle(batches)
        return iter(batches)

    def __len__(self) -> int:
        size = len(self.documents)
        return size // self.batch_size if self.drop_last else -(-size // self.batch_size)
