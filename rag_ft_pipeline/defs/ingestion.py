"""Per-document assets (group `ingestion`): clean text and chunks, one dynamic partition per document."""

import statistics
from dataclasses import asdict

import dagster as dg
import pandas as pd

from rag_ft_pipeline.common.files import exclusive, remove_partial_files, write_atomic
from rag_ft_pipeline.common.hashing import file_hash
from rag_ft_pipeline.common.plots import histogram_png
from rag_ft_pipeline.common.progress import progress_logger
from rag_ft_pipeline.common.text import is_boilerplate
from rag_ft_pipeline.common.types import ChunkedDocument, Corpus
from rag_ft_pipeline.defs.io_managers import CHUNKS_IO_MANAGER
from rag_ft_pipeline.defs.metadata import image, table
from rag_ft_pipeline.defs.resources import EmbeddingModelResource, ProjectPathsResource
from rag_ft_pipeline.ingestion.chunking import ChunkingSettings, chunk_document, token_counter
from rag_ft_pipeline.ingestion.cleaning import CleaningStats
from rag_ft_pipeline.ingestion.conversion import DocumentError, FileSizeLimit, check_source, convert_document
from rag_ft_pipeline.ingestion.status import CONVERTED, DUPLICATE, FAILED, DocumentStatusStore

GROUP = "ingestion"
documents_partitions = dg.DynamicPartitionsDefinition(name="documents")

# Every partition in one run: a run per document would cost seconds of process start each.
PER_DOCUMENT = {"partitions_def": documents_partitions, "backfill_policy": dg.BackfillPolicy.single_run()}


def current_document_ids(instance: dg.DagsterInstance) -> list[str]:
    return sorted(instance.get_dynamic_partitions(documents_partitions.name))


class CleanMarkdownConfig(dg.Config, FileSizeLimit):
    pass


@dg.asset(group_name=GROUP, kinds={"python", "pdf", "markdown"}, pool="documents", **PER_DOCUMENT)
def clean_markdown(
    context: dg.AssetExecutionContext, config: CleanMarkdownConfig, paths: ProjectPathsResource
) -> dg.MaterializeResult:
    """Each source document (PDF, Word, HTML, Markdown or text) as clean plain text: markup
    stripped, page numbers, tables of contents and running headers removed, hyphenated words and
    hard-wrapped lines rejoined. A document that cannot be read is recorded with its reason, and a
    copy of another document is processed once; every other document goes on."""
    active = current_document_ids(context.instance)
    converted, cleaning = [], CleaningStats()
    progress = progress_logger(context.log, "converting documents")
    with (
        exclusive(paths.lock_file("documents"), "the document status store", context.log),
        DocumentStatusStore(paths.document_status_file()) as status,
    ):
        remove_partial_files(paths.artifact_dir("clean_markdown"))  # a killed writer's leftovers
        for done, doc_id in enumerate(context.partition_keys, start=1):
            progress(done, len(context.partition_keys))
            output = paths.clean_text_file(doc_id)
            output.unlink(missing_ok=True)  # downstream must never read a stale version
            source = paths.document(doc_id)
            source_hash = None
            try:
                check_source(source, paths.docs_path, config.max_bytes)  # refused files are never read, nor hashed
                source_hash = file_hash(source)
                original = status.converted_with_hash(source_hash, active, other_than=doc_id)
                if original:
                    status.record(doc_id, source_hash, DUPLICATE, f"same content as {original}: processed once")
                    continue
                text, stats = convert_document(source, paths.docs_path, config.max_bytes)
            except Exception as error:  # whatever a converter raises, the other documents go on
                reason = str(error) if isinstance(error, DocumentError) else f"{type(error).__name__}: {error}"
                context.log.warning(f"{doc_id}: {reason}")
                status.record(doc_id, source_hash, FAILED, reason)  # retried once its content changes
                continue
            write_atomic(output, text)
            status.record(doc_id, source_hash, CONVERTED)
            cleaning.add(stats)
            converted.append({"doc_id": doc_id, "words": len(text.split()), "preview": text[:100].replace("\n", " ")})
        problems = status.table(active)
    summary = pd.DataFrame(converted, columns=["doc_id", "words", "preview"])
    return dg.MaterializeResult(
        metadata={
            "documents": len(converted),
            "failed": int((problems["status"] == FAILED).sum()),
            "duplicates": int((problems["status"] == DUPLICATE).sum()),
            "failures": table(problems, rows=100),
            "words": int(summary["words"].sum()),
            "cleaning": dg.MetadataValue.json(asdict(cleaning)),
            "preview": table(summary),
        }
    )


