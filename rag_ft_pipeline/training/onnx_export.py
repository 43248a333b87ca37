"""A sentence-transformers model exported to ONNX with int8 dynamic quantization (retrieval.inference
encodes with it).

sentence-transformers' own ONNX backend (`export_dynamic_quantized_onnx_model`) needs optimum-onnx,
whose releases pin transformers < 4.58 while this project needs transformers 5. So the export uses
the libraries underneath it directly: `torch.onnx.export`, onnxruntime's transformer optimizer
(fused attention, layer norm and GELU) and its dynamic quantizer. The exported graph is the whole
SentenceTransformer forward pass (transformer, pooling, normalization), so whatever pooling the
model declares (mean for MiniLM, CLS for BGE) is kept without being re-implemented here.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.transformers.optimizer import optimize_model
from pydantic import BaseModel, Field
from sentence_transformers import SentenceTransformer

from rag_ft_pipeline.retrieval.embedding import Prompts, model_prompts
from rag_ft_pipeline.retrieval.inference import (
    CONFIG_FILE,
    FP32_FILE,
    INT8_FILE,
    OUTPUT_NAME,
    OnnxEncoder,
    OnnxExportError,
)

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
# The exported fp32 graph must reproduce torch's embeddings; below this it is broken, not imprecise.
FP32_MIN_COSINE = 0.9999


class OnnxSettings(BaseModel):
    per_channel: bool = Field(
        default=True,
        description="Per-channel weight scales; per-tensor moved some MiniLM embeddings to a cosine of 0.65.",
    )
    reduce_range: bool = Field(
        default=False, description="7-bit weights, for x86 CPUs without VNNI where 8-bit products can saturate."
    )
    threads: int | None = Field(default=None, ge=1, description="onnxruntime threads; None: one per physical core.")


@dataclass(frozen=True)
class OnnxExport:
    folder: Path
    fused_operators: dict[str, int]  # what the optimizer fused (attention, layer norms, GELU)
    fp32_min_cosine: float  # against torch on the check texts
    int8_min_cosine: float
    int8_mean_cosine: float
    seconds: float

    @property
    def int8_path(self) -> Path:
        return self.folder / INT8_FILE

    @property
    def fp32_path(self) -> Path:
        return self.folder / FP32_FILE


class _SentenceEmbedding(torch.nn.Module):
    """The SentenceTransformer's forward pass with positional tensor inputs, as the exporter wants."""

    def __init__(self, model: SentenceTransformer, input_names: Sequence[str]) -> None:
        super().__init__()
        self.model = model
        self.input_names = list(input_names)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(dict(zip(self.input_names, inputs)))[OUTPUT_NAME]


def export_onnx(
    model_path: str,
    folder: Path,
    check_texts: Sequence[str],
    settings: OnnxSettings | None = None,
    log: logging.Logger | None = None,
    prompts: Prompts | None = None,
) -> OnnxExport:
    """Write `model.onnx` (optimized fp32), `model_int8.onnx`, the tokenizer and `onnx_config.json`
    (with `prompts`, or the model's own, for whoever encodes queries and passages with it) into
    `folder`, then encode `check_texts` with torch and both graphs to verify the export."""
    settings = settings or OnnxSettings()
    started = time.perf_counter()
    # Eager attention exports to the plain MatMul/Softmax pattern the optimizer fuses into one op.
    model = SentenceTransformer(model_path, device="cpu", model_kwargs={"attn_implementation": "eager"})
    model.eval()
    if not hasattr(model[0], "auto_model"):
        raise OnnxExportError(
            f"{model_path}: the first module is not a Hugging Face transformer; only text models export"
        )
    folder.mkdir(parents=True, exist_ok=True)
    _trace(model, folder / FP32_FILE)
    fused, input_names = _optimize(folder / FP32_FILE, model[0].auto_model.config)
    _quantize(folder / FP32_FILE, folder / INT8_FILE, settings)
    model.tokenizer.save_pretrained(folder)
    prompts = prompts or model_prompts(model, model_path)
    config = {
        "source_model": model_path,
        "max_seq_length": model.max_seq_length,
        "input_names": input_names,
        "dimension": model.get_embedding_dimension(),
        "query_prompt": prompts.query or "",
        "passage_prompt": prompts.passage or "",
        "per_channel": settings.per_channel,
        "reduce_range": settings.reduce_range,
    }
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    fp32, int8 = _cosines_to_torch(model, folder, list(check_texts) or ["an example sentence"])
    if fp32.min() < FP32_MIN_COSINE:
        raise OnnxExportError(f"{model_path}: the exported graph differs from torch (cosine {fp32.min():.4f})")
    if log:
        log.info(f"exported {model_path} to {folder}: fused {fused}; int8 cosine to torch min {int8.min():.4f}")
    return OnnxExport(
        folder=folder,
        fused_operators=fused,
        fp32_min_cosine=float(fp32.min()),
        int8_min_cosine=float(int8.min()),
        int8_mean_cosine=float(int8.mean()),
        seconds=time.perf_counter() - started,
    )


