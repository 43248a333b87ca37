"""Question pairs and the train / validation / eval split (group `questions`)."""

from pathlib import Path

import dagster as dg
import pandas as pd

from rag_ft_pipeline.common.files import exclusive
from rag_ft_pipeline.common.progress import progress_logger
from rag_ft_pipeline.common.types import Corpus
from rag_ft_pipeline.defs.metadata import table
from rag_ft_pipeline.defs.resources import EmbeddingModelResource, ProjectPathsResource, QuestionGeneratorResource
from rag_ft_pipeline.evaluation.golden import GoldenRelevance, golden_relevance, load_golden_set
from rag_ft_pipeline.questions.batch import PAIR_COLUMNS, Budget, generate_pairs
from rag_ft_pipeline.questions.cache import QuestionCache
from rag_ft_pipeline.questions.dataset import DATASET_FOLDER, save_pairs_dataset
from rag_ft_pipeline.questions.filters import FilterReport, FilterSettings, filter_pairs
from rag_ft_pipeline.questions.human import human_pairs
from rag_ft_pipeline.questions.split import SPLIT_UNITS, SplitSettings, leakage, split_pairs
from rag_ft_pipeline.retrieval.embedding import NO_PROMPTS
from rag_ft_pipeline.settings import GOLDEN_SET_ENV, TRAIN_QUESTIONS_ENV

GROUP = "questions"
# Output tokens of an LLM answer: about 40 per question asked.
COMPLETION_TOKENS_PER_QUESTION = 40


class QuestionPairsConfig(dg.Config, Budget, FilterSettings):
    pass


def _cache(paths: ProjectPathsResource) -> QuestionCache:
    return QuestionCache(paths.artifact_dir("question_pairs") / "cache.sqlite")


@dg.asset(
    group_name=GROUP,
    kinds={"python", "pandas"},
    pool="question_cache",
    automation_condition=dg.AutomationCondition.eager(),
)
def question_pairs(
    context: dg.AssetExecutionContext,
    config: QuestionPairsConfig,
    chunks: Corpus,
    paths: ProjectPathsResource,
    question_generator: QuestionGeneratorResource,
    embedding_model: EmbeddingModelResource,
) -> dg.Output[pd.DataFrame]:
    """Synthetic (question, passage) pairs: one per useful chunk, none for boilerplate, then quality
    filters. Answers are cached by chunk content and generator settings, so reruns, resumed runs
    and runs after new documents only generate for chunks not yet answered."""
    generator = question_generator.build()
    if not question_generator.uses_llm:
        context.log.info("No OPENAI_API_KEY: using the offline generator")
    with exclusive(paths.lock_file("question_cache"), "the question cache", context.log), _cache(paths) as cache:
        rows, report = generate_pairs(
            chunks.chunks,
            generator,
            cache,
            Budget.model_validate(config.model_dump(include=set(Budget.model_fields))),
            progress=progress_logger(context.log, "questions"),
        )
    for failure in report.failures:
        context.log.warning(f"{failure['chunk_id']}: generation failed: {failure['reason']}")
    if report.budget_reached:
        context.log.warning(f"budget reached: {report.skipped_for_budget} chunks left for a later run")
    filters = FilterReport()
    round_trip = bool(config.round_trip_top_k)  # only then is the base model needed here
    pairs = filter_pairs(
        pd.DataFrame(rows, columns=PAIR_COLUMNS),
        chunks.texts,
        filters,
        check_copying=not generator.extractive,
        settings=FilterSettings.model_validate(config.model_dump(include=set(FilterSettings.model_fields))),
        model=embedding_model.load() if round_trip else None,
        prompts=embedding_model.prompts() if round_trip else NO_PROMPTS,
    )
    return dg.Output(
        pairs,
        metadata={
            "dagster/row_count": len(pairs),
            "generator": generator.name
            + ("" if question_generator.uses_llm else " (offline default: no OPENAI_API_KEY)"),
            "generator_settings": dg.MetadataValue.json(question_generator.public_settings()),
            **config.model_dump(),
            "chunks": report.chunks,
            "chunks_with_question": report.chunks_with_pairs,
            "yield": round(report.chunks_with_pairs / max(report.chunks, 1), 3),
            "cache_hits": report.cache_hits,
            "generated": report.generated,
            "failed": len(report.failures),
            "failures": table(pd.DataFrame(report.failures, columns=["chunk_id", "reason"]), rows=20),
            "skipped_for_budget": report.skipped_for_budget,
            "prompt_tokens": report.prompt_tokens,
            "completion_tokens": report.completion_tokens,
            "estimated_cost_usd": round(report.cost_usd, 4),
            "filtered": table(filters.table()),
            "preview": table(pairs[["chunk_id", "query"]]),
        },
    )


