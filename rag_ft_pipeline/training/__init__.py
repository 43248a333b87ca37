"""Fine-tuning the embedding model on the training pairs, within a time budget, resumable; and the
optional ONNX int8 export of the result."""
