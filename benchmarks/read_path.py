"""The read path under load: 20 concurrent searches while the index is updated.

    .venv/bin/python -m benchmarks.read_path [--read-chunks 1500] [--read-new 300] [--readers 20]

An index of the first N FDA chunks is built with the base model. Then `--readers` threads search
it as `rag-ft search` does (`search_index`: the question encoded by the model, the published
version searched) for as long as an update runs that changes a fifth of the chunks and adds
`--read-new` more; the same readers run once more with no update, for comparison. Reported: the
searches, the errors (target 0), the index sizes the readers saw (each must be the old or the new
size: never a half-built version) and the p50 / p95 latency with and without the update.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.common import Figure, Result, chroma_client, fda_chunks, print_table, run_alone
from rag_ft_pipeline.common.hashing import content_hash
from rag_ft_pipeline.questions.inverse_cloze import InverseClozeGenerator
from rag_ft_pipeline.retrieval.embedding import encode, load_model
from rag_ft_pipeline.retrieval.search import search_index
from rag_ft_pipeline.retrieval.versions import IndexVersions
from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL

NAME = "read_path"
INDEX = "base-read-path"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--read-chunks", type=int, default=1500, help="read_path: chunks in the index at first")
    parser.add_argument("--read-new", type=int, default=300, help="read_path: chunks the update adds")
    parser.add_argument("--readers", type=int, default=20, help="read_path: concurrent searchers")


def searches(client, model, questions: list[str], readers: int, busy: threading.Event | None, seconds: float):
    """Run `readers` threads that search in turn until `busy` clears (or for `seconds`)."""
    latencies, sizes, errors = [], [], []
    index = IndexVersions(client, INDEX)

    def reader(offset: int) -> None:
        deadline = time.monotonic() + seconds
        i = offset
        while (busy.is_set() if busy is not None else time.monotonic() < deadline) or not latencies:
            started = time.perf_counter()
            try:
                sizes.append(index.current().count())
                hits = search_index(client, INDEX, encode(model, [questions[i % len(questions)]])[0], 5)
                if len(hits) != 5:
                    errors.append(f"{len(hits)} hits")
            except Exception as error:  # counted: the target is none
                errors.append(repr(error))
            latencies.append(time.perf_counter() - started)
            i += readers

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, sizes, errors


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1] if len(values) > 1 else values[0]


def run(args: argparse.Namespace) -> Result:
    chunks = fda_chunks(args.read_chunks + args.read_new, args.fda_start)
    old = chunks[: args.read_chunks]
    revised = {
        c.chunk_id: replace(c, text=c.text + " (revised)", content_hash=content_hash(c.text + " (revised)"))
        for c in old[::5]
    }
    new = [revised.get(c.chunk_id, c) for c in old] + chunks[args.read_chunks :]
    generator = InverseClozeGenerator()
    questions = [p.query for c in old[:200] for p in generator.generate(c.text).pairs]
    model = load_model(DEFAULT_BASE_MODEL)
    with tempfile.TemporaryDirectory() as tmp:
        client = chroma_client(Path(tmp))
        IndexVersions(client, INDEX).update(old, lambda texts: encode(model, texts))
        idle = searches(client, model, questions, args.readers, None, seconds=20)
        updating = threading.Event()
        updating.set()
        update_seconds: list[float] = []

        def update() -> None:
            started = time.perf_counter()
            IndexVersions(client, INDEX).update(new, lambda texts: encode(model, texts))
            update_seconds.append(time.perf_counter() - started)
            updating.clear()

        writer = threading.Thread(target=update)
        writer.start()
        during = searches(client, model, questions, args.readers, updating, seconds=0)
        writer.join()
        client.close()
    rows = []
    for label, (latencies, sizes, errors) in (("idle", idle), ("during update", during)):
        rows.append(
            {
                "readers": label,
                "searches": len(latencies),
                "errors": len(errors),
                "index sizes seen": sorted(set(sizes)),
                "p50 ms": 1000 * percentile(latencies, 50),
                "p95 ms": 1000 * percentile(latencies, 95),
            }
        )
    print(
        f"{len(old)} chunks indexed, then an update of {len(revised)} changed and {len(new) - len(old)} new "
        f"({update_seconds[0]:.1f} s) under {args.readers} concurrent searches"
    )
    print_table(rows)
    complete = set(during[1]) <= {len(old), len(new)}
    return Result(
        NAME,
        [
            Figure("search p95 during an update vs idle", rows[1]["p95 ms"], rows[0]["p95 ms"], "ms"),
            Figure("errors during the update", len(during[2]), None, "", at_least=0, at_most=0),
            Figure("searches of a half-built index", 0 if complete else 1, None, "", at_least=0, at_most=0),
        ],
        {
            "rows": rows,
            "update_seconds": update_seconds[0],
            "old_size": len(old),
            "new_size": len(new),
            "errors": (idle[2] + during[2])[:5],
        },
    )


if __name__ == "__main__":
    run_alone(__name__)
