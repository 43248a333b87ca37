"""What several tests share: where the data is, small builders of real inputs, and local servers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import dagster as dg
from dagster._core.definitions.sensor_definition import SensorExecutionData
from pypdf import PdfWriter

from rag_ft_pipeline.common.hashing import content_hash
from rag_ft_pipeline.common.types import Chunk
from rag_ft_pipeline.defs.automation import documents_folder_sensor
from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL, Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DOCS = REPO_ROOT / "data" / "sample"
SAMPLE_GOLDEN = REPO_ROOT / "data" / "sample_golden.jsonl"
EXAMPLES = REPO_ROOT / "examples"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
FDA_GUIDANCE = SHARED_DATA / "fda-guidance"
FDA_PDFS = SHARED_DATA / "fda-pdfs"
FDA_QA_DEV = SHARED_DATA / "fda-qa-dev"

# Three short passages about two topics, for tests that need chunks with known answers.
PASSAGES = {
    "steam.md#0": "Steam sterilizers hold the chamber at 121 degrees Celsius for fifteen minutes so that every spore "
    "in a dense load is killed.",
    "steam.md#1": "Biological indicators go in the coldest spots of the load, found by temperature mapping before "
    "validation starts.",
    "labels.md#0": "Drug facts labels print directions in a minimum type size of six points so that older consumers "
    "can read them.",
}

# The asset graph at a glance: each asset's group and the assets it reads. test_definitions checks
# the code against it; a change to the architecture shows up here first.
ASSET_GRAPH: dict[str, tuple[str, set[str]]] = {
    "downloaded_documents": ("sources", set()),
    "clean_markdown": ("ingestion", set()),
    "chunks": ("ingestion", {"clean_markdown"}),
    "question_pairs": ("questions", {"chunks"}),
    "question_cost_estimate": ("questions", {"chunks"}),
    "golden_questions": ("questions", {"chunks"}),
    "human_question_pairs": ("questions", {"chunks"}),
    "train_pairs": ("questions", {"question_pairs", "human_question_pairs", "golden_questions"}),
    "validation_pairs": ("questions", {"question_pairs", "human_question_pairs", "golden_questions"}),
    "eval_pairs": ("questions", {"question_pairs", "human_question_pairs", "golden_questions"}),
    "base_index": ("base_model", {"chunks"}),
    "base_metrics": ("base_model", {"base_index", "eval_pairs", "chunks", "golden_questions"}),
    "bm25_metrics": ("baselines", {"eval_pairs", "chunks", "golden_questions"}),
    "finetuned_model": ("finetuned_model", {"train_pairs", "validation_pairs", "chunks"}),
    "finetuned_index": ("finetuned_model", {"finetuned_model", "chunks"}),
    "finetuned_metrics": (
        "finetuned_model",
        {"finetuned_model", "finetuned_index", "eval_pairs", "chunks", "golden_questions"},
    ),
    "comparison": (
        "reporting",
        {
            "base_metrics",
            "finetuned_metrics",
            "bm25_metrics",
            "finetuned_model",
            "eval_pairs",
            "chunks",
            "golden_questions",
        },
    ),
    "retention": ("retention", {"comparison"}),
    "onnx_model": ("export", {"comparison", "finetuned_model", "eval_pairs", "chunks", "golden_questions"}),
}


RAG_FT = Path(sys.executable).with_name("rag-ft")


def rag_ft(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The console script as a user runs it, with none of this process's project settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_HOME", "RAG_FT_"))}
    return subprocess.run([str(RAG_FT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def locked_pdf(path: Path) -> Path:
    """A real one-page PDF that needs a user password to open."""
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    with path.open("wb") as f:
        writer.write(f)
    return path


def chunks_of(texts: dict[str, str]) -> list[Chunk]:
    """Chunks from {"doc.md#0": text, ...}: the document id and index come from the chunk id."""
    return [
        Chunk(
            chunk_id=chunk_id,
            doc_id=chunk_id.split("#")[0],
            chunk_index=int(chunk_id.rsplit("#", 1)[1]),
            start=0,
            end=len(text),
            token_count=len(text.split()),
            content_hash=content_hash(text),
            text=text,
        )
        for chunk_id, text in texts.items()
    ]


def write_jsonl(path: Path, records: Iterable[dict]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def copy_documents(paths: Iterable[Path], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for path in paths:
        shutil.copy(path, folder / path.name)
    return folder


def project_settings(docs: Path, tmp_path: Path, **options) -> Settings:
    """Settings for a pipeline over `docs` with everything written under `tmp_path`."""
    return Settings(docs_dir=docs, artifacts_dir=tmp_path / "artifacts", base_model=DEFAULT_BASE_MODEL, **options)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def stop_process_group(process: subprocess.Popen, grace_seconds: float) -> None:
    """SIGTERM to the group `process` leads (started with `start_new_session=True`), then SIGKILL
    after `grace_seconds`: Dagster maps SIGTERM to SIGINT's handler, so its processes ignore SIGTERM
    when started from a background job, where SIGINT is ignored."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def sensor_tick(instance: dg.DagsterInstance, resources: dict, cursor: str | None) -> SensorExecutionData:
    """One tick of the documents sensor as the daemon evaluates it (Dagster's checks of its result
    included), its partition requests then applied in order, as the daemon does."""
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        result = documents_folder_sensor.evaluate_tick(context)
    for request in result.dynamic_partitions_requests:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    return result


def launch(defs: dg.Definitions, instance: dg.DagsterInstance, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    """Run what a sensor requested, as the daemon would launch it: its assets and tags."""
    return dg.materialize(
        [*defs.assets, *defs.asset_checks],
        resources=defs.resources,
        instance=instance,
        selection=request.asset_selection,
        tags=request.tags,
    )
