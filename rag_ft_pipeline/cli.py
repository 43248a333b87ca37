"""`rag-ft`: run the pipeline headless, or open the Dagster UI on the same instance."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

from rag_ft_pipeline.settings import ARTIFACTS_DIR_ENV, BASE_MODEL_ENV, DOCS_DIR_ENV, Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag-ft", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--docs-dir", help=f"documents folder (env {DOCS_DIR_ENV}; default data/sample)")
    common.add_argument("--artifacts-dir", help=f"artifact root (env {ARTIFACTS_DIR_ENV}; default artifacts)")
    common.add_argument("--base-model", help=f"sentence-transformers id or path (env {BASE_MODEL_ENV})")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", parents=[common], help="materialize the pipeline and print the comparison")
    run.add_argument("--select", default="*", help="Dagster asset selection, e.g. 'chunks' or 'question_pairs+' (default: everything)")
    ui = commands.add_parser("ui", parents=[common], help="register the documents and start `dagster dev`")
    ui.add_argument("--port", type=int, default=3000)
    return parser


def _apply_settings(args: argparse.Namespace) -> Settings:
    """Flags override the environment; the Dagster home defaults to one under the artifact root."""
    for flag, env in (("docs_dir", DOCS_DIR_ENV), ("artifacts_dir", ARTIFACTS_DIR_ENV), ("base_model", BASE_MODEL_ENV)):
        if getattr(args, flag):
            os.environ[env] = str(getattr(args, flag))
    settings = Settings.from_env()
    for env in (DOCS_DIR_ENV, ARTIFACTS_DIR_ENV):  # absolute, so `dagster dev` subprocesses agree
        os.environ[env] = str(getattr(settings, "docs_dir" if env == DOCS_DIR_ENV else "artifacts_dir"))
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(settings.artifacts_dir / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    return settings


def _print_comparison(settings: Settings) -> None:
    path = settings.artifacts_dir / "comparison" / "comparison.json"
    if not path.exists():
        return
    import pandas as pd

    by_model = json.loads(path.read_text())
    table = pd.DataFrame(by_model)
    if {"base", "finetuned"} <= set(table.columns):
        table["difference"] = table["finetuned"] - table["base"]
    print("\n" + table.round(4).to_string())
    print(f"\nchart: {path.with_name('comparison.png')}\ntable: {path}")


def run(settings: Settings, select: str) -> int:
    import dagster as dg

    from rag_ft_pipeline.definitions import build_definitions
    from rag_ft_pipeline.runner import materialize_pipeline, register_documents

    instance = dg.DagsterInstance.get()
    doc_ids = register_documents(settings, instance)
    print(f"rag-ft: {len(doc_ids)} documents in {settings.docs_dir}; artifacts in {settings.artifacts_dir}")
    result = materialize_pipeline(build_definitions(settings), instance, select)
    if not result.success:
        print(f"rag-ft: run {result.run_id} failed; see the log above or `rag-ft ui`", file=sys.stderr)
        return 1
    _print_comparison(settings)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = _apply_settings(args)
    warnings.filterwarnings("ignore", module="dagster")
    import dagster as dg

    from rag_ft_pipeline.runner import NoDocumentsError, register_documents

    try:
        if args.command == "run":
            return run(settings, args.select)
        register_documents(settings, dg.DagsterInstance.get())
    except NoDocumentsError as error:
        print(f"rag-ft: {error}", file=sys.stderr)
        return 2
    os.execvp("dagster", ["dagster", "dev", "-m", "rag_ft_pipeline.definitions", "-p", str(args.port)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
