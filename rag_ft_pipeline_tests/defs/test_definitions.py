"""The code location loads fast, and its asset graph is the architecture the helpers' snapshot draws."""

import subprocess
import sys
import time
import typing

import dagster as dg
import pytest

from rag_ft_pipeline.defs import build_definitions
from rag_ft_pipeline_tests.helpers import ASSET_GRAPH, REPO_ROOT, project_settings


@pytest.fixture(scope="module")
def defs(tmp_path_factory) -> dg.Definitions:
    tmp = tmp_path_factory.mktemp("defs")
    return build_definitions(project_settings(tmp / "docs", tmp))


def test_the_asset_graph_matches_its_snapshot(defs: dg.Definitions):
    graph = defs.resolve_asset_graph()
    found = {
        key.to_user_string(): (graph.get(key).group_name, {p.to_user_string() for p in graph.get(key).parent_keys})
        for key in graph.get_all_asset_keys()
    }
    assert found == ASSET_GRAPH


def test_every_asset_has_an_owner_kinds_a_description_and_its_source(defs: dg.Definitions):
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.owners == ["team:retrieval"], key
        assert node.description and node.kinds, key
        references = node.metadata["dagster/code_references"].code_references
        assert references and all(REPO_ROOT.as_posix() in ref.file_path for ref in references), key


def test_every_config_field_is_described_and_fixed_choices_are_literals(defs: dg.Definitions):
    for assets_def in defs.assets:
        for op in assets_def.node_def.iterate_op_defs() if hasattr(assets_def, "node_def") else []:
            config = op.config_schema.as_field().config_type if op.config_schema else None
            for name, field in config.fields.items() if config and hasattr(config, "fields") else []:
                assert field.description, f"{op.name}.{name} has no description"
    from rag_ft_pipeline.defs.finetuned_model import TrainingConfig
    from rag_ft_pipeline.defs.questions import SplitConfig

    assert typing.get_args(TrainingConfig.model_fields["batching"].annotation) == ("shuffled", "by_document")
    assert typing.get_args(SplitConfig.model_fields["split_by"].annotation) == ("pair", "document")


def test_a_wrong_choice_is_refused_when_the_run_is_configured_not_mid_run(defs: dg.Definitions):
    with pytest.raises(dg.DagsterInvalidConfigError, match="batching"):
        dg.materialize(
            [*defs.assets],
            resources=defs.resources,
            selection="finetuned_model",
            run_config={"ops": {"finetuned_model": {"config": {"batching": "by_topic"}}}},
        )


def test_the_code_location_entry_point_imports_quickly_and_without_dagster_outside_its_layer():
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", "import rag_ft_pipeline.definitions as d; print(len(d.defs.assets))"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert time.monotonic() - started < 60
    outside = subprocess.run(
        ["grep", "-rlE", "^(import dagster|from dagster)", "rag_ft_pipeline"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    ).stdout.split()
    allowed = ("rag_ft_pipeline/defs/", "rag_ft_pipeline/cli/", "rag_ft_pipeline/definitions.py")
    assert outside and all(path.startswith(allowed) for path in outside), outside
