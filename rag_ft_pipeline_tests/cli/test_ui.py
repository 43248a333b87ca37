"""`dagster dev` loads the code location and serves the asset graph."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rag_ft_pipeline_tests.helpers import REPO_ROOT

pytestmark = pytest.mark.slow

EXPECTED_ASSETS = {
    "downloaded_documents",
    "clean_markdown",
    "chunks",
    "question_pairs",
    "question_cost_estimate",
    "train_pairs",
    "validation_pairs",
    "eval_pairs",
    "base_index",
    "base_metrics",
    "bm25_metrics",
    "finetuned_model",
    "finetuned_index",
    "finetuned_metrics",
    "comparison",
    "onnx_model",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_dagster_dev_serves_every_asset_from_workspace_yaml(tmp_path: Path):
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "RAG_FT_ARTIFACTS_DIR": str(tmp_path / "artifacts")}
    dagster = Path(sys.executable).with_name("dagster")
    process = subprocess.Popen(
        [str(dagster), "dev", "-w", "workspace.yaml", "-p", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                nodes = graphql(port, "{ assetNodes { assetKey { path } groupName } }")["data"]["assetNodes"]
                if nodes:
                    break
            except (OSError, KeyError, TypeError):
                pass
            assert process.poll() is None, "dagster dev exited"
            assert time.monotonic() < deadline, "dagster dev did not serve the assets within 180 s"
            time.sleep(2)
        groups = {node["assetKey"]["path"][-1]: node["groupName"] for node in nodes}
        assert set(groups) == EXPECTED_ASSETS
        assert (
            groups["chunks"] == "ingestion" and groups["comparison"] == "reporting" and groups["onnx_model"] == "export"
        )
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=60)
