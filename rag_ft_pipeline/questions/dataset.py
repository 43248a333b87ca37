"""The train / validation / eval pairs as a Hugging Face dataset: parquet files and a dataset card,
loadable with `datasets.load_dataset(folder)`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from rag_ft_pipeline.common.files import atomic_directory

COLUMNS = ["query", "positive", "chunk_id", "doc_id", "generator"]
DATASET_FOLDER = "dataset"  # beside the question cache, and copied beside each fine-tuned model

CARD = """---
configs:
- config_name: default
  data_files:
{files}
---
# Question pairs for fine-tuning a retriever

Made by rag_ft_pipeline from {documents} documents: (query, positive passage) pairs, one row per pair.

| split | pairs | used for |
|---|---|---|
{counts}

- **Generator**: {generator}
- **Generator settings**: `{settings}`
- **Split rule**: {rule}
- **Source documents**: {document_list}

```python
from datasets import load_dataset

pairs = load_dataset("{folder}")  # splits: {split_names}
```
"""
USES = {"train": "training", "validation": "choosing the best checkpoint", "eval": "measuring only, never training"}


def save_pairs_dataset(
    folder: Path, splits: dict[str, pd.DataFrame], generator_settings: dict[str, object], rule: str
) -> Path:
    """Write each split to `folder/data/<split>.parquet` with a dataset card (README.md), replacing
    any earlier version whole."""
    with atomic_directory(folder) as staging:
        (staging / "data").mkdir()
        for name, frame in splits.items():
            frame.reindex(columns=COLUMNS).to_parquet(staging / "data" / f"{name}.parquet", index=False)
        documents = sorted(set().union(*(set(frame["doc_id"]) for frame in splits.values())))
        listed = ", ".join(documents[:50]) + (f" and {len(documents) - 50} more" if len(documents) > 50 else "")
        generators = sorted(set().union(*(set(frame["generator"]) for frame in splits.values())))
        (staging / "README.md").write_text(
            CARD.format(
                files="\n".join(f"  - split: {name}\n    path: data/{name}.parquet" for name in splits),
                documents=len(documents),
                counts="\n".join(f"| {name} | {len(frame)} | {USES.get(name, '')} |" for name, frame in splits.items()),
                generator=", ".join(generators),
                settings=json.dumps(generator_settings, default=str),
                rule=rule,
                document_list=listed,
                folder=folder,
                split_names=", ".join(splits),
            )
        )
    return folder
