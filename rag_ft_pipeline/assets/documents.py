"""Per-document assets: clean text and chunks, one dynamic partition per document."""


import statistics
from dataclasses import asdict

import dagster as dg
import pandas as pd

from rag_ft_pipeline.chunking import Chunk, chunk_document, read_chunks, token_counter, write_chunks
from rag_ft_pipeline.cleaning import CleaningStats
from rag_ft_pipeline.conversion import DocumentError, check_source
from rag_ft_pipeline.document_status import CONVERTED, DUPLICATE, FAILED, DocumentStatusStore
from rag_ft_pipeline.ingest import convert_document, file_hash
from rag_ft_pipeline.paths import ProjectPathsResource
from rag_ft_pipeline.progress import progress_logger
from rag_ft_pipeline.questions import is_boilerplate
from rag_ft_pipeline.reporting import png_markdown, token_histogram_png
from rag_ft_pipeline.resources import EmbeddingModelResource

documents_partitions = dg.DynamicPartitionsDefinition(name="documents")

# Every partition in one run: a run per document would cost seconds of process start each.
_per_document = dict(
    partitions_def=documents_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)


def markdown_table(frame: pd.DataFrame, rows: int = 10) -> dg.MetadataValue:
    return dg.MetadataValue.md(frame.head(rows).to_markdown(index=False) if not frame.empty else "_none_")


def current_document_ids(instance: dg.DagsterInstance) -> list[str]:
    return sorted(instance.get_dynamic_partitions(documents_partitions.name))


def load_chunks(paths: ProjectPathsResource, doc_ids: list[str]) -> list[Chunk]:
    """Chunks of the given documents; documents that failed conversion have none."""
    chunks: list[Chunk] = []
    for doc_id in doc_ids:
        path = paths.chunks_file(doc_id)
        if path.exists():
            chunks.extend(read_chunks(path))
    return chunks


class CleanMarkdownConfig(dg.Config):
    max_file_mb: float = 50.0  # larger files are refused, with a recorded reason


@dg.asset(group_name="ingestion", kinds={"python", "pdf", "markdown"}, **_per_document)
def clean_markdown(context: dg.AssetExecutionContext, config: CleanMarkdownConfig, paths: ProjectPathsResource) -> dg.MaterializeResult:
    """Each source document (PDF, Word, HTML, Markdown or text) as clean plain text: markup
    stripped, page numbers, tables of contents and running headers removed, hyphenated words and
    hard-wrapped lines rejoined. A document that cannot be read is recorded with its reason, and a
    copy of another document is processed once; every other document goes on."""
    active = current_document_ids(context.instance)
    status = DocumentStatusStore(paths.document_status_file())
    converted, cleaning = [], CleaningStats()
    max_bytes = int(config.max_file_mb * 1024 * 1024)
    progress = progress_logger(context.log, "converting documents")
    try:
        for done, doc_id in enumerate(context.partition_keys, start=1):
            progress(done, len(context.partition_keys))
            output = paths.clean_text_file(doc_id)
            output.unlink(missing_ok=True)  # downstream must never read a stale version
            source = paths.document(doc_id)
            source_hash = None
            try:
                check_source(source, paths.docs_path, max_bytes)  # refused files are never read, not even hashed
                source_hash = file_hash(source)
                original = status.converted_with_hash(source_hash, active, other_than=doc_id)
                if original:
                    status.record(doc_id, source_hash, DUPLICATE, f"same content as {original}: processed once")
                    continue
                text, stats = convert_document(source, paths.docs_path, max_bytes)
            except Exception as error:  # whatever a converter raises, the other documents go on
                reason = str(error) if isinstance(error, DocumentError) else f"{type(error).__name__}: {error}"
                context.log.warning(f"{doc_id}: {reason}")
                status.record(doc_id, source_hash, FAILED, reason)  # retried once its content changes
                continue
            output.write_text(text, encoding="utf-8")
            status.record(doc_id, source_hash, CONVERTED)
            cleaning.add(stats)
            converted.append({"doc_id": doc_id, "words": len(text.split()), "preview": text[:100].replace("\n", " ")})
        problems = status.table(active)
    finally:
        status.close()
    summary = pd.DataFrame(converted, columns=["doc_id", "words", "preview"])
    return dg.MaterializeResult(
        metadata={
            "documents": len(converted),
            "failed": int((problems["status"] == FAILED).sum()),
            "duplicates": int((problems["status"] == DUPLICATE).sum()),
            "failures": markdown_table(problems, rows=100),
            "words": int(summary["words"].sum()),
            "cleaning": dg.MetadataValue.json(asdict(cleaning)),
            "preview": markdown_table(summary),
        }
    )


