"""Boilerplate chunks before and after cleaning, on the shared FDA corpus.

    .venv/bin/python -m benchmarks.cleaning [--docs 100] [--json out.json]

"Before" is the converted text with only Markdown syntax stripped; "after" is the pipeline's
cleaning. A chunk counts as boilerplate when no sentence in it is worth a question (contacts,
contents, headers, references): the same test the `chunks` asset reports.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

from rag_ft_pipeline.common.text import is_boilerplate
from rag_ft_pipeline.ingestion.chunking import chunk_document, token_counter
from rag_ft_pipeline.ingestion.cleaning import clean_text
from rag_ft_pipeline.ingestion.conversion import document_markdown
from rag_ft_pipeline.ingestion.markdown import strip_markdown
from rag_ft_pipeline.questions.inverse_cloze import InverseClozeGenerator
from rag_ft_pipeline.retrieval.embedding import load_model
from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def raw_text(path: Path) -> str:
    text, is_markdown = document_markdown(path)
    return strip_markdown(text) if is_markdown else text.replace("\f", "\n\n")


def measure(paths: list[Path], clean: bool, count, max_tokens: int) -> dict:
    generator = InverseClozeGenerator()
    chunks = []
    for path in paths:
        text = raw_text(path)
        if clean:
            text, _ = clean_text(text)
        chunks.extend(chunk_document(path.name, text, max_tokens, count))
    boilerplate = [c for c in chunks if is_boilerplate(c.text)]
    with_question = sum(1 for c in chunks if generator.generate(c.text).pairs)
    examples = [c.text[:120].replace("\n", " ") for c in random.Random(0).sample(boilerplate, min(3, len(boilerplate)))]
    return {
        "chunks": len(chunks),
        "boilerplate": len(boilerplate),
        "boilerplate_share": round(len(boilerplate) / max(len(chunks), 1), 3),
        "question_yield": round(with_question / max(len(chunks), 1), 3),
        "examples": examples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=100, help="FDA guidance text files to use (of ~380)")
    parser.add_argument("--max-tokens", type=int, default=112)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    count = token_counter(load_model(DEFAULT_BASE_MODEL).tokenizer)
    corpora = {
        f"fda-guidance ({args.docs} text files)": sorted((SHARED / "fda-guidance").glob("*.md"))[: args.docs],
        "fda-pdfs (12 PDFs)": sorted((SHARED / "fda-pdfs").glob("*.pdf")),
    }
    results = {}
    for name, paths in corpora.items():
        started = time.perf_counter()
        before, after = measure(paths, False, count, args.max_tokens), measure(paths, True, count, args.max_tokens)
        results[name] = {"before": before, "after": after, "seconds": round(time.perf_counter() - started, 1)}
        print(f"\n{name}")
        print(f"  {'':8} {'chunks':>7} {'boilerplate':>12} {'share':>7} {'question yield':>15}")
        for label, r in (("before", before), ("after", after)):
            print(
                f"  {label:8} {r['chunks']:>7} {r['boilerplate']:>12} {r['boilerplate_share']:>7.1%}"
                f" {r['question_yield']:>15.1%}"
            )
        print(f"  boilerplate after/before: {after['boilerplate'] / max(before['boilerplate'], 1):.2f}x")
        for label, r in (("before", before), ("after", after)):
            for example in r["examples"]:
                print(f"  {label} example: {example}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
