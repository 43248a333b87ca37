"""What each `rag-ft` command does. Dagster and the models are imported here, after the cheap checks."""

from __future__ import annotations

import logging
import math
import os
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from tabulate import tabulate

from rag_ft_pipeline.cli.home import open_instance, workspace_file
from rag_ft_pipeline.cli.run_config import (
    RunConfigError,
    check_run_config,
    default_run_config,
    load_run_config,
    selected_ops_only,
)
from rag_ft_pipeline.common.files import LockTimeout
from rag_ft_pipeline.defs import build_definitions
from rag_ft_pipeline.defs.ingestion import current_document_ids
from rag_ft_pipeline.defs.io_managers import CHUNKS_IO_MANAGER
from rag_ft_pipeline.defs.jobs import DEFAULT_SELECTION
from rag_ft_pipeline.defs.runner import latest_metadata, materialize_pipeline, register_documents
from rag_ft_pipeline.evaluation.golden import GoldenSetError, golden_relevance, load_golden_set
from rag_ft_pipeline.evaluation.report import comparison_text
from rag_ft_pipeline.evaluation.scoring import evaluate_embeddings
from rag_ft_pipeline.retrieval.embedding import ModelNotFoundError, encode, load_model, model_prompts
from rag_ft_pipeline.retrieval.inference import OnnxEncoder, is_onnx_export
from rag_ft_pipeline.retrieval.published import BEST, IndexNotFoundError
from rag_ft_pipeline.retrieval.retrievers import Retriever
from rag_ft_pipeline.retrieval.search import PublishedRetriever, resolve
from rag_ft_pipeline.retrieval.vector_store import Hit
from rag_ft_pipeline.settings import Settings


class UsageError(Exception):
    """Input a command cannot work with; the message says what is wrong and what to do."""


# Each is one line on stderr and exit code 2, never a traceback.
FRONT_DOOR_ERRORS = (UsageError, GoldenSetError, ModelNotFoundError, LockTimeout, RunConfigError)


def _check_inputs(settings: Settings) -> None:
    """Read the question files and find the base model before a run starts, so that a typo is one
    line now rather than a failed run later."""
    for path in (settings.golden_set, settings.train_questions):
        if path:
            load_golden_set(path)
    load_model(settings.base_model, "cpu")


def _selection(defs: dg.Definitions, select: str | None, onnx: bool) -> dg.AssetSelection:
    """The assets to materialize; an output of the train / validation / eval split brings its siblings
    (they are made together)."""
    if not select:
        return dg.AssetSelection.all() if onnx else DEFAULT_SELECTION
    graph = defs.resolve_asset_graph()
    try:
        selection = dg.AssetSelection.from_string(select).required_multi_asset_neighbors()
        keys = selection.resolve(graph)
    except Exception as error:  # Dagster's parser raises several error types
        raise UsageError(f"cannot read the selection {select!r}: {str(error).splitlines()[0]}") from error
    if not keys:
        assets = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
        groups = sorted({graph.get(k).group_name for k in graph.get_all_asset_keys()})
        raise UsageError(
            f"the selection {select!r} matches no asset. Assets: {', '.join(assets)}. Groups: {', '.join(groups)} "
            "(select as key:NAME or group:NAME; NAME+ adds what is downstream)"
        )
    return selection | dg.AssetSelection.assets("onnx_model") if onnx else selection