@dg.asset(group_name=GROUP, kinds={"python"})
def question_cost_estimate(
    chunks: Corpus, paths: ProjectPathsResource, question_generator: QuestionGeneratorResource
) -> dg.MaterializeResult:
    """A dry run of question_pairs: how many chunks it would send to the generator (those not yet
    cached), their prompt tokens and the estimated cost, without calling any API."""
    generator = question_generator.build()
    with _cache(paths) as cache:
        cached = cache.get_many([c.content_hash for c in chunks.chunks], generator.fingerprint())
    todo = {c.content_hash: c for c in chunks.chunks if c.content_hash not in cached}
    prompt_tokens = sum(generator.estimate_prompt_tokens(c.text) for c in todo.values())
    asked = question_generator.questions_per_chunk if question_generator.uses_llm else 0
    completion_tokens = COMPLETION_TOKENS_PER_QUESTION * len(todo) * asked
    return dg.MaterializeResult(
        metadata={
            "generator": generator.name,
            "chunks": len(chunks.chunks),
            "already_cached": len(chunks.chunks) - len(todo),
            "to_generate": len(todo),
            "estimated_prompt_tokens": prompt_tokens,
            "estimated_completion_tokens": completion_tokens,
            "estimated_cost_usd": round(generator.cost(prompt_tokens, completion_tokens), 4),
        }
    )


@dg.asset(group_name=GROUP, kinds={"python"})
def golden_questions(
    context: dg.AssetExecutionContext, chunks: Corpus, paths: ProjectPathsResource
) -> dg.Output[GoldenRelevance | None]:
    """The golden set's human-written questions, each with the chunks its answer overlaps and its
    documents: what every retriever is scored on beside the synthetic eval. None without a golden
    set (RAG_FT_GOLDEN_SET or --golden-set)."""
    if not paths.golden_set:
        context.log.info(f"no golden set ({GOLDEN_SET_ENV}): only the synthetic eval is scored")
        return dg.Output(None, metadata={"questions": 0})
    golden = golden_relevance(load_golden_set(Path(paths.golden_set)), chunks.chunks)
    per_question = pd.Series([len(c) for c in golden.chunks], dtype=int)
    return dg.Output(
        golden,
        metadata={
            "file": dg.MetadataValue.path(paths.golden_set),
            "questions": len(golden.questions),
            "unanswerable": len(golden.unanswerable),
            "unanswerable_examples": dg.MetadataValue.json(golden.unanswerable[:20]),
            "relevant_chunks_median": float(per_question.median()) if len(per_question) else 0.0,
            "preview": table(pd.DataFrame({"question": golden.questions, "relevant_chunks": per_question})),
        },
    )


@dg.asset(group_name=GROUP, kinds={"python", "pandas"})
def human_question_pairs(
    context: dg.AssetExecutionContext, chunks: Corpus, paths: ProjectPathsResource
) -> dg.Output[pd.DataFrame]:
    """Questions your team already has (an FAQ, support tickets: RAG_FT_TRAIN_QUESTIONS, golden-set
    format), each paired with the chunk its answer overlaps most. They are added to training only,
    never to evaluation. Empty without a file."""
    if not paths.train_questions:
        context.log.info(f"no file of questions to train on ({TRAIN_QUESTIONS_ENV})")
        return dg.Output(pd.DataFrame(columns=PAIR_COLUMNS), metadata={"dagster/row_count": 0})
    questions = load_golden_set(Path(paths.train_questions))
    pairs = human_pairs(questions, chunks.chunks)
    return dg.Output(
        pairs,
        metadata={
            "file": dg.MetadataValue.path(paths.train_questions),
            "dagster/row_count": len(pairs),
            "questions": len(questions),
            "unmatched": len(questions) - len(pairs),
            "preview": table(pairs[["chunk_id", "query"]]),
        },
    )


