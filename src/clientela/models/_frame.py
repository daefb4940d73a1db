"""From a frame of mixed features to the numeric matrices the estimators read.

:class:`FrameEncoder` learns, from the training frame only (it never looks at the target):

* which columns are numeric: numbers and booleans, and text columns whose every value reads as a
  number (third-party attributes are stored as text);
* which columns carry nothing: all missing, or one value everywhere; they are dropped, and
  ``dropped_`` says why;
* for each categorical column, the levels kept: the ``max_levels`` most frequent among those
  seen at least ``min_level_count`` times.  Rarer levels become one "other" level, so a column
  of 100,000 distinct values costs a handful of columns, not 100,000.

Two matrices come out: one for trees (numbers as they are, missing as NaN; categoricals as level
codes for LightGBM's own categorical splits) and one for the linear model (missing numbers
imputed with the median plus a "was missing" indicator, standardised; categoricals one-hot).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clientela.errors import DataError

__all__ = ["ColumnPlan", "FrameEncoder", "as_frame", "coerce_numbers"]

log = logging.getLogger(__name__)

OTHER = "(other)"
MISSING = "(missing)"


def as_frame(X: object) -> pd.DataFrame:
    """A DataFrame from a frame, an Arrow table or a 2-D array (columns named x0, x1...)."""
    if isinstance(X, pd.DataFrame):
        return X
    to_pandas = getattr(X, "to_pandas", None)
    if callable(to_pandas):
        frame = to_pandas()
        if isinstance(frame, pd.DataFrame):
            return frame
    array = np.asarray(X)
    if array.ndim != 2:
        raise DataError(f"features must be a table (2-D), got {array.ndim} dimension(s)")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


def _is_text(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def coerce_numbers(series: pd.Series) -> pd.Series | None:
    """The column as float when every present value reads as a number, else None."""
    if not _is_text(series):
        return series.astype("float64")
    present = series.dropna()
    if present.empty:
        return None
    numbers = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
    if numbers.isna().any():
        return None
    return pd.to_numeric(series.astype("object").where(series.notna()), errors="coerce").astype(
        "float64"
    )


@dataclass(frozen=True)
class ColumnPlan:
    """What the encoder learnt about one kept column."""

    name: str
    numeric: bool
    levels: tuple[str, ...] = ()  # categorical: kept levels, in code order
    has_other: bool = False
    median: float = 0.0
    mean: float = 0.0
    scale: float = 1.0
    had_missing: bool = False


class FrameEncoder:
    """Learns a :class:`ColumnPlan` per column; see the module docstring."""

    def __init__(self, max_levels: int = 30, min_level_count: int = 20):
        self.max_levels = max_levels
        self.min_level_count = min_level_count

    def fit(self, X: pd.DataFrame) -> FrameEncoder:
        plans: list[ColumnPlan] = []
        dropped: dict[str, str] = {}
        for name in X.columns:
            column = X[name]
            if column.isna().all():
                dropped[str(name)] = "all values are missing"
                continue
            numbers = coerce_numbers(column)
            plan: ColumnPlan | None
            if numbers is not None:
                plan = self._numeric_plan(str(name), numbers)
            else:
                plan = self._categorical_plan(str(name), column, dropped)
            if plan is None:
                continue
            if plan.numeric and plan.scale == 0.0 and not plan.had_missing:
                dropped[str(name)] = "the same value everywhere"
                continue
            plans.append(plan)
        for name, reason in dropped.items():
            # Debug only: cross-validation refits the encoder per fold; the caller reports
            # ``dropped_`` once (the model's ``dropped_features_``).
            log.debug("feature %s dropped: %s", name, reason)
        self.plans_ = tuple(plans)
        self.dropped_ = dropped
        self.linear_names_, self.linear_groups_ = self._linear_layout()
        return self

    def _numeric_plan(self, name: str, numbers: pd.Series) -> ColumnPlan:
        present = numbers.dropna()
        median = float(present.median())
        filled = numbers.fillna(median)
        scale = float(filled.std(ddof=0))
        return ColumnPlan(
            name=name,
            numeric=True,
            median=median,
            mean=float(filled.mean()),
            scale=scale if np.isfinite(scale) else 0.0,
            had_missing=bool(numbers.isna().any()),
        )

    def _categorical_plan(
        self, name: str, column: pd.Series, dropped: dict[str, str]
    ) -> ColumnPlan | None:
        text = column.dropna().astype(str)
        counts = text.value_counts(sort=False)
        # Most frequent first; ties by level, so that the plan does not depend on row order.
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        kept = [str(lvl) for lvl, n in ordered if n >= self.min_level_count][: self.max_levels]
        has_other = len(kept) < len(ordered)
        had_missing = bool(column.isna().any())
        distinct = len(kept) + int(has_other) + int(had_missing)
        if distinct <= 1:
            if not kept and len(ordered) > 1:
                dropped[name] = (
                    f"{len(ordered):,} levels, none seen at least {self.min_level_count} times"
                )
            else:
                dropped[name] = "the same value everywhere"
            return None
        return ColumnPlan(
            name=name,
            numeric=False,
            levels=tuple(kept),
            has_other=has_other,
            had_missing=had_missing,
        )

    def _linear_layout(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        names: list[str] = []
        groups: list[str] = []
        for plan in self.plans_:
            if plan.numeric:
                parts = [plan.name] + ([f"{plan.name} is missing"] if plan.had_missing else [])
            else:
                labels = list(plan.levels) + ([OTHER] if plan.has_other else [])
                labels += [MISSING] if plan.had_missing else []
                parts = [f"{plan.name} = {label}" for label in labels]
            names.extend(parts)
            groups.extend([plan.name] * len(parts))
        return tuple(names), tuple(groups)

    # -- transforming ------------------------------------------------------------------------
    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(plan.name for plan in self.plans_)

    @property
    def categorical_indices(self) -> list[int]:
        return [i for i, plan in enumerate(self.plans_) if not plan.numeric]

    def _check_columns(self, X: pd.DataFrame) -> None:
        missing = [plan.name for plan in self.plans_ if plan.name not in X.columns]
        if missing:
            shown = ", ".join(repr(m) for m in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise DataError(f"the data lacks the model's feature column(s) {shown}{more}")

    def _codes(self, plan: ColumnPlan, column: pd.Series) -> np.ndarray:
        """Level codes: kept levels 0..k-1, other k, missing NaN."""
        missing = column.isna().to_numpy()
        text = column.astype("object").where(~missing, "").astype(str)
        codes = (
            pd.Index(list(plan.levels), dtype="object")
            .get_indexer(pd.Index(text))
            .astype("float64")
        )
        codes[codes < 0] = float(len(plan.levels))
        codes[missing] = np.nan
        return codes

    def _numbers(self, plan: ColumnPlan, column: pd.Series) -> np.ndarray:
        numbers = coerce_numbers(column)
        if numbers is None:  # text where numbers were learnt: unreadable values count as missing
            numbers = pd.to_numeric(column.astype("object"), errors="coerce")
        return np.asarray(numbers, dtype="float64")

    def tree_columns(self, X: pd.DataFrame) -> list[np.ndarray]:
        """The columns of :meth:`tree_matrix`, one float array each."""
        self._check_columns(X)
        return [
            self._numbers(plan, X[plan.name]) if plan.numeric else self._codes(plan, X[plan.name])
            for plan in self.plans_
        ]

    def tree_matrix(self, X: pd.DataFrame) -> np.ndarray:
        columns = self.tree_columns(X)
        return np.column_stack(columns) if columns else np.empty((len(X), 0))

    def linear_matrix(self, X: pd.DataFrame) -> np.ndarray:
        self._check_columns(X)
        blocks: list[np.ndarray] = []
        for plan in self.plans_:
            if plan.numeric:
                values = self._numbers(plan, X[plan.name])
                missing = np.isnan(values)
                filled = np.where(missing, plan.median, values)
                scale = plan.scale if plan.scale > 0 else 1.0
                blocks.append(((filled - plan.mean) / scale)[:, None])
                if plan.had_missing:
                    blocks.append(missing.astype("float64")[:, None])
                continue
            codes = self._codes(plan, X[plan.name])
            width = len(plan.levels) + int(plan.has_other) + int(plan.had_missing)
            onehot = np.zeros((len(codes), width))
            present = ~np.isnan(codes)
            rows = np.arange(len(codes))
            if plan.has_other:
                onehot[rows[present], codes[present].astype(int)] = 1.0
            else:  # a level unseen in training, with no "other" column: all zeros
                seen = present & (codes < len(plan.levels))
                onehot[rows[seen], codes[seen].astype(int)] = 1.0
            if plan.had_missing:
                onehot[rows[~present], width - 1] = 1.0
            blocks.append(onehot)
        return np.hstack(blocks) if blocks else np.empty((len(X), 0))

    def display_values(self, X: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
        """The values shown beside a reason: as given, missing as "(missing)"."""
        shown = X.loc[:, list(names)].astype("object")
        return shown.where(shown.notna(), MISSING)
