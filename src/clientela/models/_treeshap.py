"""SHAP values of a LightGBM model for a large population, computed once per distinct path.

LightGBM's own TreeSHAP (``pred_contrib``) follows every row through every tree: about half a
millisecond a row for 200 trees of 15 leaves on one core, eight minutes for a million
customers.  Yet TreeSHAP reads a row only through the side it takes at each split of the tree
(it follows the row at the splits on the features it conditions on, and weighs both sides by
their training cover at the others), and a tree of 15 leaves has 14 splits: rows that take the
same side at every split of a tree share that tree's SHAP values, and 100,000 customers take at
most a few thousand distinct combinations per tree.

So, tree by tree, every row's side at every split is computed with numpy, as LightGBM decides
it (a value at most the threshold goes left; missing values and zeros go to the split's default
side when the split says so, otherwise a missing value counts as 0; a category goes left when it
is in the split's set), the rows are grouped by those sides, LightGBM computes the tree's SHAP
values for one row of each group (``start_iteration``, ``num_iteration=1``) and they are given
to every row of the group.  SHAP values add up over trees, so the sum is LightGBM's
``pred_contrib`` of the whole model, to rounding (a test checks it against LightGBM's own on
values at the thresholds, missing values, zeros and unseen categories).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["grouped_contributions"]

# LightGBM reads |x| <= kZeroThreshold as zero (its dense rows drop such values; a split whose
# missing type is "Zero" sends zeros to its default side).  The constant is the float 1e-35f.
_ZERO = float(np.float32(1e-35))


def _splits(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    while "split_feature" in node:
        yield node
        yield from _splits(node["left_child"])
        node = node["right_child"]


class _Columns:
    """The feature columns as LightGBM reads them, with their masks, computed once each."""

    def __init__(self, columns: Sequence[np.ndarray]):
        self.raw = columns
        self._values: dict[int, np.ndarray] = {}
        self._missing: dict[int, np.ndarray] = {}
        self._zero: dict[int, np.ndarray] = {}
        self._whole: dict[int, np.ndarray] = {}

    def values(self, feature: int) -> np.ndarray:
        if feature not in self._values:
            column = np.asarray(self.raw[feature], dtype="float64")
            self._values[feature] = np.where(np.abs(column) <= _ZERO, 0.0, column)
        return self._values[feature]

    def missing(self, feature: int) -> np.ndarray:
        if feature not in self._missing:
            self._missing[feature] = np.isnan(self.values(feature))
        return self._missing[feature]

    def zero_or_missing(self, feature: int) -> np.ndarray:
        if feature not in self._zero:
            self._zero[feature] = (self.values(feature) == 0.0) | self.missing(feature)
        return self._zero[feature]

    def whole(self, feature: int) -> np.ndarray:
        """The values truncated to integers, as a categorical split reads them."""
        if feature not in self._whole:
            self._whole[feature] = np.trunc(self.values(feature))
        return self._whole[feature]


def _side(split: dict[str, Any], columns: _Columns, out: np.ndarray) -> None:
    """Whether each row goes left at ``split`` (LightGBM's NumericalDecision and
    CategoricalDecision), written into ``out``."""
    feature = int(split["split_feature"])
    if split["decision_type"] == "==":
        # A category goes left when its integer part is in the set; missing values and
        # negative numbers go right.
        categories = np.array([float(c) for c in str(split["threshold"]).split("||")])
        out[:] = np.isin(columns.whole(feature), categories)
        return
    values = columns.values(feature)
    np.less_equal(values, float(split["threshold"]), out=out)
    missing_type = split.get("missing_type", "None")
    if missing_type == "NaN":
        default = columns.missing(feature)
        default_left = bool(split["default_left"])
    elif missing_type == "Zero":  # a missing value counts as 0, and 0 goes to the default
        default = columns.zero_or_missing(feature)
        default_left = bool(split["default_left"])
    else:  # a missing value counts as 0
        default = columns.missing(feature)
        default_left = float(split["threshold"]) >= 0.0
    if default_left:
        np.logical_or(out, default, out=out)
    else:
        np.logical_and(out, ~default, out=out)


def _key(splits: list[dict[str, Any]], columns: _Columns, side: np.ndarray) -> list[np.ndarray]:
    """The sides of every row at the splits, as bits: one uint64 word per 64 splits."""
    rows = len(side)
    words: list[np.ndarray] = []
    bit = np.empty(rows, dtype=np.uint64)
    for position, split in enumerate(splits):
        if position % 64 == 0:
            words.append(np.zeros(rows, dtype=np.uint64))
        _side(split, columns, side)
        np.left_shift(side.view(np.uint8), np.uint64(position % 64), out=bit, casting="unsafe")
        words[-1] |= bit
    return words


def _groups(words: list[np.ndarray], splits: int) -> tuple[np.ndarray, int]:
    """Each row's group (rows with the same key) and the number of groups."""
    if len(words) == 1 and splits <= 20:  # a table of every possible key (up to a million)
        key = words[0].view(np.int64)
        present = np.bincount(key, minlength=1 << splits) > 0
        number = np.cumsum(present) - 1
        return number[key], int(number[-1]) + 1
    if len(words) == 1:
        group, uniques = pd.factorize(words[0])
        return group.astype(np.int64), len(uniques)
    _, inverse = np.unique(np.column_stack(words), axis=0, return_inverse=True)
    inverse = inverse.ravel().astype(np.int64)
    return inverse, int(inverse.max()) + 1


def grouped_contributions(
    booster: Any, columns: Sequence[np.ndarray], *, threads: int = 1
) -> np.ndarray:
    """``booster.predict(matrix, pred_contrib=True)`` of the matrix whose columns are
    ``columns``, computed per tree on one row of each group of rows that take the same side at
    every split (module docstring).  Rows by columns plus one: the last column is the expected
    value (the baseline), as LightGBM returns it.  For a binary or regression booster: one tree
    per iteration, as :class:`~clientela.models.PropensityModel` trains.
    """
    rows, width = (len(columns[0]) if columns else 0), len(columns)
    result = np.zeros((rows, width + 1), order="F")
    if rows == 0:
        return result
    trees = booster.dump_model()["tree_info"]
    readable = _Columns(columns)
    every_row = np.arange(rows)
    side = np.empty(rows, dtype=bool)
    baseline = 0.0
    for index, tree in enumerate(trees):
        splits = list(_splits(tree["tree_structure"]))
        if not splits:  # a single leaf: its value is the tree's expected value
            baseline += float(tree["tree_structure"].get("leaf_value", 0.0))
            continue
        group, count = _groups(_key(splits, readable, side), len(splits))
        representative = np.empty(count, dtype=np.int64)
        representative[group] = every_row
        used = sorted({int(split["split_feature"]) for split in splits})
        sample = np.zeros((count, width))  # the features the tree does not split on: any value
        for feature in used:
            sample[:, feature] = np.asarray(columns[feature])[representative]
        shap = np.asarray(
            booster.predict(
                sample,
                pred_contrib=True,
                start_iteration=index,
                num_iteration=1,
                num_threads=threads,
            ),
            dtype="float64",
        )
        baseline += float(shap[0, -1])
        for feature in used:
            result[:, feature] += np.take(np.ascontiguousarray(shap[:, feature]), group)
    result[:, -1] = baseline
    return result