class ChunkingConfig(dg.Config, ChunkingSettings):
    pass


@dg.asset(
    group_name=GROUP,
    kinds={"python"},
    deps=[clean_markdown],
    io_manager_key=CHUNKS_IO_MANAGER,
    **PER_DOCUMENT,
)
def chunks(
    context: dg.AssetExecutionContext,
    config: ChunkingConfig,
    paths: ProjectPathsResource,
    embedding_model: EmbeddingModelResource,
) -> dg.Output[dict[str, ChunkedDocument]]:
    """Token-bounded chunks of each document (paragraphs kept whole where they fit, sentences cut
    only when one alone is over the limit), with ids, offsets, token counts and content hashes."""
    count = token_counter(embedding_model.load().tokenizer)
    documents: dict[str, ChunkedDocument] = {}
    progress = progress_logger(context.log, "chunking documents")
    for done, doc_id in enumerate(context.partition_keys, start=1):
        progress(done, len(context.partition_keys))
        source = paths.clean_text_file(doc_id)
        if not source.exists():
            context.log.warning(f"{doc_id}: no clean text (see clean_markdown failures); no chunks")
            documents[doc_id] = ChunkedDocument(doc_id, config.max_tokens)
            continue
        text = source.read_text(encoding="utf-8")
        documents[doc_id] = ChunkedDocument(
            doc_id, config.max_tokens, chunk_document(doc_id, text, config.max_tokens, count)
        )
    produced = [c for document in documents.values() for c in document.chunks]
    tokens = [c.token_count for c in produced] or [0]
    boilerplate = [c for c in produced if is_boilerplate(c.text)]
    preview = pd.DataFrame(
        [{"chunk_id": c.chunk_id, "tokens": c.token_count, "text": c.text[:120]} for c in produced],
        columns=["chunk_id", "tokens", "text"],
    )
    return dg.Output(
        documents,
        metadata={
            "dagster/row_count": len(produced),
            "documents": len(documents),
            "max_tokens": config.max_tokens,
            "tokens_median": float(statistics.median(tokens)),
            "tokens_max": max(tokens),
            "share_80_to_limit": round(sum(80 <= t <= config.max_tokens for t in tokens) / len(tokens), 3),
            "boilerplate_chunks": len(boilerplate),
            "boilerplate_share": round(len(boilerplate) / max(len(produced), 1), 3),
            "boilerplate_examples": table(pd.DataFrame({"text": [c.text[:150] for c in boilerplate]}), rows=5),
            "token_histogram": image(
                histogram_png(tokens, config.max_tokens, "tokens per chunk", "chunks"), "tokens per chunk"
            ),
            "preview": table(preview),
        },
    )


@dg.asset_check(asset=chunks, description="No chunk is over its document's token limit or empty.")
def chunks_within_token_limit(chunks: Corpus) -> dg.AssetCheckResult:
    over = [c.chunk_id for d in chunks.documents for c in d.chunks if c.token_count > d.max_tokens]
    empty = [c.chunk_id for c in chunks.chunks if not c.text.strip()]
    return dg.AssetCheckResult(
        passed=not over and not empty,
        metadata={
            "chunks": len(chunks.chunks),
            "over_limit": len(over),
            "empty": len(empty),
            "examples": dg.MetadataValue.json((over + empty)[:5]),
        },
    )
