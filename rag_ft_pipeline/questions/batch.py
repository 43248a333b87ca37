"""Running a question generator over a whole corpus: cached, concurrent, budgeted, fault-tolerant."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field

from pydantic import BaseModel, Field

from rag_ft_pipeline.common.progress import Progress
from rag_ft_pipeline.common.types import Chunk
from rag_ft_pipeline.questions.cache import QuestionCache
from rag_ft_pipeline.questions.generator import Generation, QuestionGenerator


class Budget(BaseModel):
    """Limits on what one run may spend; reaching one stops cleanly, keeping what was generated."""

    max_chunks: int | None = Field(
        default=None, ge=0, description="Chunks sent to the generator in one run at most (cache hits are free)."
    )
    max_cost_usd: float | None = Field(default=None, ge=0, description="Estimated spend of one run at most.")

    def allows(self, sent: int, cost: float) -> bool:
        return (self.max_chunks is None or sent < self.max_chunks) and (
            self.max_cost_usd is None or cost < self.max_cost_usd
        )


@dataclass
class GenerationReport:
    chunks: int = 0
    cache_hits: int = 0
    generated: int = 0
    chunks_with_pairs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    skipped_for_budget: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)

    @property
    def budget_reached(self) -> bool:
        return self.skipped_for_budget > 0


PAIR_COLUMNS = ["chunk_id", "doc_id", "content_hash", "query", "positive", "generator"]


def pair_rows(chunk: Chunk, pairs: Sequence[dict[str, str]], generator: str) -> list[dict]:
    return [
        {
            "chunk_id": chunk.chunk_id,
            "doc_id": chunk.doc_id,
            "content_hash": chunk.content_hash,
            "query": pair["query"],
            "positive": pair["positive"],
            "generator": generator,
        }
        for pair in pairs
    ]


@dataclass
class _Answers:
    """Each chunk text's pairs, cached as soon as they arrive and counted in the report."""

    generator: QuestionGenerator
    cache: QuestionCache
    fingerprint: str
    by_text: dict[str, list[dict]]
    report: GenerationReport

    def record(self, chunk: Chunk, future: Future[Generation]) -> None:
        report = self.report
        try:
            generation = future.result()
        except Exception as error:  # one bad chunk must not stop the others
            report.failures.append({"chunk_id": chunk.chunk_id, "reason": f"{type(error).__name__}: {error}"[:500]})
            return
        self.by_text[chunk.content_hash] = [asdict(pair) for pair in generation.pairs]
        self.cache.put(chunk.content_hash, self.fingerprint, self.by_text[chunk.content_hash])
        report.generated += 1
        report.prompt_tokens += generation.prompt_tokens
        report.completion_tokens += generation.completion_tokens
        report.cost_usd = self.generator.cost(report.prompt_tokens, report.completion_tokens)

    def rows(self, chunks: Sequence[Chunk]) -> list[dict]:
        rows: list[dict] = []
        for chunk in chunks:
            if pairs := self.by_text.get(chunk.content_hash):
                self.report.chunks_with_pairs += 1
                rows.extend(pair_rows(chunk, pairs, self.generator.name))
        return rows


def generate_pairs(
    chunks: Sequence[Chunk],
    generator: QuestionGenerator,
    cache: QuestionCache,
    budget: Budget | None = None,
    progress: Progress | None = None,
) -> tuple[list[dict], GenerationReport]:
    """Pairs for every chunk, in chunk order.

    Cached answers are reused; each distinct chunk text not yet answered is sent once, up to
    `generator.concurrency` at a time, and its answer is cached as soon as it arrives (so an
    interrupted run resumes where it stopped). A chunk whose generation fails is recorded with
    the reason, not cached (the next run retries it), and the others go on. Once the budget is
    spent no new chunk is sent; answers already in flight are kept.
    """
    budget = budget or Budget()
    report = GenerationReport(chunks=len(chunks))
    fingerprint = generator.fingerprint()
    answers = _Answers(
        generator, cache, fingerprint, cache.get_many([c.content_hash for c in chunks], fingerprint), report
    )
    report.cache_hits = sum(1 for c in chunks if c.content_hash in answers.by_text)
    first_of_text = {c.content_hash: c for c in reversed(chunks)}  # identical texts: one request
    todo = [c for h, c in reversed(first_of_text.items()) if h not in answers.by_text]
    pending: dict[Future[Generation], Chunk] = {}

    def collect() -> None:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            answers.record(pending.pop(future), future)
        if progress is not None:
            progress(report.generated + len(report.failures), len(todo))

    def projected_cost() -> float:
        """Spent so far plus what the requests in flight will likely cost."""
        average = report.cost_usd / report.generated if report.generated else 0.0
        return report.cost_usd + average * len(pending)

    sent = 0
    with ThreadPoolExecutor(max_workers=max(1, generator.concurrency)) as pool:
        for chunk in todo:
            while len(pending) >= max(1, generator.concurrency):
                collect()
            if not budget.allows(sent, projected_cost()):
                report.skipped_for_budget += 1
                continue
            pending[pool.submit(generator.generate, chunk.text)] = chunk
            sent += 1
        while pending:
            collect()
    return answers.rows(chunks), report
