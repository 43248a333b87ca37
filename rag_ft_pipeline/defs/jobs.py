"""What runs together: the default selection and the jobs built on it."""

from __future__ import annotations

import dagster as dg

# The ONNX export is optional: materialized on request (`rag-ft run --onnx`, or the UI), never by jobs.
EXPORT_GROUP = "export"
DEFAULT_SELECTION = dg.AssetSelection.all() - dg.AssetSelection.groups(EXPORT_GROUP)

full_pipeline = dg.define_asset_job(
    "full_pipeline", selection=DEFAULT_SELECTION, description="Documents to comparison."
)

# After documents changed: questions and the base index catch up incrementally, then split, train,
# index and evaluate.
retraining_job = dg.define_asset_job(
    "retraining",
    selection=DEFAULT_SELECTION
    - dg.AssetSelection.groups("sources", "ingestion")
    - dg.AssetSelection.assets("question_cost_estimate"),
    description="Bring questions and the base index up to date (incrementally), then split, train, index and evaluate.",
)
