"""The code location served by `dagster api grpc`, loaded the way deploy/workspace.yaml loads it."""

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.workspace.load_target import WorkspaceFileTarget

from rag_ft_pipeline_tests.helpers import ASSET_GRAPH, REPO_ROOT, free_port, stop_process_group

pytestmark = pytest.mark.slow


def test_code_location_loads_through_a_grpc_server(tmp_path: Path):
    port = free_port()
    dagster = str(Path(sys.executable).with_name("dagster"))
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "RAG_FT_ARTIFACTS_DIR": str(tmp_path / "artifacts")}
    process = subprocess.Popen(
        [dagster, "api", "grpc", "-m", "rag_ft_pipeline.definitions", "-h", "127.0.0.1", "-p", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # The check docker-compose.yml uses as code_location's healthcheck.
        health_check = [dagster, "api", "grpc-health-check", "-h", "127.0.0.1", "-p", str(port)]
        deadline = time.monotonic() + 180
        while subprocess.run(health_check, capture_output=True).returncode != 0:
            assert process.poll() is None, "dagster api grpc exited"
            assert time.monotonic() < deadline, "the gRPC server was not serving within 180 s"
            time.sleep(1)

        # deploy/workspace.yaml, pointed at this server instead of the compose service.
        workspace = yaml.safe_load((REPO_ROOT / "deploy" / "workspace.yaml").read_text())
        workspace["load_from"][0]["grpc_server"].update(host="127.0.0.1", port=port)
        (tmp_path / "workspace.yaml").write_text(yaml.safe_dump(workspace))
        (origin,) = WorkspaceFileTarget(paths=[str(tmp_path / "workspace.yaml")]).create_origins()
        with dg.instance_for_test() as instance, origin.create_location(instance) as location:
            assert location.name == "rag_ft_pipeline"
            (repository,) = location.get_repositories().values()
            nodes = {node.asset_key.to_user_string(): node for node in repository.get_asset_node_snaps()}
            assert set(nodes) == set(ASSET_GRAPH)
            assert nodes["finetuned_model"].pools == {"training"}
            assert {"full_pipeline", "retraining"} <= {job.name for job in repository.get_all_jobs()}
    finally:
        stop_process_group(process, 60)
