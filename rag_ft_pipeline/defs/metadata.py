"""Asset metadata in Dagster's own types: tables with a column schema, images, JSON."""

from __future__ import annotations

import math
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from rag_ft_pipeline.common.plots import png_markdown

_TYPES = {"i": "int", "u": "int", "f": "float", "b": "bool"}


def _plain(value: Any) -> str | int | float | bool | None:
    """A table cell as Dagster stores it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def table(frame: pd.DataFrame, rows: int | None = 10, index: bool = False) -> dg.MetadataValue:
    """The first `rows` rows as a Dagster table, columns typed from the frame's dtypes."""
    frame = frame.reset_index() if index else frame
    frame = frame.head(rows) if rows is not None else frame
    schema = dg.TableSchema(
        columns=[dg.TableColumn(str(name), _TYPES.get(dtype.kind, "string")) for name, dtype in frame.dtypes.items()]
    )
    records = [dg.TableRecord({str(k): _plain(v) for k, v in row.items()}) for row in frame.to_dict("records")]
    return dg.MetadataValue.table(records=records, schema=schema)


def image(png: bytes, alt: str) -> dg.MetadataValue:
    """A PNG shown inline in the asset's metadata panel."""
    return dg.MetadataValue.md(png_markdown(png, alt))
