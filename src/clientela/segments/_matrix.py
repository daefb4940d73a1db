"""Features as a standardised numeric matrix, for look-alikes and clusters.

Numeric features are read on a signed log scale (``sign(x) log(1 + |x|)``: money and counts are
skewed, and a customer with 10,000 orders should not outweigh everything else), missing values
take the median and add a ``missing`` indicator, the most frequent values of each category become
0/1 columns; every column is then centred and scaled to unit variance, and columns that do not
vary are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["Column", "DesignMatrix", "design_matrix"]

_TOP_VALUES = 10


@dataclass(frozen=True)
class Column:
    """Where a matrix column comes from: a feature's value, one of its values, or its absence."""

    feature: str
    part: Literal["value", "category", "missing"]
    value: str | None = None


@dataclass(frozen=True)
class DesignMatrix:
    values: np.ndarray
    columns: list[Column]


def design_matrix(
    frame: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str] = (),
    *,
    missing: dict[str, float] | None = None,
) -> DesignMatrix:
    """The matrix of ``frame``'s rows; ``missing`` gives the value a numeric feature takes when
    absent instead of the median (e.g. a long time for the days since a purchase never made)."""
    blocks: list[np.ndarray] = []
    columns: list[Column] = []
    for name in numeric:
        raw = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype="float64")
        absent = np.isnan(raw)
        if absent.all():
            continue
        fill = (missing or {}).get(name)
        if fill is None:
            fill = float(np.nanmedian(raw))
            if absent.any():
                blocks.append(absent.astype("float64"))
                columns.append(Column(name, "missing"))
        blocks.append(_signed_log(np.where(absent, fill, raw)))
        columns.append(Column(name, "value"))
    for name in categorical:
        text = frame[name].astype("string").str.strip()
        counts = text[text.notna() & (text != "")].value_counts()
        ordered = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
        for value, _count in ordered[:_TOP_VALUES]:
            blocks.append((text == value).fillna(False).to_numpy(dtype="float64"))
            columns.append(Column(name, "category", str(value)))
    if not blocks:
        return DesignMatrix(np.empty((len(frame), 0)), [])
    matrix = np.column_stack(blocks)
    spread = matrix.std(axis=0)
    varies = spread > 1e-12
    matrix = (matrix[:, varies] - matrix[:, varies].mean(axis=0)) / spread[varies]
    return DesignMatrix(matrix, [c for c, keep in zip(columns, varies, strict=True) if keep])


def _signed_log(values: np.ndarray) -> np.ndarray:
    result: np.ndarray = np.sign(values) * np.log1p(np.abs(values))
    return result
