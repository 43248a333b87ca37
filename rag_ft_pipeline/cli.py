"""`rag-ft`: run the pipeline headless, or open the Dagster UI on the same instance."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from rag_ft_pipeline.ingest import NoDocumentsError, document_ids
from rag_ft_pipeline.settings import ARTIFACTS_DIR_ENV, BASE_MODEL_ENV, DOCS_DIR_ENV, GOLDEN_SET_ENV, Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag-ft", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--docs-dir", help=f"documents folder (env {DOCS_DIR_ENV}; default data/sample)")
    common.add_argument("--artifacts-dir", help=f"artifact root (env {ARTIFACTS_DIR_ENV}; default artifacts)")
    common.add_argument("--base-model", help=f"sentence-transformers id or path (env {BASE_MODEL_ENV})")
    common.add_argument("--golden-set", help=f"JSON lines of human-written questions to score too (env {GOLDEN_SET_ENV})")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", parents=[common], help="materialize the pipeline and print the comparison")
    run.add_argument("--select", help="Dagster asset selection, e.g. 'key:chunks' or 'key:question_pairs+' (default: everything but onnx_model)")
    run.add_argument("--onnx", action="store_true", help="also export the best model to ONNX int8 and measure it beside torch")
    search = commands.add_parser("search", parents=[common], help="a question in: the top chunks of the base and the fine-tuned model side by side")
    search.add_argument("question")
    search.add_argument("-k", type=int, default=5)
    evaluate = commands.add_parser("evaluate", parents=[common], help="score any saved model on the eval pairs and/or a golden file")
    evaluate.add_argument("model", help="a model folder, an ONNX export folder, a hub id, or 'base' for the base model")
    evaluate.add_argument("--golden", help="JSON lines of human-written questions (see README)")
    evaluate.add_argument("--no-eval-pairs", action="store_true", help="score only the golden file")
    ui = commands.add_parser("ui", parents=[common], help="register the documents and start `dagster dev`")
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to serve beyond this machine (e.g. in a container)")
    return parser


def _apply_settings(args: argparse.Namespace) -> Settings:
    """Flags override the environment; the Dagster home defaults to one under the artifact root."""
    flags = (("docs_dir", DOCS_DIR_ENV), ("artifacts_dir", ARTIFACTS_DIR_ENV), ("base_model", BASE_MODEL_ENV), ("golden_set", GOLDEN_SET_ENV))
    for flag, env in flags:
        if getattr(args, flag):
            os.environ[env] = str(getattr(args, flag))
    settings = Settings.from_env()
    # Absolute paths, so that `dagster dev` and its subprocesses agree whatever their directory.
    os.environ[DOCS_DIR_ENV], os.environ[ARTIFACTS_DIR_ENV] = str(settings.docs_dir), str(settings.artifacts_dir)
    if settings.golden_set:
        os.environ[GOLDEN_SET_ENV] = str(settings.golden_set)
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(settings.artifacts_dir / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():  # the defaults (SQLite storage in this folder) suit one machine
        config.write_text("telemetry:\n  enabled: false\n")
    return settings


GOLDEN_COLUMNS = ("recall@1", "recall@10", "mrr@10", "ndcg@10")


def _print_comparison(settings: Settings) -> None:
    path = settings.artifacts_dir / "comparison" / "comparison.json"
    if not path.exists():
        return
    import pandas as pd

    from rag_ft_pipeline.reporting import table_from_report

    report = json.loads(path.read_text())
    print("\nSynthetic held-out questions:\n" + table_from_report(report).round(4).to_string())
    golden = {name: report[name]["golden"] for name in ("base", "finetuned", "bm25") if "golden" in report.get(name, {})}
    if golden:
        rows = {(name, level): {m: v for m, v in scores.items() if m in GOLDEN_COLUMNS}
                for name, levels in golden.items() for level, scores in levels.items()}
        print("\nGolden set (human-written questions):\n" + pd.DataFrame(rows).T.round(4).to_string())
    print(f"\nbest by NDCG@10: {report['best_model']}  ({report['questions']} held-out questions)")
    print(f"chart: {path.with_name('comparison.png')}\ntable: {path}")


def _print_onnx(metadata: dict[str, Any]) -> None:
    print(f"\nONNX int8 export of the {metadata['source']} model, beside torch on the CPU "
          f"({metadata['speedup']}x the chunks per second):\n{metadata['metrics']}\nfolder: {metadata['folder']}")


def run(settings: Settings, select: str | None, onnx: bool) -> int:
    import dagster as dg

    from rag_ft_pipeline.assets import DEFAULT_SELECTION
    from rag_ft_pipeline.definitions import build_definitions
    from rag_ft_pipeline.runner import materialize_pipeline, register_documents

    instance = dg.DagsterInstance.get()
    doc_ids = register_documents(settings, instance)
    print(f"rag-ft: {len(doc_ids)} documents in {settings.docs_dir}; artifacts in {settings.artifacts_dir}")
    if select:
        selection: str | dg.AssetSelection = f"({select}) or key:onnx_model" if onnx else select
    else:
        selection = dg.AssetSelection.all() if onnx else DEFAULT_SELECTION
    result = materialize_pipeline(build_definitions(settings), instance, selection)
    if not result.success:
        print(f"rag-ft: run {result.run_id} failed; see the log above or `rag-ft ui`", file=sys.stderr)
        return 1
    made = {event.asset_key.to_user_string(): event for event in result.get_asset_materialization_events()}
    if "comparison" in made:
        _print_comparison(settings)  # only a comparison this run made: an older one would mislead
    if "onnx_model" in made:
        materialization = made["onnx_model"].step_materialization_data.materialization
        _print_onnx({name: value.value for name, value in materialization.metadata.items()})
    return 0


class MissingArtifact(Exception):
    """Something a command reads has not been made yet; the message says what to run."""


def _load(defs, instance, asset: str, hint: str):
    logging.disable(logging.DEBUG)  # the IO manager logs each file it reads at debug level
    try:
        return defs.load_asset_value(asset, instance=instance)
    except Exception as error:  # the IO manager raises its own not-found errors
        raise MissingArtifact(f"no {asset} yet: {hint}") from error
    finally:
        logging.disable(logging.NOTSET)


def search_command(settings: Settings, question: str, k: int) -> int:
    import dagster as dg
    from tabulate import tabulate

    from rag_ft_pipeline.definitions import build_definitions
    from rag_ft_pipeline.embedding import encode, load_model
    from rag_ft_pipeline.inspection import search_collection

    defs = build_definitions(settings)
    instance = dg.DagsterInstance.get()
    base = _load(defs, instance, "base_index", "run `rag-ft run` (or materialize base_index) first")
    resources = defs.resources
    embedding, store = resources["embedding_model"], resources["vector_store"]
    models = {"base": (embedding.load(), base["collection"])}
    try:
        fine = _load(defs, instance, "finetuned_index", "")
        models["fine-tuned"] = (load_model(fine["model"], embedding.device), fine["collection"])
    except MissingArtifact:
        print("rag-ft: no fine-tuned index yet: showing the base model only (run `rag-ft run` to train)")
    columns = {
        name: search_collection(store.collection(collection), encode(model, [question], prompt=embedding.effective_query_prompt)[0], k)
        for name, (model, collection) in models.items()
    }
    rows = [
        [rank + 1, *[f"{hits[rank].doc_id}  ({hits[rank].score:.3f})\n{hits[rank].text[:300]}" if rank < len(hits) else "" for hits in columns.values()]]
        for rank in range(k)
    ]
    print(tabulate(rows, headers=["#", *columns], tablefmt="grid", maxcolwidths=[3, *[60] * len(columns)]))
    return 0


def evaluate_command(settings: Settings, model_name: str, golden_file: str | None, use_eval_pairs: bool) -> int:
    import dagster as dg
    import pandas as pd

    from rag_ft_pipeline.assets.documents import current_document_ids, load_chunks
    from rag_ft_pipeline.definitions import build_definitions
    from rag_ft_pipeline.embedding import encode, load_model
    from rag_ft_pipeline.golden import golden_relevance, load_golden_set
    from rag_ft_pipeline.inspection import evaluate_saved_model
    from rag_ft_pipeline.onnx_export import OnnxEncoder, is_onnx_export

    defs = build_definitions(settings)
    instance = dg.DagsterInstance.get()
    embedding = defs.resources["embedding_model"]
    if model_name != "base" and not Path(model_name).exists() and "/" not in model_name:
        raise MissingArtifact(f"model not found: {model_name} (a model folder, an ONNX export folder, a hub id, or 'base')")
    if model_name == "base":
        model = embedding.load()
    else:
        model = OnnxEncoder(model_name) if is_onnx_export(model_name) else load_model(model_name, embedding.device)
    chunks = load_chunks(defs.resources["paths"], current_document_ids(instance))
    if not chunks:
        raise MissingArtifact("no chunks yet: run `rag-ft run` (or materialize chunks) first")
    eval_pairs = _load(defs, instance, "eval_pairs", "run `rag-ft run` first") if use_eval_pairs else pd.DataFrame({"query": [], "chunk_id": []})
    golden = golden_relevance(load_golden_set(Path(golden_file)), chunks) if golden_file else None
    if eval_pairs.empty and not golden:
        raise MissingArtifact("nothing to score: give --golden, or run `rag-ft run` for eval pairs")
    prompt = embedding.effective_query_prompt
    result = evaluate_saved_model(
        model_name, lambda texts: encode(model, texts), lambda queries: encode(model, queries, prompt=prompt),
        chunks, eval_pairs, golden,
    )
    table = result.table("eval pairs")
    print(f"{model_name}: {len(chunks)} chunks, {len(eval_pairs)} eval questions, {len(golden.questions) if golden else 0} golden questions")
    print(table.round(4).to_string())
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = _apply_settings(args)
    try:  # before the heavy imports, so a wrong folder is reported at once
        document_ids(settings.docs_dir)
    except NoDocumentsError as error:
        print(f"rag-ft: {error} (set --docs-dir or {DOCS_DIR_ENV})", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore", module="dagster")
    try:
        if args.command == "run":
            return run(settings, args.select, args.onnx)
        if args.command == "search":
            return search_command(settings, args.question, args.k)
        if args.command == "evaluate":
            return evaluate_command(settings, args.model, args.golden, not args.no_eval_pairs)
    except MissingArtifact as error:
        print(f"rag-ft: {error}", file=sys.stderr)
        return 2
    import dagster as dg

    from rag_ft_pipeline.runner import register_documents

    register_documents(settings, dg.DagsterInstance.get())
    os.execvp("dagster", ["dagster", "dev", "-m", "rag_ft_pipeline.definitions", "-h", args.host, "-p", str(args.port)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
