"""Measuring retrievers: metrics with intervals, the golden set of human questions, scoring a
retriever on both, the comparison report, and the ONNX export beside its torch original."""
