"""Question pairs and the train / validation / eval split."""


import dagster as dg
import pandas as pd

from rag_ft_pipeline.assets.documents import chunks, current_document_ids, load_chunks, markdown_table
from rag_ft_pipeline.paths import ProjectPathsResource
from rag_ft_pipeline.progress import progress_logger
from rag_ft_pipeline.question_cache import QuestionCache
from rag_ft_pipeline.question_filters import FilterReport, filter_pairs
from rag_ft_pipeline.question_generation import Budget, generate_pairs
from rag_ft_pipeline.resources import EmbeddingModelResource, QuestionGeneratorResource
from rag_ft_pipeline.splitting import leakage, split_pairs

PAIR_COLUMNS = ["chunk_id", "doc_id", "content_hash", "query", "positive", "generator"]


class QuestionPairsConfig(dg.Config):
    max_chunks: int | None = None  # budget: chunks sent to the generator in one run (cache hits are free)
    max_cost_usd: float | None = None  # budget: estimated spend of one run
    max_copied_words: int = 10  # drop questions that copy a longer run of their chunk's words
    round_trip_top_k: int | None = None  # keep a question only if the base model ranks its chunk this high


@dg.asset(group_name="questions", kinds={"python", "pandas"}, deps=[chunks], automation_condition=dg.AutomationCondition.eager())
def question_pairs(
    context: dg.AssetExecutionContext,
    config: QuestionPairsConfig,
    paths: ProjectPathsResource,
    question_generator: QuestionGeneratorResource,
    embedding_model: EmbeddingModelResource,
) -> dg.Output[pd.DataFrame]:
    """Synthetic (question, passage) pairs: one per useful chunk, none for boilerplate, then quality
    filters. Answers are cached by chunk content and generator settings, so reruns, resumed runs
    and runs after new documents only generate for chunks not yet answered."""
    all_chunks = load_chunks(paths, current_document_ids(context.instance))
    generator = question_generator.build()
    if not question_generator.uses_llm:
        context.log.info("No OPENAI_API_KEY: using the offline inverse cloze generator")
    cache = QuestionCache(paths.artifact_dir("question_pairs") / "cache.sqlite")
    try:
        rows, report = generate_pairs(
            all_chunks, generator, cache, Budget(config.max_chunks, config.max_cost_usd),
            progress=progress_logger(context.log, "questions"),
        )
    finally:
        cache.close()
    for failure in report.failures:
        context.log.warning(f"{failure['chunk_id']}: generation failed: {failure['reason']}")
    if report.budget_reached:
        context.log.warning(f"budget reached: {report.skipped_for_budget} chunks left for a later run")
    filters = FilterReport()
    pairs = filter_pairs(
        pd.DataFrame(rows, columns=PAIR_COLUMNS),
        {c.chunk_id: c.text for c in all_chunks},
        filters,
        check_copying=not generator.extractive,
        max_copied_words=config.max_copied_words,
        round_trip=(embedding_model.load(), config.round_trip_top_k) if config.round_trip_top_k else None,
        query_prompt=embedding_model.effective_query_prompt,
    )
    return dg.Output(
        pairs,
        metadata={
            "dagster/row_count": len(pairs),
            "generator": generator.name + ("" if question_generator.uses_llm else " (offline default: no OPENAI_API_KEY)"),
            "generator_settings": dg.MetadataValue.json(question_generator.public_settings()),
            **config.model_dump(),
            "chunks": report.chunks,
            "chunks_with_question": report.chunks_with_pairs,
            "yield": round(report.chunks_with_pairs / max(report.chunks, 1), 3),
            "cache_hits": report.cache_hits,
            "generated": report.generated,
            "failed": len(report.failures),
            "failures": markdown_table(pd.DataFrame(report.failures, columns=["chunk_id", "reason"]), rows=20),
            "skipped_for_budget": report.skipped_for_budget,
            "prompt_tokens": report.prompt_tokens,
            "completion_tokens": report.completion_tokens,
            "estimated_cost_usd": round(report.cost_usd, 4),
            "filtered": markdown_table(filters.table(), rows=10),
            "preview": markdown_table(pairs[["chunk_id", "query"]]),
        },
    )


