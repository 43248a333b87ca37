"""Every path that encodes with a model asks `embedding.model_prompts` which prompts it uses: a base
model saved with prompts of its own gets them in its index, its evaluation, the CLI and its ONNX
export, and a prompt set for it in the settings wins everywhere alike."""

import json
from dataclasses import replace
from pathlib import Path

import dagster as dg
import pytest
from sentence_transformers import SentenceTransformer

from rag_ft_pipeline.defs import build_definitions
from rag_ft_pipeline.defs.resources import EmbeddingModelResource
from rag_ft_pipeline.defs.runner import latest_metadata, materialize_pipeline, ops_config, register_documents
from rag_ft_pipeline.retrieval.embedding import Prompts, model_prompts, resolve_model_path
from rag_ft_pipeline.retrieval.inference import CONFIG_FILE
from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL
from rag_ft_pipeline.training.onnx_export import export_onnx
from rag_ft_pipeline_tests.helpers import SAMPLE_DOCS, copy_documents, project_settings

pytestmark = pytest.mark.slow
SAVED = Prompts("Q: ", "D: ")


@pytest.fixture(scope="module")
def prompted_model(tmp_path_factory) -> Path:
    """MiniLM saved with a query and a document prompt of its own, as E5-style hub models are."""
    folder = tmp_path_factory.mktemp("prompted") / "model"
    model = SentenceTransformer(resolve_model_path(DEFAULT_BASE_MODEL))
    model.prompts.update(SAVED.saved())
    model.save(str(folder))
    return folder


def test_the_resolver_answers_for_saved_models_base_settings_and_exports(prompted_model: Path, tmp_path: Path):
    model = SentenceTransformer(str(prompted_model))
    assert model_prompts(model, str(prompted_model)) == SAVED
    assert model_prompts(model, str(prompted_model), query_prompt="") == Prompts(None, "D: ")
    assert model_prompts(SentenceTransformer(resolve_model_path(DEFAULT_BASE_MODEL)), "BAAI/bge-small-en-v1.5").query
    resource = EmbeddingModelResource(model_name_or_path=str(prompted_model))
    assert resource.prompts() == SAVED
    assert EmbeddingModelResource(model_name_or_path=str(prompted_model), base_query_prompt="X: ").prompts() == Prompts(
        "X: ", "D: "
    )
    export = export_onnx(str(prompted_model), tmp_path / "onnx", ["a check text"])
    config = json.loads((export.folder / CONFIG_FILE).read_text())
    assert (config["query_prompt"], config["passage_prompt"]) == ("Q: ", "D: ")


def test_the_index_and_the_evaluation_encode_with_the_resolved_prompts(
    prompted_model: Path, tmp_path: Path, monkeypatch
):
    seen: list[str | None] = []
    encode = SentenceTransformer.encode

    def spy(self, sentences, *args, prompt=None, **kwargs):
        seen.append(prompt)
        return encode(self, sentences, *args, prompt=prompt, **kwargs)

    monkeypatch.setattr(SentenceTransformer, "encode", spy)
    docs = copy_documents([SAMPLE_DOCS / "sterilization_process_controls.md"], tmp_path / "docs")
    settings = replace(project_settings(docs, tmp_path), base_model=str(prompted_model))
    with dg.instance_for_test() as instance:
        register_documents(settings, instance)
        config = ops_config(question_pairs={"round_trip_top_k": 5})  # the filter encodes chunks and questions too
        selection = dg.AssetSelection.assets("base_metrics").upstream().required_multi_asset_neighbors()
        result = materialize_pipeline(build_definitions(settings), instance, selection, run_config=config)
        assert result.success
        assert latest_metadata(instance, "base_metrics")["query_prompt"] == "Q: "
    # The chunks after the document prompt, the questions after the query prompt: nothing else.
    assert set(seen) == {"D: ", "Q: "}
