"""What the benchmarks share: FDA documents and chunks, a stopwatch, figures, the summary table and
the command line that runs one or several benchmarks.

Every figure is a ratio against the obvious alternative measured in the same run: the machines are
noisy, so absolute times from different runs are not comparable, ratios within one run are.
"""

from __future__ import annotations

import os

# Everything runs offline: the base model comes from the packaged copy. Hugging Face reads this when
# it is first imported, so the benchmarks import this module before anything that imports it.
os.environ["HF_HUB_OFFLINE"] = "1"

import argparse
import json
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Protocol, cast

import chromadb
import dagster as dg
from chromadb.api import ClientAPI
from tabulate import tabulate

from rag_ft_pipeline.common.types import Chunk
from rag_ft_pipeline.defs.ingestion import ChunkingConfig
from rag_ft_pipeline.ingestion.chunking import TokenCounter, chunk_document, token_counter
from rag_ft_pipeline.ingestion.conversion import convert_document
from rag_ft_pipeline.retrieval.embedding import load_model
from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL, Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FDA_GUIDANCE = SHARED / "fda-guidance"
MAX_TOKENS = ChunkingConfig().max_tokens  # the pipeline's default chunk size
COSINE = {"hnsw:space": "cosine"}  # as the pipeline's collections
# Dagster logs every step at INFO; the benchmarks print their own summary instead.
QUIET_RUN_CONFIG: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


# --- documents and chunks ---------------------------------------------------------------------


def fda_paths(count: int | None = None, start: int = 0) -> list[Path]:
    """`count` FDA guidance texts in name order from position `start` (fewer if the corpus ends)."""
    if not FDA_GUIDANCE.is_dir():
        raise SystemExit(f"shared FDA corpus not found at {FDA_GUIDANCE}")
    paths = sorted(FDA_GUIDANCE.glob("*.md"))[start:]
    return paths if count is None else paths[:count]


def token_count() -> TokenCounter:
    return token_counter(load_model(DEFAULT_BASE_MODEL).tokenizer)


def document_chunks(path: Path, count: TokenCounter) -> list[Chunk]:
    """One document converted, cleaned and chunked as the `clean_markdown` and `chunks` assets do."""
    text, _ = convert_document(path, path.parent)
    return chunk_document(path.name, text, MAX_TOKENS, count)


def iter_fda_chunks(start: int = 0) -> Iterator[Chunk]:
    """Chunks of the FDA texts in order, converted only as far as they are read."""
    count = token_count()
    for path in fda_paths(start=start):
        yield from document_chunks(path, count)


def fda_chunks(limit: int, start: int = 0) -> list[Chunk]:
    return list(islice(iter_fda_chunks(start), limit))


