"""The pipeline's assets, one module per stage."""

import dagster as dg

# The ONNX export is optional: materialized on request (`rag-ft run --onnx`, or the UI), never by jobs.
EXPORT_GROUP = "export"
DEFAULT_SELECTION = dg.AssetSelection.all() - dg.AssetSelection.groups(EXPORT_GROUP)
