"""Scaling: time and peak memory of chunking and indexing as the corpus grows.

    .venv/bin/python -m benchmarks.scale [--scale-docs 3 6 12]

Each corpus size (the first N FDA texts, capped at the number there are) is measured in a fresh
process (`python -m benchmarks.scale --one N`), so sizes share no memory and the peak resident
memory (VmHWM on Linux, else ru_maxrss) is that size's own. Chunking is convert + clean + chunk of
every document (the `clean_markdown` and `chunks` assets' work); indexing is `sync_index` with
`encode` into a fresh embedded Chroma store (`base_index`'s). The alternative for each figure is
the smallest size: time per chunk should stay roughly flat as the corpus grows (linear growth), so
the ratio largest / smallest should be near 1.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import (  # before rag_ft_pipeline: it sets the offline environment
    COSINE,
    MAX_TOKENS,
    REPO_ROOT,
    Figure,
    Result,
    Stopwatch,
    chroma_client,
    document_chunks,
    fda_paths,
    print_table,
    run_alone,
    token_count,
)
from rag_ft_pipeline.ingestion.chunking import chunk_document
from rag_ft_pipeline.retrieval.embedding import encode, load_model
from rag_ft_pipeline.retrieval.vector_store import sync_index
from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL

NAME = "scale"
LINEAR = 1.5  # per-chunk time at the largest size at most 1.5 times that at the smallest: roughly linear


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scale-docs", type=int, nargs="+", default=[3, 6, 12], help="scale: corpus sizes in documents"
    )


def max_rss_mb() -> float:
    """Peak resident memory of this process so far. On Linux, ru_maxrss carries the parent's peak
    over fork and exec (a child of a run that has trained a model would report gigabytes it never
    used), so the process's own high-water mark, VmHWM, is read there instead."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def measure_one(docs: int, start: int) -> dict[str, Any]:
    """Chunk and index the first `docs` texts in this process; peak memory after each stage."""
    paths = fda_paths(docs, start)
    count = token_count()  # loads the model: the memory floor both stages share
    model = load_model(DEFAULT_BASE_MODEL)
    # First calls pay one-off set-up costs (the sentence splitter's model, torch's kernels): paid
    # here, or they would make the smallest size look slowest per chunk.
    chunk_document("warm-up", "A first sentence for the splitter. And a second one.", MAX_TOKENS, count)
    model.encode(["warm-up"])
    floor = max_rss_mb()
    with Stopwatch() as chunking:
        chunks = [chunk for path in paths for chunk in document_chunks(path, count)]
    after_chunking = max_rss_mb()
    with tempfile.TemporaryDirectory() as tmp, Stopwatch() as indexing:
        collection = chroma_client(Path(tmp)).create_collection("scale", metadata=COSINE)
        sync_index(collection, chunks, encoder=lambda texts: encode(model, texts, batch_size=32))
    return {
        "docs": len(paths),
        "chunks": len(chunks),
        "chunking_s": chunking.seconds,
        "indexing_s": indexing.seconds,
        "rss_model_mb": floor,
        "rss_after_chunking_mb": after_chunking,
        "rss_after_indexing_mb": max_rss_mb(),
    }


def measure_in_subprocess(docs: int, start: int) -> dict[str, Any]:
    command = [sys.executable, "-W", "ignore", "-m", "benchmarks.scale", "--one", str(docs), "--fda-start", str(start)]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> Result:
    available = len(fda_paths(start=args.fda_start))
    sizes = sorted({min(n, available) for n in args.scale_docs})
    rows = []
    for docs in sizes:
        m = measure_in_subprocess(docs, args.fda_start)
        rows.append(
            {
                "docs": m["docs"],
                "chunks": m["chunks"],
                "chunking s": m["chunking_s"],
                "chunking ms/doc": 1000 * m["chunking_s"] / m["docs"],
                "chunking ms/chunk": 1000 * m["chunking_s"] / m["chunks"],
                "indexing s": m["indexing_s"],
                "indexing ms/doc": 1000 * m["indexing_s"] / m["docs"],
                "indexing ms/chunk": 1000 * m["indexing_s"] / m["chunks"],
                "RSS model MB": m["rss_model_mb"],
                "RSS chunked MB": m["rss_after_chunking_mb"],
                "RSS indexed MB": m["rss_after_indexing_mb"],
            }
        )
    print(f"sizes {sizes} (of {available} FDA texts), each in a fresh process")
    print_table(rows)
    small, large = rows[0], rows[-1]
    span = f"{large['docs']} vs {small['docs']} docs"
    return Result(
        NAME,
        [
            Figure(
                f"chunking ms/chunk, {span}",
                large["chunking ms/chunk"],
                small["chunking ms/chunk"],
                "ms",
                at_most=LINEAR,
            ),
            Figure(
                f"indexing ms/chunk, {span}",
                large["indexing ms/chunk"],
                small["indexing ms/chunk"],
                "ms",
                at_most=LINEAR,
            ),
            Figure(f"peak RSS, {span}", large["RSS indexed MB"], small["RSS indexed MB"], "MB"),
        ],
        {"sizes": rows, "available_documents": available},
    )


if __name__ == "__main__":
    if "--one" in sys.argv:  # the parent's measurement of one size
        child = argparse.ArgumentParser()
        child.add_argument("--one", type=int, required=True)
        child.add_argument("--fda-start", type=int, default=0)
        one = child.parse_args()
        print(json.dumps(measure_one(one.one, one.fda_start)))
    else:
        run_alone(__name__)
