"""`rag-ft`: run the pipeline headless, search and evaluate what it made, or open the Dagster UI on
the same instance. Bad input at the front door is one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

from rag_ft_pipeline.ingestion.discovery import NoDocumentsError, document_ids
from rag_ft_pipeline.retrieval.published import BEST
from rag_ft_pipeline.retrieval.retrievers import Retriever
from rag_ft_pipeline.settings import (
    ARTIFACTS_DIR_ENV,
    BASE_MODEL_ENV,
    DOCS_DIR_ENV,
    GOLDEN_SET_ENV,
    TRAIN_QUESTIONS_ENV,
    Settings,
)

FLAGS = (
    ("docs_dir", DOCS_DIR_ENV),
    ("artifacts_dir", ARTIFACTS_DIR_ENV),
    ("base_model", BASE_MODEL_ENV),
    ("golden_set", GOLDEN_SET_ENV),
    ("train_questions", TRAIN_QUESTIONS_ENV),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag-ft", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--docs-dir", help=f"documents folder (env {DOCS_DIR_ENV}; default data/sample)")
    common.add_argument("--artifacts-dir", help=f"artifact root (env {ARTIFACTS_DIR_ENV}; default artifacts)")
    common.add_argument("--base-model", help=f"sentence-transformers hub id or local folder (env {BASE_MODEL_ENV})")
    common.add_argument(
        "--golden-set", help=f"JSON lines of human-written questions to score on (env {GOLDEN_SET_ENV})"
    )
    common.add_argument(
        "--train-questions", help=f"JSON lines of human-written questions to train on (env {TRAIN_QUESTIONS_ENV})"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", parents=[common], help="materialize the pipeline and print the comparison")
    run.add_argument("--select", help="asset selection, e.g. 'key:chunks', 'group:questions' or 'key:question_pairs+'")
    run.add_argument(
        "--onnx", action="store_true", help="also export the best model to ONNX int8, measured beside torch"
    )
    run.add_argument(
        "--config", type=Path, help="a run config YAML (as the UI launchpad takes); `rag-ft config` writes one"
    )
    commands.add_parser(
        "config", parents=[common], help="print today's run config (every asset config and setting) as YAML"
    )
    search = commands.add_parser("search", parents=[common], help="a question in: the top chunks of a retriever")
    search.add_argument("question")
    search.add_argument("-k", type=int, default=5)
    search.add_argument(
        "--retriever",
        action="append",
        choices=[BEST, *(r.value for r in Retriever)],
        help="best (default: what the comparison found best), a model's index, bm25, or a model fused with BM25; "
        "repeat it to compare them side by side",
    )
    evaluate = commands.add_parser(
        "evaluate", parents=[common], help="score any saved model on eval pairs / a golden file"
    )
    evaluate.add_argument("model", help="a model folder, an ONNX export folder, a hub id, or 'base' for the base model")
    evaluate.add_argument("--golden", help="JSON lines of human-written questions (see README)")
    evaluate.add_argument("--no-eval-pairs", action="store_true", help="score only the golden file")
    ui = commands.add_parser(
        "ui", parents=[common], help="register the documents and start the Dagster UI (dagster dev)"
    )
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to serve beyond this machine (e.g. in a container)")
    return parser


def _apply_settings(args: argparse.Namespace) -> Settings:
    """Flags override the environment; paths become absolute so every Dagster process agrees."""
    for flag, env in FLAGS:
        if getattr(args, flag, None):
            os.environ[env] = str(getattr(args, flag))
    settings = Settings.from_env()
    for flag, env in FLAGS:
        value = getattr(settings, flag)
        if value and isinstance(value, Path):
            os.environ[env] = str(value)
    return settings


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = _apply_settings(args)
    try:  # before the heavy imports, so a wrong folder is reported at once
        document_ids(settings.docs_dir)
    except NoDocumentsError as error:
        print(f"rag-ft: {error} (set --docs-dir or {DOCS_DIR_ENV})", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore", module="dagster")
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a bar per model load is noise on a command line
    from rag_ft_pipeline.cli import commands

    try:
        if args.command == "run":
            return commands.run(settings, args.select, args.onnx, args.config)
        if args.command == "config":
            return commands.config(settings)
        if args.command == "search":
            return commands.search(settings, args.question, args.k, args.retriever or [BEST])
        if args.command == "evaluate":
            return commands.evaluate(settings, args.model, args.golden, not args.no_eval_pairs)
        return commands.ui(settings, args.host, args.port)
    except commands.FRONT_DOOR_ERRORS as error:
        print(f"rag-ft: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
