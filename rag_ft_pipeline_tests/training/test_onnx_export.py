"""The ONNX int8 export of the real packaged model: it reproduces torch, and retrieves as well."""

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.onnx_inference import eval_questions
from rag_ft_pipeline.evaluation.onnx_comparison import compare_with_torch
from rag_ft_pipeline.ingestion.chunking import chunk_document
from rag_ft_pipeline.ingestion.conversion import convert_document
from rag_ft_pipeline.retrieval.embedding import Prompts, encode, model_prompts, resolve_model_path
from rag_ft_pipeline.retrieval.inference import (
    CONFIG_FILE,
    FP32_FILE,
    INT8_FILE,
    OnnxEncoder,
    OnnxExportError,
    is_onnx_export,
)
from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL
from rag_ft_pipeline.training.onnx_export import export_onnx

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fda_chunks(fda_guidance_dir: Path, count_tokens) -> list:
    paths = sorted(fda_guidance_dir.glob("*.md"))[20:24]  # four short dental device guidances
    return [
        c for p in paths for c in chunk_document(p.name, convert_document(p, fda_guidance_dir)[0], 112, count_tokens)
    ]


@pytest.fixture(scope="module")
def exported(tmp_path_factory, fda_chunks) -> Path:
    folder = tmp_path_factory.mktemp("onnx") / "export"
    texts = [c.text for c in fda_chunks[:32]]
    export = export_onnx(resolve_model_path(DEFAULT_BASE_MODEL), folder, texts, prompts=Prompts("query: ", "passage: "))
    assert export.fp32_min_cosine > 0.9999
    assert 0.95 < export.int8_min_cosine <= export.int8_mean_cosine <= 1.0 + 1e-6
    assert export.fused_operators.get("Attention") == 6  # one fused attention per MiniLM layer
    return folder


def test_export_writes_both_graphs_the_tokenizer_and_its_settings(exported: Path):
    assert is_onnx_export(exported)
    assert (exported / INT8_FILE).stat().st_size < 0.7 * (exported / FP32_FILE).stat().st_size
    assert (exported / "tokenizer.json").exists()
    config = json.loads((exported / CONFIG_FILE).read_text())
    assert config["max_seq_length"] == 256 and config["dimension"] == 384 and config["per_channel"] is True
    # The prompts the pipeline used with the model travel with the export.
    assert model_prompts(OnnxEncoder(exported), str(exported)) == Prompts("query: ", "passage: ")


def test_fp32_graph_matches_torch_on_texts_it_was_not_checked_on(exported: Path, base_model):
    texts = [
        "What must a sponsor report within 15 days?",
        "Dental impressions are taken with alginate. " * 40,
    ]  # the second is truncated
    torch_embeddings = encode(base_model, texts)
    onnx_embeddings = encode(OnnxEncoder(exported, quantized=False), texts)
    np.testing.assert_allclose(onnx_embeddings, torch_embeddings, atol=1e-4)


def test_encoder_keeps_input_order_applies_the_prompt_and_normalizes(exported: Path):
    encoder = OnnxEncoder(exported)
    texts = ["a short one", "a somewhat longer sentence about device labeling", "mid length text here"]
    forward = encoder.encode(texts, batch_size=2, normalize_embeddings=True)
    backward = encoder.encode(texts[::-1], batch_size=2, normalize_embeddings=True)
    np.testing.assert_allclose(forward, backward[::-1], atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(forward, axis=1), 1.0, atol=1e-5)
    prompted = encoder.encode(texts, prompt="query: ", normalize_embeddings=True)
    np.testing.assert_allclose(
        prompted, encoder.encode([f"query: {t}" for t in texts], normalize_embeddings=True), atol=1e-6
    )
    assert not np.allclose(prompted, forward, atol=1e-3)
    assert encode(encoder, []).shape == (0, 384)


def test_int8_retrieves_as_well_as_torch_on_real_fda_chunks(exported: Path, fda_chunks, base_model):
    questions = eval_questions(fda_chunks, 60)
    comparison = compare_with_torch(base_model, OnnxEncoder(exported), fda_chunks, questions, None)
    assert len(fda_chunks) > 100 and len(questions) == 60
    hits = {name: r.metrics["hit@10"] for name, r in comparison.results.items()}
    assert hits["torch"] > 0.8  # the task is real: questions find their chunk among 100+
    assert hits["onnx_int8"] >= hits["torch"] - 0.05, hits  # at most three of 60 questions lost
    assert comparison.hit("onnx_int8") - comparison.hit("torch") == pytest.approx(hits["onnx_int8"] - hits["torch"])
    assert 0.9 < comparison.cosine_min <= comparison.cosine_mean <= 1.0 + 1e-6
    assert all(
        rate > 0 for rates in (comparison.chunks_per_second, comparison.queries_per_second) for rate in rates.values()
    )
    table = comparison.table()
    assert {"torch: synthetic eval", "onnx_int8: synthetic eval", "difference: synthetic eval"} <= set(table.columns)
    assert table.loc["hit@10", "difference: synthetic eval"] == pytest.approx(hits["onnx_int8"] - hits["torch"])


def test_a_folder_that_is_not_an_export_is_refused(tmp_path: Path):
    with pytest.raises(OnnxExportError, match="not a folder written by export_onnx"):
        OnnxEncoder(tmp_path)


def test_a_model_with_cls_pooling_and_no_normalize_module_exports_faithfully(tmp_path: Path, base_model):
    """BGE-style: CLS pooling, no Normalize module. The graph carries the model's own pooling, so
    the export check (fp32 within a cosine of 0.9999 of torch) holds for it too."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    transformer = Transformer(resolve_model_path(DEFAULT_BASE_MODEL))
    model = SentenceTransformer(
        modules=[transformer, Pooling(transformer.get_embedding_dimension(), pooling_mode="cls")]
    )
    model.save(str(tmp_path / "cls_model"))
    export = export_onnx(
        str(tmp_path / "cls_model"), tmp_path / "export", ["What is a 510(k)?", "Premarket notification " * 20]
    )
    assert export.fp32_min_cosine > 0.9999
    texts = ["adverse event reports", "labeling of dental devices"]
    raw = OnnxEncoder(export.folder, quantized=False).encode(texts)  # not normalized: the model has no Normalize
    np.testing.assert_allclose(raw, model.encode(texts), atol=1e-4)
    mean_pooled = encode(base_model, texts)
    assert not np.allclose(encode(OnnxEncoder(export.folder, quantized=False), texts), mean_pooled, atol=1e-2)
