"""docker-compose.yml and deploy/ agree with each other and with the code, without a Docker engine."""

import importlib.util
import re
import shlex
import sys
from pathlib import Path

import yaml
from dagster._core.instance.config import dagster_instance_config

from rag_ft_pipeline.settings import CHROMA_HOST_ENV, CHROMA_PORT_ENV
from rag_ft_pipeline_tests.helpers import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DAGSTER_YAML = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())


def with_defaults(value: str) -> str:
    """Compose's `${VAR:-default}` as it reads when VAR is unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def command(service: str) -> list[str]:
    return shlex.split(SERVICES[service]["command"])


def option(service: str, flag: str) -> str:
    args = command(service)
    return args[args.index(flag) + 1]


def bind_mounts(service: str) -> dict[str, Path]:
    """Container path -> repository path of the service's bind mounts (named volumes left out)."""
    mounts = {}
    for volume in SERVICES[service].get("volumes", []):
        source, target = with_defaults(volume).split(":")[:2]
        if source.startswith("./"):
            mounts[target] = REPO_ROOT / source
    return mounts


def env_names(config) -> set[str]:
    """Every `env: VAR` in a Dagster config tree."""
    if isinstance(config, dict):
        return {config["env"]} if set(config) == {"env"} else set().union(*map(env_names, config.values()))
    return set()


def loads_dagster_yaml(service: str) -> bool:
    return "DAGSTER_HOME" in SERVICES[service].get("environment", {})


def test_the_five_services_exist():
    assert set(SERVICES) == {"postgres", "webserver", "daemon", "code_location", "chroma"}


def test_commands_name_installed_programs_and_importable_modules():
    for service, config in SERVICES.items():
        if "command" not in config:
            continue
        args = command(service)
        # The image installs the project, so its programs are the ones this environment has.
        assert Path(sys.executable).with_name(args[0]).exists(), f"{service}: {args[0]} is not installed"
        if "-m" in args:
            assert importlib.util.find_spec(option(service, "-m")), f"{service}: no module {option(service, '-m')}"


def test_every_mounted_file_exists_where_the_services_read_it():
    for service in SERVICES:
        for target, source in bind_mounts(service).items():
            assert source.exists(), f"{service}: {source} (mounted at {target}) is missing"
    for service in ("webserver", "daemon"):
        assert bind_mounts(service)[option(service, "-w")] == DEPLOY / "workspace.yaml"
    for service in filter(loads_dagster_yaml, SERVICES):
        home = SERVICES[service]["environment"]["DAGSTER_HOME"]
        assert bind_mounts(service)[f"{home}/dagster.yaml"] == DEPLOY / "dagster.yaml"


def test_the_dockerfile_copies_what_exists_and_takes_the_torch_spec():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert "ARG TORCH_SPEC" in dockerfile and "--index-url" not in dockerfile
    for line in re.findall(r"^COPY (.+)$", dockerfile, flags=re.MULTILINE):
        for source in line.split()[:-1]:
            assert (REPO_ROOT / source).exists(), f"COPY {source}: missing"
    ours = {name for name, config in SERVICES.items() if config.get("image") == "rag-ft-pipeline:latest"}
    assert ours == {"code_location", "webserver", "daemon", "chroma"}
    assert all(SERVICES[name]["build"]["dockerfile"] == "deploy/Dockerfile" for name in ours)


def test_dagster_yaml_is_valid_and_its_variables_are_provided(monkeypatch):
    variables = env_names(DAGSTER_YAML)
    assert variables == {f"DAGSTER_POSTGRES_{name}" for name in ("USER", "PASSWORD", "DB", "HOST")}
    loaders = [service for service in SERVICES if loads_dagster_yaml(service)]
    assert set(loaders) == {"webserver", "daemon", "code_location"}
    for service in loaders:
        environment = SERVICES[service]["environment"]
        assert variables <= set(environment), f"{service} lacks {variables - set(environment)}"
        assert environment["DAGSTER_POSTGRES_HOST"] == "postgres"
        postgres = SERVICES["postgres"]["environment"]
        for name in ("USER", "PASSWORD", "DB"):
            assert environment[f"DAGSTER_POSTGRES_{name}"] == postgres[f"POSTGRES_{name}"]
    for name in variables:
        monkeypatch.setenv(name, "x")
    config, _ = dagster_instance_config(str(DEPLOY))  # raises on anything Dagster's schema refuses
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["concurrency"]["pools"]["default_limit"] == 1


def test_ports_agree():
    (grpc,) = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())["load_from"]
    assert grpc["grpc_server"]["host"] == "code_location"
    assert str(grpc["grpc_server"]["port"]) == option("code_location", "-p")
    assert command("code_location")[:3] == ["dagster", "api", "grpc"]
    assert SERVICES["code_location"]["healthcheck"]["test"][-1] == option("code_location", "-p")

    environment = SERVICES["code_location"]["environment"]
    assert environment[CHROMA_HOST_ENV] == "chroma"
    assert environment[CHROMA_PORT_ENV] == option("chroma", "--port")

    (published,) = SERVICES["webserver"]["ports"]
    assert published.split(":")[-1] == option("webserver", "-p")
