"""The run config of `rag-ft run --config FILE`: the YAML the UI launchpad and `dg launch
--config` take (`ops:` for asset configs, `resources:`), checked whole before any work, and
today's defaults written out as a file to start from (`rag-ft config`)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import dagster as dg
import pydantic
import yaml

# Resources whose config a run may set; the rest are where the project lives (flags, environment).
RUN_RESOURCES = ("question_generator", "embedding_model")
SECRETS = {"api_key"}  # read from the environment only


class RunConfigError(ValueError):
    """A run config that cannot be used: the message names the file, the key and what is wrong."""


def load_run_config(path: Path) -> dict[str, Any]:
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except OSError as error:
        raise RunConfigError(f"cannot read the run config {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        raise RunConfigError(f"{path}{where}: not YAML ({getattr(error, 'problem', None) or error})") from None
    if not isinstance(config, dict):
        raise RunConfigError(f"{path}: a run config is a mapping with `ops:` and `resources:`")
    return config


def check_run_config(defs: dg.Definitions, config: dict[str, Any], source: Path) -> None:
    """Dagster's own check of every key and type, then each asset's and resource's own rules
    (ranges, choices), so that a bad value is one line now rather than a failed step later."""
    try:
        dg.validate_run_config(defs.resolve_implicit_global_asset_job_def(), config)
    except dg.DagsterInvalidConfigError as error:
        problem = error.errors[0].message.splitlines()[0] if error.errors else str(error).splitlines()[0]
        problem, _, expected = problem.partition(". Expected: ")
        if expected:  # Dagster spells out the whole schema; the keys are what a person needs
            problem += "; valid keys: " + ", ".join(re.findall(r"(\w+)\?:", expected))
        raise RunConfigError(f"{source}: {problem}") from None
    ops = {a.op.name: a.op for a in defs.resolve_asset_graph().assets_defs if a.is_executable}
    for name, values in (config.get("ops") or {}).items():
        if not ops[name].compute_fn.has_config_arg():  # nothing to set: Dagster accepted an empty entry
            continue
        config_class = ops[name].compute_fn.get_config_arg().annotation
        _validate(lambda v, c=config_class: c(**v), values.get("config") or {}, f"ops.{name}", source)
    for name, values in (config.get("resources") or {}).items():
        resource = defs.resources[name]
        _validate(
            lambda v, r=resource: type(r)(**{**r.model_dump(exclude_unset=True), **v}),
            values.get("config") or {},
            f"resources.{name}",
            source,
        )


def _validate(build, values: dict[str, Any], where: str, source: Path) -> None:
    try:
        build(values)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise RunConfigError(f"{source}: {where}.config.{key}: {first['msg']}") from None


def selected_ops_only(config: dict[str, Any], op_names: set[str]) -> dict[str, Any]:
    """The config without the assets a selection leaves out (Dagster refuses config for ops not in a run)."""
    ops = {name: value for name, value in (config.get("ops") or {}).items() if name in op_names}
    return {**config, "ops": ops}


def default_run_config(defs: dg.Definitions) -> str:
    """Every asset config and the run's resources with today's values, each with its description
    as a comment: a file to edit and pass back with --config (or paste into the launchpad)."""
    schema = defs.resolve_implicit_global_asset_job_def().run_config_schema.config_type
    lines = [
        "# rag-ft run config: `rag-ft run --config FILE`, `dg launch --assets ... --config FILE`, or the",
        "# UI launchpad. Keep only what you change; every value below is today's default.",
        "ops:",
    ]
    for name, field in sorted(schema.fields["ops"].config_type.fields.items()):
        config = field.config_type.fields.get("config")
        if config is not None and getattr(config.config_type, "fields", None):
            lines += [f"  {name}:", "    config:", *_fields(config.config_type.fields, {}, "      ")]
    lines.append("resources:")
    for name in RUN_RESOURCES:
        resource = defs.resources[name]
        fields = schema.fields["resources"].config_type.fields[name].config_type.fields["config"].config_type.fields
        lines += [f"  {name}:", "    config:", *_fields(fields, resource.model_dump(), "      ")]
    return "\n".join(lines) + "\n"


def _fields(fields: dict[str, Any], values: dict[str, Any], indent: str) -> list[str]:
    lines = []
    for key, field in fields.items():
        if key in SECRETS:
            continue
        value = values.get(key, field.default_value if field.default_provided else None)
        if isinstance(value, dg.EnvVar):
            value = {"env": value.env_var_name}
        if field.description:
            comment = f"{indent}# "
            lines += textwrap.wrap(field.description, 100, initial_indent=comment, subsequent_indent=comment)
        lines.append(f"{indent}{key}: {_yaml(value)}")
    return lines


def _yaml(value: Any) -> str:
    """One value in flow style, as PyYAML reads it back (JSON's 4e-05 would come back a string)."""
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()