def copy_documents(paths: Sequence[Path], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for path in paths:
        shutil.copy(path, folder / path.name)
    return folder


# --- the pipeline ------------------------------------------------------------------------------


def offline_settings(docs_dir: Path, artifacts_dir: Path) -> Settings:
    """Pipeline settings that use the offline question generator whatever the environment holds
    (the definitions read OPENAI_API_KEY when they are built)."""
    os.environ.pop("OPENAI_API_KEY", None)
    os.environ.pop("OPENAI_BASE_URL", None)
    return Settings(docs_dir=docs_dir, artifacts_dir=artifacts_dir, base_model=DEFAULT_BASE_MODEL)


def assets_and_checks(defs: dg.Definitions) -> list[Any]:
    """What `runner.materialize_pipeline` materializes from, for runs it cannot make (one partition,
    a run config)."""
    return [*(defs.assets or []), *(defs.asset_checks or [])]


def require_success(result: dg.ExecuteInProcessResult) -> None:
    if not result.success:
        failed = [event.message for event in result.all_events if event.is_failure]
        raise RuntimeError(f"pipeline run failed: {failed[:3]}")


def chroma_client(folder: Path) -> ClientAPI:
    """An embedded, persistent Chroma store, as the pipeline's default vector store."""
    return chromadb.PersistentClient(path=str(folder), settings=chromadb.Settings(anonymized_telemetry=False))


# --- measuring ---------------------------------------------------------------------------------


class Stopwatch:
    """`with Stopwatch() as clock: ...`, then `clock.seconds`."""

    seconds: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._started


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One measured figure: the pipeline's value against the alternative's, from the same run.
    The target applies to the ratio (pipeline / alternative), or to the value itself when there
    is no alternative (a count that must be zero, say)."""

    figure: str
    pipeline: float
    alternative: float | None
    unit: str
    at_least: float | None = None
    at_most: float | None = None

    @property
    def ratio(self) -> float | None:
        return self.pipeline / self.alternative if self.alternative else None

    @property
    def checked(self) -> float | None:
        return self.ratio if self.alternative is not None else self.pipeline

    @property
    def target(self) -> str:
        suffix = "×" if self.alternative is not None else ""
        if self.at_least is not None and self.at_least == self.at_most:
            return f"= {self.at_least:g}{suffix}"
        bounds = [
            f"≥ {self.at_least:g}{suffix}" if self.at_least is not None else "",
            f"≤ {self.at_most:g}{suffix}" if self.at_most is not None else "",
        ]
        return " and ".join(b for b in bounds if b) or "-"

    @property
    def met(self) -> bool | None:
        if self.at_least is None and self.at_most is None:
            return None
        value = self.checked
        if value is None:
            return False
        return (self.at_least is None or value >= self.at_least) and (self.at_most is None or value <= self.at_most)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "target": self.target, "met": self.met}


@dataclass
class Result:
    benchmark: str
    figures: list[Figure]
    details: dict[str, Any]
    seconds: float = 0.0
    config: dict[str, Any] = field(default_factory=dict)

    def figure(self, name: str) -> Figure:
        return next(f for f in self.figures if f.figure == name)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "figures": [f.to_json() for f in self.figures]}


def _number(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.4g} {unit}".strip()


def print_table(rows: Sequence[dict[str, Any]]) -> None:
    shown = [{k: ("yes" if v else "no") if isinstance(v, bool) else v for k, v in row.items()} for row in rows]
    print(tabulate(shown, headers="keys", floatfmt=".4g", intfmt=","), flush=True)


def print_summary(results: Sequence[Result]) -> None:
    rows = [
        {
            "benchmark": r.benchmark,
            "figure": f.figure,
            "pipeline": _number(f.pipeline, f.unit),
            "alternative": _number(f.alternative, f.unit),
            "ratio": _number(f.ratio, "×"),
            "target": f.target,
            "met?": {True: "yes", False: "NO", None: "-"}[f.met],
        }
        for r in results
        for f in r.figures
    ]
    print("\n== summary ==")
    print_table(rows)


# --- the command line --------------------------------------------------------------------------


class Benchmark(Protocol):
    """A benchmark module: a name, its size flags and a run that prints its details."""

    NAME: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> Result: ...


def parse_args(
    benchmarks: Sequence[Benchmark],
    argv: Sequence[str] | None = None,
    choose: bool = False,
    description: str | None = None,
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    if choose:
        parser.add_argument(
            "--only",
            nargs="+",
            action="extend",
            choices=[b.NAME for b in benchmarks],
            metavar="NAME",
            help=f"run only these, in the usual order ({', '.join(b.NAME for b in benchmarks)})",
        )
    parser.add_argument("--json", type=Path, help="write all results here (default: artifacts/benchmarks/<names>.json)")
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="indexing, training: runs of the alternative and the pipeline, alternating; the best of each counts",
    )
    parser.add_argument(
        "--fda-start",
        type=int,
        default=0,
        help="position in the name-sorted FDA texts where documents are taken from (the tests pick short ones)",
    )
    for benchmark in benchmarks:
        benchmark.add_arguments(parser)
    return parser.parse_args(argv)


def main(
    benchmarks: Sequence[Benchmark],
    argv: Sequence[str] | None = None,
    choose: bool = False,
    description: str | None = None,
) -> list[Result]:
    """Run the selected benchmarks in order, print each one's details and then the summary table,
    and write every result as JSON."""
    args = parse_args(benchmarks, argv, choose, description)
    selected = [b for b in benchmarks if not getattr(args, "only", None) or b.NAME in args.only]
    results = []
    for benchmark in selected:
        print(f"\n== {benchmark.NAME} ==", flush=True)
        with Stopwatch() as clock:
            result = benchmark.run(args)
        result.seconds = round(clock.seconds, 1)
        result.config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        results.append(result)
    print_summary(results)
    names = "all" if len(selected) == len(benchmarks) > 1 else "-".join(b.NAME for b in selected)
    out = args.json or REPO_ROOT / "artifacts" / "benchmarks" / f"{names}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([r.to_json() for r in results], indent=2, ensure_ascii=False))
    print(f"\nresults: {out}")
    return results


def run_alone(module_name: str) -> None:
    """`python -m benchmarks.NAME`: the same command line, for that benchmark only."""
    module = sys.modules[module_name]
    main([cast(Benchmark, module)], description=module.__doc__)