def _trace(model: SentenceTransformer, path: Path) -> None:
    """The model's whole forward pass as an ONNX graph, with any batch size and length."""
    sample = model.tokenizer(["an example sentence to trace", "another"], padding=True, return_tensors="pt")
    input_names = [name for name in INPUT_NAMES if name in sample]
    axes = {name: {0: "batch", 1: "tokens"} for name in input_names}
    # The TorchScript exporter (dynamo=False, deprecated in torch but still shipped): it needs no
    # onnxscript, and its graph is the one onnxruntime's BERT fusions were verified on here.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # notes on Python branches fixed at trace time
        # A caution about negative indices, which the attention mask never holds; the check would catch it.
        warnings.filterwarnings("ignore", message="Exporting aten::index operator")
        torch.onnx.export(
            _SentenceEmbedding(model, input_names),
            tuple(sample[name] for name in input_names),
            str(path),
            input_names=input_names,
            output_names=[OUTPUT_NAME],
            dynamic_axes={**axes, OUTPUT_NAME: {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )


def _optimize(path: Path, config) -> tuple[dict[str, int], list[str]]:
    """Fuse attention, layer norms and GELU in place; returns what was fused and the inputs left."""
    optimized = optimize_model(
        str(path),
        model_type="bert",
        num_heads=getattr(config, "num_attention_heads", 0),
        hidden_size=getattr(config, "hidden_size", 0),
    )
    fused = {op: count for op, count in optimized.get_fused_operator_statistics().items() if count}
    optimized.save_model_to_file(str(path))
    # The optimizer drops inputs no node reads (token_type_ids, for some models): feed what is left.
    return fused, [i.name for i in onnx.load(str(path), load_external_data=False).graph.input]


def _quantize(source: Path, target: Path, settings: OnnxSettings) -> None:
    """int8 weights for the matrix products, per channel unless told otherwise (OnnxSettings)."""
    logging.disable(logging.INFO)  # the quantizer logs a line per tensor on the root logger
    try:
        quantize_dynamic(
            source,
            target,
            weight_type=QuantType.QInt8,
            per_channel=settings.per_channel,
            reduce_range=settings.reduce_range,
            op_types_to_quantize=["MatMul", "Attention"],
            # The fused ops come from onnxruntime's own domain, which ONNX shape inference cannot type.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.disable(logging.NOTSET)


def _cosines_to_torch(model: SentenceTransformer, folder: Path, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each text's cosine between torch's embedding and the fp32 graph's, and the int8 graph's."""
    # prompt="": a model's default prompt, if it declares one, is not part of the exported graph.
    reference = model.encode(texts, normalize_embeddings=True, prompt="", show_progress_bar=False)
    fp32 = OnnxEncoder(folder, quantized=False).encode(texts, normalize_embeddings=True)
    return (fp32 * reference).sum(axis=1), (
        OnnxEncoder(folder).encode(texts, normalize_embeddings=True) * reference
    ).sum(axis=1)
