"""Encoding with a model exported to ONNX (training.onnx_export), on onnxruntime's CPU provider."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from transformers import AutoTokenizer

FP32_FILE = "model.onnx"
INT8_FILE = "model_int8.onnx"
CONFIG_FILE = "onnx_config.json"
OUTPUT_NAME = "sentence_embedding"


class OnnxExportError(RuntimeError):
    """The model cannot be exported, or its export does not reproduce the torch model."""


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
