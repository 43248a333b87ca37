"""LLM question generation: the concurrent generator against one request at a time.

    .venv/bin/python -m benchmarks.llm_throughput [--llm-chunks 48] [--llm-delay 0.2]

A local OpenAI-compatible server (the tests' scripted one) answers every request after a fixed
delay, standing in for an LLM's latency. The same FDA chunks go through `generate_pairs` with the
LLM generator at its default concurrency (8 requests in flight) and at concurrency 1, each with a
fresh cache and a fresh server. Every distinct chunk text must be asked exactly once: a request
for a passage already asked (a duplicate) is wasted money.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import Figure, Result, Stopwatch, fda_chunks, print_table, run_alone
from rag_ft_pipeline.common.types import Chunk
from rag_ft_pipeline.questions.batch import generate_pairs
from rag_ft_pipeline.questions.cache import QuestionCache
from rag_ft_pipeline.questions.llm import LLMQuestionGenerator, LLMSettings
from rag_ft_pipeline_tests.openai_server import OpenAICompatibleServer, Reply

NAME = "llm_throughput"
TARGET = 6.0  # at concurrency 8, at least 6 times the chunks per second of one request at a time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--llm-chunks", type=int, default=48, help="llm_throughput: chunks sent for questions")
    parser.add_argument(
        "--llm-delay", type=float, default=0.2, help="llm_throughput: seconds the server takes per answer"
    )


def generate(chunks: Sequence[Chunk], delay: float, cache_path: Path, concurrency: int | None) -> dict[str, Any]:
    """One pass over the chunks against a fresh server; concurrency None: the generator's default."""
    script = lambda request, attempt: Reply(questions=["Why does this requirement apply to the device?"], delay=delay)  # noqa: E731
    with OpenAICompatibleServer(script) as server:
        options: dict[str, Any] = {} if concurrency is None else {"concurrency": concurrency}
        settings = LLMSettings(llm_model="benchmark", **options)
        generator = LLMQuestionGenerator(settings, api_key="benchmark", base_url=server.base_url)
        cache = QuestionCache(cache_path)
        try:
            with Stopwatch() as clock:
                rows, report = generate_pairs(chunks, generator, cache)
        finally:
            cache.close()
        passages = server.passages_requested()
    return {
        "concurrency": generator.concurrency,
        "chunks": len(chunks),
        "pairs": len(rows),
        "failed": len(report.failures),
        "requests": len(passages),
        "duplicate requests": len(passages) - len(set(passages)),
        "seconds": round(clock.seconds, 2),
        "chunks/s": len(chunks) / clock.seconds,
    }


def run(args: argparse.Namespace) -> Result:
    chunks = fda_chunks(args.llm_chunks, args.fda_start)
    with tempfile.TemporaryDirectory() as tmp:
        serial = generate(chunks, args.llm_delay, Path(tmp) / "serial.sqlite", concurrency=1)
        concurrent = generate(chunks, args.llm_delay, Path(tmp) / "concurrent.sqlite", concurrency=None)
    distinct = len({c.content_hash for c in chunks})
    print(f"{len(chunks)} chunks ({distinct} distinct texts), server delay {args.llm_delay} s per answer")
    print_table([serial, concurrent])
    return Result(
        NAME,
        [
            Figure(
                f"questions at concurrency {concurrent['concurrency']} vs 1",
                concurrent["chunks/s"],
                serial["chunks/s"],
                "chunks/s",
                at_least=TARGET,
            ),
            Figure("duplicate requests", concurrent["duplicate requests"], None, "requests", at_least=0, at_most=0),
        ],
        {
            "chunks": len(chunks),
            "distinct_texts": distinct,
            "delay_seconds": args.llm_delay,
            "serial": serial,
            "concurrent": concurrent,
        },
    )


if __name__ == "__main__":
    run_alone(__name__)
