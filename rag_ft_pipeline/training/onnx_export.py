"""A sentence-transformers model exported to ONNX with int8 dynamic quantization, and an encoder
that runs it on onnxruntime.

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
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.transformers.optimizer import optimize_model
from pydantic import BaseModel, Field
from sentence_transformers import SentenceTransformer
from transformers import AutoTokenizer

from rag_ft_pipeline.retrieval.embedding import Prompts

FP32_FILE = "model.onnx"
INT8_FILE = "model_int8.onnx"
CONFIG_FILE = "onnx_config.json"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "sentence_embedding"
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


class OnnxExportError(RuntimeError):
    """The model cannot be exported, or its export does not reproduce the torch model."""


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
    `folder`, then encode `check_texts` with torch and both graphs to verify the export.

    Per-channel int8 weights are the default: with per-tensor scales some MiniLM embeddings moved
    to a cosine of 0.65 against torch, per-channel kept them above 0.96. `reduce_range` (7-bit
    weights) is for x86 CPUs without VNNI, where 8-bit products can saturate."""
    settings = settings or OnnxSettings()
    per_channel, reduce_range = settings.per_channel, settings.reduce_range
    started = time.perf_counter()
    # Eager attention exports to the plain MatMul/Softmax pattern the optimizer fuses into one op.
    model = SentenceTransformer(model_path, device="cpu", model_kwargs={"attn_implementation": "eager"})
    model.eval()
    prompts = prompts or Prompts.of(model, model_path)
    transformer = model[0].auto_model if hasattr(model[0], "auto_model") else None
    if transformer is None:
        raise OnnxExportError(
            f"{model_path}: the first module is not a Hugging Face transformer; only text models export"
        )
    folder.mkdir(parents=True, exist_ok=True)
    sample = model.tokenizer(["an example sentence to trace", "another"], padding=True, return_tensors="pt")
    input_names = [name for name in INPUT_NAMES if name in sample]
    axes = {name: {0: "batch", 1: "tokens"} for name in input_names}
    # The TorchScript exporter (dynamo=False, deprecated in torch but still shipped): it needs no
    # onnxscript, and its graph is the one onnxruntime's BERT fusions were verified on here.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # notes on Python branches fixed at trace time
        # A caution about negative indices, which the attention mask never holds; the check below would catch it.
        warnings.filterwarnings("ignore", message="Exporting aten::index operator")
        torch.onnx.export(
            _SentenceEmbedding(model, input_names),
            tuple(sample[name] for name in input_names),
            str(folder / FP32_FILE),
            input_names=input_names,
            output_names=[OUTPUT_NAME],
            dynamic_axes={**axes, OUTPUT_NAME: {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    config = transformer.config
    optimized = optimize_model(
        str(folder / FP32_FILE),
        model_type="bert",
        num_heads=getattr(config, "num_attention_heads", 0),
        hidden_size=getattr(config, "hidden_size", 0),
    )
    fused = {op: count for op, count in optimized.get_fused_operator_statistics().items() if count}
    optimized.save_model_to_file(str(folder / FP32_FILE))
    # The optimizer drops inputs no node reads (token_type_ids, for some models): feed what is left.
    input_names = [i.name for i in onnx.load(str(folder / FP32_FILE), load_external_data=False).graph.input]
    logging.disable(logging.INFO)  # the quantizer logs a line per tensor on the root logger
    try:
        quantize_dynamic(
            folder / FP32_FILE,
            folder / INT8_FILE,
            weight_type=QuantType.QInt8,
            per_channel=per_channel,
            reduce_range=reduce_range,
            op_types_to_quantize=["MatMul", "Attention"],
            # The fused ops come from onnxruntime's own domain, which ONNX shape inference cannot type.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.disable(logging.NOTSET)
    model.tokenizer.save_pretrained(folder)
    (folder / CONFIG_FILE).write_text(
        json.dumps(
            {
                "source_model": model_path,
                "max_seq_length": model.max_seq_length,
                "input_names": input_names,
                "dimension": model.get_embedding_dimension(),
                "query_prompt": prompts.query or "",
                "passage_prompt": prompts.passage or "",
                "per_channel": per_channel,
                "reduce_range": reduce_range,
            },
            indent=2,
        )
    )
    check_texts = list(check_texts) or ["an example sentence"]
    # prompt="": a model's default prompt, if it declares one, is not part of the exported graph.
    reference = model.encode(check_texts, normalize_embeddings=True, prompt="", show_progress_bar=False)
    fp32 = (OnnxEncoder(folder, quantized=False).encode(check_texts, normalize_embeddings=True) * reference).sum(axis=1)
    int8 = (OnnxEncoder(folder).encode(check_texts, normalize_embeddings=True) * reference).sum(axis=1)
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


def is_onnx_export(path: str | Path) -> bool:
    return (Path(path) / CONFIG_FILE).is_file()


class OnnxEncoder:
    """Encodes texts with an exported model on onnxruntime's CPU provider, taking the arguments of
    `SentenceTransformer.encode` that the pipeline's `encode` uses, so that function takes either.
    Texts are batched by length, as sentence-transformers does, so batches carry little padding."""

    def __init__(
        self, folder: str | Path, quantized: bool = True, threads: int | None = None, profile_prefix: str | None = None
    ) -> None:
        folder = Path(folder)
        if not is_onnx_export(folder):
            raise OnnxExportError(f"{folder}: no {CONFIG_FILE}; not a folder written by export_onnx")
        self.config = json.loads((folder / CONFIG_FILE).read_text())
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        if profile_prefix:  # onnxruntime's profiler: per-operator times, written by session.end_profiling()
            options.enable_profiling, options.profile_file_prefix = True, profile_prefix
        self.session = ort.InferenceSession(
            str(folder / (INT8_FILE if quantized else FP32_FILE)), options, providers=["CPUExecutionProvider"]
        )

    def get_embedding_dimension(self) -> int:
        return int(self.config["dimension"])

    @property
    def prompts(self) -> dict[str, str]:
        return {"query": self.config.get("query_prompt", ""), "document": self.config.get("passage_prompt", "")}

    def encode(
        self,
        sentences: Sequence[str],
        batch_size: int = 32,
        normalize_embeddings: bool = False,
        prompt: str | None = None,
    ) -> np.ndarray:
        texts = [f"{prompt}{text}" for text in sentences] if prompt else list(sentences)
        embeddings = np.zeros((len(texts), self.get_embedding_dimension()), dtype=np.float32)
        order = np.argsort([-len(text) for text in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            batch = order[start : start + batch_size]
            tokens = self.tokenizer(
                [texts[i] for i in batch],
                padding=True,
                truncation=True,
                max_length=self.config["max_seq_length"],
                return_tensors="np",
            )
            feed = {name: tokens[name].astype(np.int64) for name in self.config["input_names"]}
            embeddings[batch] = self.session.run([OUTPUT_NAME], feed)[0]
        if normalize_embeddings:
            embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True).clip(min=1e-12)
        return embeddings
