"""How the per-document chunks are stored and handed to the assets that read them all."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from rag_ft_pipeline.common.files import exclusive, lock_path, remove_partial_files
from rag_ft_pipeline.common.hashing import storage_name
from rag_ft_pipeline.common.types import ChunkedDocument, Corpus
from rag_ft_pipeline.ingestion.chunking import read_chunks, write_chunks

CHUNKS_IO_MANAGER = "chunks_io_manager"


class ChunksIOManager(dg.ConfigurableIOManager):
    """One JSON-lines file per document partition under `<artifact root>/chunks/`, written atomically.
    A downstream asset (or check) gets a `Corpus` of every current partition that has been chunked:
    documents removed from the folder are no longer partitions, so they drop out."""

    artifacts_dir: str = Field(description="The artifact root; files go under its chunks/ folder.")

    def path(self, doc_id: str) -> Path:
        return Path(self.artifacts_dir) / "chunks" / f"{storage_name(doc_id)}.jsonl"

    def handle_output(self, context: dg.OutputContext, obj: dict[str, ChunkedDocument]) -> None:
        # With the documents' lock held no other writer is at work here, so leftovers of a killed
        # one can go.
        with exclusive(lock_path(self.artifacts_dir, "documents"), "the chunk files", context.log):
            remove_partial_files(Path(self.artifacts_dir) / "chunks")
            for doc_id, document in obj.items():
                write_chunks(self.path(doc_id), document)

    def corpus(self, doc_ids: list[str]) -> Corpus:
        """The chunks of those of `doc_ids` that have been chunked."""
        return Corpus([read_chunks(self.path(d)) for d in sorted(doc_ids) if self.path(d).exists()])

    def load_input(self, context: dg.InputContext) -> Corpus:
        doc_ids = list(context.asset_partition_keys) if context.has_asset_partitions else []
        corpus = self.corpus(doc_ids)
        if missing := len(doc_ids) - len(corpus.documents):
            context.log.warning(f"{missing} of {len(doc_ids)} documents not chunked yet: materialize chunks for them")
        return corpus