class SplitConfig(dg.Config, SplitSettings):
    pass


@dg.multi_asset(
    group_name=GROUP,
    outs={
        "train_pairs": dg.AssetOut(kinds={"pandas"}, description="Pairs the model is trained on."),
        "validation_pairs": dg.AssetOut(
            kinds={"pandas"}, description="A slice of the training share that picks the best checkpoint."
        ),
        "eval_pairs": dg.AssetOut(kinds={"pandas"}, description="Held-out pairs, used only to measure the models."),
    },
)
def split_question_pairs(
    context: dg.AssetExecutionContext,
    config: SplitConfig,
    question_pairs: pd.DataFrame,
    human_question_pairs: pd.DataFrame,
    golden_questions: GoldenRelevance | None,
    paths: ProjectPathsResource,
    question_generator: QuestionGeneratorResource,
):
    """A seeded split by chunk or document: eval is held out first, validation is taken from what
    remains. Pairs from people's questions join the training side only, unless their chunk (or
    document) is held out, in which case they are left out. A generated question that is word for
    word a golden-set question is left out: training on it would be training on the test."""
    settings = SplitSettings.model_validate(config.model_dump())
    generated = question_pairs[~question_pairs["query"].isin(golden_questions.questions if golden_questions else [])]
    if golden_asked := len(question_pairs) - len(generated):
        context.log.info(f"{golden_asked} generated questions left out: they are golden-set questions")
    split = split_pairs(generated, settings)
    if split.eval.empty:
        raise dg.Failure(f"no eval questions from {len(question_pairs)} pairs: add documents or raise eval_fraction")
    unit = SPLIT_UNITS[settings.split_by]
    held_out = set(split.eval[unit]) | set(split.validation[unit])
    human = human_question_pairs[~human_question_pairs[unit].isin(held_out)]
    if dropped := len(human_question_pairs) - len(human):
        context.log.info(f"{dropped} pairs from people's questions left out: their {unit} is held out")
    train = pd.concat([split.train, human], ignore_index=True) if len(human) else split.train
    train.attrs = split.train.attrs
    rule = (
        f"seeded (split_seed {settings.split_seed}) by {settings.split_by}: {settings.eval_fraction:.0%} of the "
        f"{SPLIT_UNITS[settings.split_by]}s held out for eval, "
        f"{settings.validation_fraction:.0%} of the rest for validation"
    )
    dataset = save_pairs_dataset(
        paths.artifact_dir("question_pairs") / DATASET_FOLDER,
        {"train": train, "validation": split.validation, "eval": split.eval},
        question_generator.public_settings(),
        rule,
    )
    context.log.info(f"the pairs as a Hugging Face dataset: {dataset}")
    for name, frame in (("train_pairs", train), ("validation_pairs", split.validation), ("eval_pairs", split.eval)):
        yield dg.Output(
            frame,
            output_name=name,
            metadata={
                "dagster/row_count": len(frame),
                **config.model_dump(),
                "golden_questions_left_out": golden_asked,
                "by_generator": dg.MetadataValue.json(frame["generator"].value_counts().to_dict()),
                "preview": table(frame[["chunk_id", "query"]], 5),
            },
        )


@dg.asset_check(
    asset="train_pairs",
    blocking=True,  # on the training side: a leaking split stops before training, not after it
    description="Nothing of the eval set is seen in training: no eval chunk is a training or validation "
    "positive, no question is in both, with a split by document no document is on both sides, and "
    "no golden question is trained on.",
    additional_ins={"eval_pairs": dg.AssetIn(), "validation_pairs": dg.AssetIn(), "golden_questions": dg.AssetIn()},
)
def eval_pairs_held_out(
    train_pairs: pd.DataFrame,
    eval_pairs: pd.DataFrame,
    validation_pairs: pd.DataFrame,
    golden_questions: GoldenRelevance | None,
) -> dg.AssetCheckResult:
    by_document = eval_pairs.attrs.get("split_by") == "document"
    golden = golden_questions.questions if golden_questions else []
    leaks = leakage(eval_pairs, pd.concat([train_pairs, validation_pairs]), by_document, golden)
    return dg.AssetCheckResult(
        passed=not any(leaks.values()), metadata={name: len(found) for name, found in leaks.items()}
    )