class ChunkingConfig(dg.Config):
    max_tokens: int = 112  # most chunks then land near 80-110 tokens of the model's tokenizer


@dg.asset(group_name="ingestion", kinds={"python"}, deps=[clean_markdown], **_per_document)
def chunks(
    context: dg.AssetExecutionContext,
    config: ChunkingConfig,
    paths: ProjectPathsResource,
    embedding_model: EmbeddingModelResource,
) -> dg.MaterializeResult:
    """Token-bounded chunks of each document (paragraphs kept whole where they fit, sentences cut
    only when one alone is over the limit), with ids, offsets, token counts and content hashes."""
    count = token_counter(embedding_model.load().tokenizer)
    produced: list[Chunk] = []
    progress = progress_logger(context.log, "chunking documents")
    for done, doc_id in enumerate(context.partition_keys, start=1):
        progress(done, len(context.partition_keys))
        source = paths.clean_text_file(doc_id)
        output = paths.chunks_file(doc_id)
        if not source.exists():
            context.log.warning(f"{doc_id}: no clean text (see clean_markdown failures); no chunks")
            output.unlink(missing_ok=True)
            continue
        document_chunks = chunk_document(doc_id, source.read_text(encoding="utf-8"), config.max_tokens, count)
        write_chunks(output, document_chunks)
        produced.extend(document_chunks)
    tokens = [c.token_count for c in produced] or [0]
    boilerplate = [c for c in produced if is_boilerplate(c.text)]
    preview = pd.DataFrame([{"chunk_id": c.chunk_id, "tokens": c.token_count, "text": c.text[:120]} for c in produced])
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(produced),
            "documents": len(context.partition_keys),
            "max_tokens": config.max_tokens,
            "tokens_median": float(statistics.median(tokens)),
            "tokens_max": max(tokens),
            "share_80_to_limit": round(sum(80 <= t <= config.max_tokens for t in tokens) / len(tokens), 3),
            "boilerplate_chunks": len(boilerplate),
            "boilerplate_share": round(len(boilerplate) / max(len(produced), 1), 3),
            "boilerplate_examples": markdown_table(pd.DataFrame({"text": [c.text[:150] for c in boilerplate]}), rows=5),
            "token_histogram": dg.MetadataValue.md(png_markdown(token_histogram_png(tokens, config.max_tokens), "tokens per chunk")),
            "preview": markdown_table(preview),
        }
    )


@dg.asset_check(asset=chunks, description="No chunk is over the token limit or empty.")
def chunks_within_token_limit(context: dg.AssetCheckExecutionContext, paths: ProjectPathsResource) -> dg.AssetCheckResult:
    all_chunks = load_chunks(paths, current_document_ids(context.instance))
    latest = context.instance.get_latest_materialization_event(chunks.key)
    limit = latest.asset_materialization.metadata["max_tokens"].value if latest else ChunkingConfig().max_tokens
    over = [c.chunk_id for c in all_chunks if c.token_count > limit]
    empty = [c.chunk_id for c in all_chunks if not c.text.strip()]
    return dg.AssetCheckResult(
        passed=not over and not empty,
        metadata={"chunks": len(all_chunks), "over_limit": len(over), "empty": len(empty), "examples": str((over + empty)[:5])},
    )