@dg.asset(group_name="questions", kinds={"python"}, deps=[chunks])
def question_cost_estimate(
    context: dg.AssetExecutionContext, paths: ProjectPathsResource, question_generator: QuestionGeneratorResource
) -> dg.MaterializeResult:
    """A dry run of question_pairs: how many chunks it would send to the generator (those not yet
    cached), their prompt tokens and the estimated cost, without calling any API."""
    all_chunks = load_chunks(paths, current_document_ids(context.instance))
    generator = question_generator.build()
    cache = QuestionCache(paths.artifact_dir("question_pairs") / "cache.sqlite")
    try:
        cached = cache.get_many([c.content_hash for c in all_chunks], generator.fingerprint())
    finally:
        cache.close()
    todo = {c.content_hash: c for c in all_chunks if c.content_hash not in cached}
    prompt_tokens = sum(generator.estimate_prompt_tokens(c.text) for c in todo.values())
    # Output tokens: about 40 per question asked.
    completion_tokens = 40 * len(todo) * (question_generator.questions_per_chunk if question_generator.uses_llm else 0)
    return dg.MaterializeResult(
        metadata={
            "generator": generator.name,
            "chunks": len(all_chunks),
            "already_cached": len(all_chunks) - len(todo),
            "to_generate": len(todo),
            "estimated_prompt_tokens": prompt_tokens,
            "estimated_completion_tokens": completion_tokens,
            "estimated_cost_usd": round(generator.cost(prompt_tokens, completion_tokens), 4),
        }
    )


class SplitConfig(dg.Config):
    split_by: str = "pair"  # or "document": no document contributes to both train and eval
    eval_fraction: float = 0.1
    validation_fraction: float = 0.1  # of the training share, for choosing the best checkpoint
    seed: int = 42


@dg.multi_asset(
    group_name="questions",
    outs={
        "train_pairs": dg.AssetOut(kinds={"pandas"}, description="Pairs the model is trained on."),
        "validation_pairs": dg.AssetOut(kinds={"pandas"}, description="A slice of the training share that picks the best checkpoint."),
        "eval_pairs": dg.AssetOut(kinds={"pandas"}, description="Held-out pairs, used only to measure the models."),
    },
)
def split_question_pairs(context: dg.AssetExecutionContext, config: SplitConfig, question_pairs: pd.DataFrame):
    """A seeded split by chunk: eval is held out first, validation is taken from what remains."""
    split = split_pairs(question_pairs, config.eval_fraction, config.validation_fraction, config.seed, by=config.split_by)
    if split.eval.empty:
        raise dg.Failure(f"no eval questions from {len(question_pairs)} pairs: add documents or raise eval_fraction")
    for name, frame in (("train_pairs", split.train), ("validation_pairs", split.validation), ("eval_pairs", split.eval)):
        yield dg.Output(
            frame,
            output_name=name,
            metadata={"dagster/row_count": len(frame), **config.model_dump(), "preview": markdown_table(frame[["chunk_id", "query"]], 5)},
        )


@dg.asset_check(
    asset="eval_pairs",
    blocking=True,  # a leaking split must not go on to train and report flattering numbers
    description="Nothing of the eval set is seen in training: no eval chunk is a training or validation "
    "positive, no question is in both, and with a split by document no document is on both sides.",
    additional_ins={"train_pairs": dg.AssetIn(), "validation_pairs": dg.AssetIn()},
)
def eval_pairs_held_out(
    context: dg.AssetCheckExecutionContext, eval_pairs: pd.DataFrame, train_pairs: pd.DataFrame, validation_pairs: pd.DataFrame
) -> dg.AssetCheckResult:
    latest = context.instance.get_latest_materialization_event(dg.AssetKey("eval_pairs"))
    by_document = bool(latest) and latest.asset_materialization.metadata["split_by"].value == "document"
    leaks = leakage(eval_pairs, pd.concat([train_pairs, validation_pairs]), by_document)
    return dg.AssetCheckResult(passed=not any(leaks.values()), metadata={name: len(found) for name, found in leaks.items()})