def _failure(result: dg.ExecuteInProcessResult) -> str:
    """The first failed step and the first line of its error."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            message = event.step_failure_data.error.message.strip().splitlines()[0]
            return f"{event.step_key} failed: {message}"
    return "see the log above, or `rag-ft ui`"


def _run_config(defs: dg.Definitions, selection: dg.AssetSelection, config_file: Path | None) -> dict[str, Any]:
    """The run config file, checked whole, less the assets the selection leaves out."""
    if config_file is None:
        return {}
    config = load_run_config(config_file)
    check_run_config(defs, config, config_file)
    graph = defs.resolve_asset_graph()
    return selected_ops_only(config, {graph.get(key).assets_def.op.name for key in selection.resolve(graph)})


def run(settings: Settings, select: str | None, onnx: bool, config_file: Path | None = None) -> int:
    defs = build_definitions(settings)
    selection = _selection(defs, select, onnx)
    run_config = _run_config(defs, selection, config_file)
    _check_inputs(settings)
    instance = open_instance(settings)
    doc_ids = register_documents(settings, instance)
    print(f"rag-ft: {len(doc_ids)} documents in {settings.docs_dir}; artifacts in {settings.artifacts_dir}")
    try:
        result = materialize_pipeline(defs, instance, selection, run_config=run_config)
    except dg.DagsterError as error:  # a run that could not even start
        print(f"rag-ft: the run could not start: {str(error).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    if not result.success:
        print(f"rag-ft: run {result.run_id}: {_failure(result)}", file=sys.stderr)
        return 1
    made = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    if "comparison" in made:  # only a comparison this run made: an older one would mislead
        print("\n" + comparison_text(_load(defs, instance, "comparison", "")))
        print(f"\nchart: {settings.artifacts_dir / 'comparison' / 'comparison.png'}")
    if "onnx_model" in made:
        meta = latest_metadata(instance, "onnx_model")
        print(
            f"\nONNX int8 export of the {meta['source']} model: {meta['speedup']}x the chunks per second of torch, "
            f"hit@10 {meta['hit@10_difference']:+.4f} against torch\nfolder: {meta['folder']}"
        )
    return 0


def _load(defs: dg.Definitions, instance: dg.DagsterInstance, asset: str, hint: str) -> Any:
    logging.disable(logging.DEBUG)  # the IO manager logs each file it reads at debug level
    try:
        return defs.load_asset_value(asset, instance=instance)
    except Exception as error:  # the IO manager raises its own not-found errors
        raise UsageError(f"no {asset} yet: {hint or 'run `rag-ft run` first'}") from error
    finally:
        logging.disable(logging.NOTSET)


def search(settings: Settings, question: str, k: int, names: list[str]) -> int:
    """The top `k` chunks of each retriever named (`best`: what the comparison said to serve), side
    by side, opened from the published records as an application opens them."""
    defs = build_definitions(settings)
    embedding, store = defs.resources["embedding_model"], defs.resources["vector_store"]
    columns: dict[str, list[Hit]] = {}
    try:
        client = store.client()
        for name in names:
            retriever = resolve(client, name)
            label = f"{retriever} (best)" if name == BEST else str(retriever)
            columns[label] = PublishedRetriever(client, retriever, embedding.load)(question, k)
    except IndexNotFoundError as error:
        raise UsageError(str(error)) from error
    finally:
        store.close()
    rows = [
        [rank + 1, *[_cell(hits[rank]) if rank < len(hits) else "" for hits in columns.values()]] for rank in range(k)
    ]
    print(tabulate(rows, headers=["#", *columns], tablefmt="grid", maxcolwidths=[3, *[60] * len(columns)]))
    return 0


def _cell(hit: Hit) -> str:
    score = "BM25 only" if math.isnan(hit.score) else f"{hit.score:.3f}"
    return f"{hit.doc_id}  ({score})\n{hit.text[:300]}"


def evaluate(settings: Settings, model_name: str, golden_file: str | None, use_eval_pairs: bool) -> int:
    defs = build_definitions(settings)
    instance = open_instance(settings)
    embedding = defs.resources["embedding_model"]
    base = model_name == Retriever.BASE.value
    if not base and not Path(model_name).exists() and "/" not in model_name:
        raise UsageError(f"model not found: {model_name} (a model folder, an ONNX export folder, a hub id, or 'base')")
    if base:
        model = embedding.load()
    else:
        model = OnnxEncoder(model_name) if is_onnx_export(model_name) else load_model(model_name, embedding.device)
    chunks = defs.resources[CHUNKS_IO_MANAGER].corpus(current_document_ids(instance)).chunks
    if not chunks:
        raise UsageError("no chunks yet: run `rag-ft run` (or materialize chunks) first")
    eval_pairs = (
        _load(defs, instance, "eval_pairs", "") if use_eval_pairs else pd.DataFrame({"query": [], "chunk_id": []})
    )
    golden = golden_relevance(load_golden_set(Path(golden_file)), chunks) if golden_file else None
    if eval_pairs.empty and not golden:
        raise UsageError("nothing to score: give --golden, or run `rag-ft run` for eval pairs")
    prompts = embedding.prompts() if base else model_prompts(model, model_name)
    result = evaluate_embeddings(
        model_name,
        encode(model, [c.text for c in chunks], prompt=prompts.passage),
        lambda q: encode(model, q, prompt=prompts.query),
        chunks,
        eval_pairs,
        golden,
    )
    golden_count = len(golden.questions) if golden else 0
    print(f"{model_name}: {len(chunks)} chunks, {len(eval_pairs)} eval questions, {golden_count} golden questions")
    print(result.table("eval pairs").round(4).to_string())
    return 0


def config(settings: Settings) -> int:
    print(default_run_config(build_definitions(settings)), end="")
    return 0


def ui(settings: Settings, host: str, port: int) -> int:
    """Register the documents, then become `dagster dev`, run by this environment's own Python (its
    bin folder need not be on PATH), with the code location named as workspace.yaml and `dg` name it."""
    instance = open_instance(settings)
    register_documents(settings, instance)
    home = Path(instance.root_directory)
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    # `dagster dev` notes that `dg dev` supersedes it; this command works wherever the package is installed.
    os.environ.setdefault("PYTHONWARNINGS", "ignore:Function `dev_command` is superseded")
    print(f"rag-ft: the Dagster UI at http://{host}:{port} (instance {home})", flush=True)
    workspace = workspace_file(home)
    os.execv(
        sys.executable, [sys.executable, "-m", "dagster", "dev", "-w", str(workspace), "-h", host, "-p", str(port)]
    )
    return 0  # not reached: execv replaces this process
