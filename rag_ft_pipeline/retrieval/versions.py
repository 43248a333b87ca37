"""Indexes published whole: an update builds the next version of a collection beside the current
one and then points the index's name at it, so a reader always searches a complete version."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from rag_ft_pipeline.common.progress import Progress
from rag_ft_pipeline.common.types import Chunk, Encoder
from rag_ft_pipeline.retrieval.vector_store import COSINE, IndexUpdate, stored_hashes, sync_index

# One record per index name; its metadata names the published version. A record is written
# atomically, so the switch from one version to the next is too. An index can also be published
# under a label (`base`, `finetuned`): the record applications open (see retrieval.published).
ALIASES = "rag-ft-aliases"


class IndexVersions:
    """The versions of one index (`name`) in a Chroma store. The version before the published one
    is kept until the next update, for readers that looked the name up just before a switch."""

    def __init__(self, client: ClientAPI, name: str) -> None:
        self.client, self.name = client, name
        self._pattern = re.compile(rf"{re.escape(name)}-v(\d+)")

    def _aliases(self) -> Collection:
        return self.client.get_or_create_collection(ALIASES)

    def current_name(self) -> str | None:
        found = self._aliases().get(ids=[self.name], include=["metadatas"])
        return found["metadatas"][0]["collection"] if found["ids"] else None

    def current(self) -> Collection | None:
        name = self.current_name()
        return self.client.get_collection(name) if name else None

    def versions(self) -> dict[int, str]:
        names = (getattr(c, "name", c) for c in self.client.list_collections())
        return {int(m.group(1)): n for n in names if (m := self._pattern.fullmatch(n))}

    def update(
        self,
        chunks: Sequence[Chunk],
        encoder: Encoder,
        batch_size: int = 512,
        progress: Progress | None = None,
        label: str | None = None,
        details: Mapping[str, str] | None = None,
    ) -> tuple[str, IndexUpdate]:
        """Bring the index in step with `chunks`: unchanged chunks are copied from the published
        version, the others embedded into the next one, which is then published, also under `label`
        with `details` (what an application needs to search it) when given. Nothing changed: no
        collection is written. An unpublished version left by a killed update is carried on."""
        current_name = self.current_name()
        current = self.client.get_collection(current_name) if current_name else None
        versions = self.versions()
        published = next((n for n, name in versions.items() if name == current_name), 0)
        baseline = stored_hashes(current) if current is not None else {}
        if current is not None and baseline == {c.chunk_id: c.content_hash for c in chunks}:
            self._drop_versions(lambda n: n > published)  # an abandoned next version
            self._publish(current_name, label, details)
            return current_name, IndexUpdate(added=0, updated=0, removed=0, unchanged=len(chunks))
        staging_name = f"{self.name}-v{published + 1}"
        # No embedding function is recorded: Chroma's default (its own MiniLM, no prompts) would embed
        # query texts unlike these chunks, so readers must bring the model (retrieval.published).
        staging = self.client.get_or_create_collection(staging_name, metadata=COSINE, embedding_function=None)
        update = sync_index(staging, chunks, encoder, batch_size, progress, source=current, baseline=baseline)
        self._publish(staging_name, label, details)
        self._drop_versions(lambda n: n < published or n > published + 1)
        return staging_name, update

    def _publish(self, collection: str, label: str | None, details: Mapping[str, str] | None) -> None:
        """Point the index's name, and its label, at `collection`, in one write."""
        ids = [self.name, *([label] if label else [])]
        record = {"collection": collection, "index": self.name, **(details or {})}
        self._aliases().upsert(ids=ids, embeddings=[[0.0]] * len(ids), metadatas=[record] * len(ids))

    def drop(self) -> list[str]:
        """Remove the index: every version, its name and any label pointing at it."""
        dropped = self._drop_versions(lambda n: True)
        self._aliases().delete(where={"index": self.name})
        self._aliases().delete(ids=[self.name])  # a record written before labels existed
        return dropped

    def _drop_versions(self, which) -> list[str]:
        dropped = [name for n, name in self.versions().items() if which(n)]
        for name in dropped:
            self.client.delete_collection(name)
        return dropped
