"""Question pairs and the train / validation / eval split."""


import dagster as dg
import pandas as pd

from rag_ft_pipeline.assets.documents import chunks, current_document_ids, load_chunks, markdown_table
from rag_ft_pipeline.paths import ProjectPathsResource
from rag_ft_pipeline.progress import progress_logger
from rag_ft_pipeline.question_cache import QuestionCache
from rag_ft_pipeline.questions import generate_pairs
from rag_ft_pipeline.resources import QuestionGeneratorResource
from rag_ft_pipeline.splitting import split_pairs

PAIR_COLUMNS = ["chunk_id", "doc_id", "content_hash", "query", "positive", "generator"]


@dg.asset(group_name="questions", kinds={"python", "pandas"}, deps=[chunks])
def question_pairs(
    context: dg.AssetExecutionContext, paths: ProjectPathsResource, question_generator: QuestionGeneratorResource
) -> dg.Output[pd.DataFrame]:
    """Synthetic (question, passage) pairs: one per useful chunk, none for boilerplate. Answers are
    cached by chunk content and generator settings, so reruns only generate for new chunks."""
    all_chunks = load_chunks(paths, current_document_ids(context.instance))
    generator = question_generator.build()
    if not question_generator.uses_llm:
        context.log.info("No OPENAI_API_KEY: using the offline inverse cloze generator")
    cache = QuestionCache(paths.artifact_dir("question_pairs") / "cache.sqlite")
    try:
        rows, stats = generate_pairs(
            all_chunks, generator, cache,
            progress=progress_logger(context.log, "questions"),
            on_error=lambda chunk, error: context.log.warning(f"{chunk.chunk_id}: generation failed: {error}"),
        )
    finally:
        cache.close()
    generated = pd.DataFrame(rows, columns=PAIR_COLUMNS)
    # A question asked of two chunks has no single right answer to train or score against.
    pairs = generated.drop_duplicates("query", keep=False).reset_index(drop=True)
    return dg.Output(
        pairs,
        metadata={
            "dagster/row_count": len(pairs),
            "generator": generator.name + ("" if question_generator.uses_llm else " (offline default: no OPENAI_API_KEY)"),
            "chunks": stats.chunks,
            "chunks_with_question": stats.chunks_with_pairs,
            "yield": round(stats.chunks_with_pairs / max(stats.chunks, 1), 3),
            "cache_hits": stats.cache_hits,
            "generated": stats.generated,
            "failed": stats.failed,
            "duplicate_questions_dropped": len(generated) - len(pairs),
            "preview": markdown_table(pairs[["chunk_id", "query"]]),
        },
    )


class SplitConfig(dg.Config):
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
    split = split_pairs(question_pairs, config.eval_fraction, config.validation_fraction, config.seed)
    for name, frame in (("train_pairs", split.train), ("validation_pairs", split.validation), ("eval_pairs", split.eval)):
        yield dg.Output(
            frame,
            output_name=name,
            metadata={"dagster/row_count": len(frame), **config.model_dump(), "preview": markdown_table(frame[["chunk_id", "query"]], 5)},
        )


@dg.asset_check(asset="eval_pairs", description="No eval chunk or question also appears in training or validation.", additional_ins={"train_pairs": dg.AssetIn(), "validation_pairs": dg.AssetIn()})
def eval_pairs_held_out(eval_pairs: pd.DataFrame, train_pairs: pd.DataFrame, validation_pairs: pd.DataFrame) -> dg.AssetCheckResult:
    seen = pd.concat([train_pairs, validation_pairs])
    shared_chunks = set(eval_pairs["chunk_id"]) & set(seen["chunk_id"])
    shared_questions = set(eval_pairs["query"]) & set(seen["query"])
    return dg.AssetCheckResult(
        passed=not shared_chunks and not shared_questions,
        metadata={"shared_chunks": len(shared_chunks), "shared_questions": len(shared_questions)},
    )
