"""SHAP values computed once per distinct path of each tree equal LightGBM's own pred_contrib."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier

from clientela.models import PropensityModel
from clientela.models._treeshap import grouped_contributions

from .test_estimator import synthetic


def _thresholds(booster: Any) -> dict[int, list[float]]:
    """The numeric thresholds of every split, by feature."""
    found: dict[int, list[float]] = {}

    def walk(node: dict[str, Any]) -> None:
        if "split_feature" not in node:
            return
        if node["decision_type"] == "<=":
            found.setdefault(int(node["split_feature"]), []).append(float(node["threshold"]))
        walk(node["left_child"])
        walk(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    return found


def _awkward(matrix: np.ndarray, booster: Any, categorical: list[int], seed: int) -> np.ndarray:
    """Rows with values exactly at thresholds and just beside them, missing values, zeros, tiny
    values LightGBM reads as zero, and categories unseen in training or negative."""
    rng = np.random.default_rng(seed)
    rows = matrix[rng.integers(0, len(matrix), 3000)].copy()
    for feature, thresholds in _thresholds(booster).items():
        if feature in categorical:
            continue
        picks = np.array(thresholds)[rng.integers(0, len(thresholds), len(rows))]
        nudged = picks + rng.choice([0.0, 0.0, 1e-9, -1e-9], len(rows)) * np.maximum(
            np.abs(picks), 1.0
        )
        where = rng.random(len(rows)) < 0.3
        rows[where, feature] = nudged[where]
    for feature in range(rows.shape[1]):
        special = rng.choice([np.nan, 0.0, -0.0, 1e-36, -1e-35, 1e-35, 2e-35], len(rows))
        where = rng.random(len(rows)) < 0.1
        rows[where, feature] = special[where]
    for feature in categorical:
        where = rng.random(len(rows)) < 0.05
        rows[where, feature] = rng.choice([-1.0, 40.0, 2.5, np.nan], int(where.sum()))
    return rows


def _matrix(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Numbers with missing values and zeros, and two categoricals (codes) that matter."""
    rng = np.random.default_rng(seed)
    spend = rng.gamma(2.0, 50.0, n)
    spend[rng.random(n) < 0.15] = np.nan
    visits = rng.poisson(2, n).astype(float)  # many zeros
    region = rng.integers(0, 12, n).astype(float)
    region[rng.random(n) < 0.05] = np.nan
    plan = rng.integers(0, 4, n).astype(float)
    noise = rng.normal(size=(n, 4))
    logit = (
        -2
        + 0.01 * np.nan_to_num(spend, nan=60.0)
        + 0.3 * visits
        + np.isin(region, [1, 4, 7]) * 1.0
        + (plan == 3) * 1.2
        + noise[:, 0] * 0.3
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    matrix = np.column_stack([spend, visits, region, plan, noise])
    return matrix, y, [2, 3]


@pytest.mark.parametrize(
    ("leaves", "options"),
    [
        (15, {}),  # the default model: a table of every key
        (15, {"zero_as_missing": True}),  # splits whose missing type is "Zero"
        (15, {"use_missing": False}),  # missing values read as 0
        (40, {}),  # more than 20 splits: keys hashed
        (90, {"min_child_samples": 5}),  # more than 64 splits: keys of several words
    ],
)
def test_grouped_shap_values_are_lightgbm_s(leaves: int, options: dict[str, Any]) -> None:
    matrix, y, categorical = _matrix(4000, seed=leaves)
    model = LGBMClassifier(
        n_estimators=40, num_leaves=leaves, random_state=0, verbose=-1, **options
    ).fit(matrix, y, categorical_feature=categorical)
    booster = model.booster_
    if leaves == 90:
        most = max(t["num_leaves"] for t in booster.dump_model()["tree_info"])
        assert most > 65, most
    rows = _awkward(matrix, booster, categorical, seed=leaves)
    expected = np.asarray(booster.predict(rows, pred_contrib=True))
    found = grouped_contributions(booster, [rows[:, j] for j in range(rows.shape[1])])
    assert found.shape == expected.shape
    np.testing.assert_allclose(found, expected, rtol=0, atol=1e-9)


def test_a_population_has_the_same_contributions_as_row_by_row() -> None:
    X, y = synthetic(3000)
    model = PropensityModel("gbm", random_state=2).fit(X, y)
    grouped = model.contributions(X)  # past the size where paths are grouped
    assert len(X) >= 500
    matrix = model.encoder_.tree_matrix(X)
    direct = np.asarray(model.estimator_.predict(matrix, pred_contrib=True))
    np.testing.assert_allclose(grouped.to_numpy(), direct, rtol=0, atol=1e-9)
    assert list(grouped.columns) == [*model.encoder_.feature_names, "(baseline)"]
    # Small frames go row by row; either way the same numbers.
    small = model.contributions(X[:100])
    np.testing.assert_allclose(small.to_numpy(), direct[:100], rtol=0, atol=1e-9)


def test_no_rows_and_no_split() -> None:
    matrix, y, _ = _matrix(300, seed=1)
    model = LGBMClassifier(n_estimators=3, min_child_samples=1000, verbose=-1).fit(matrix, y)
    booster = model.booster_  # every tree a single leaf
    columns = [matrix[:, j] for j in range(matrix.shape[1])]
    expected = np.asarray(booster.predict(matrix, pred_contrib=True))
    np.testing.assert_allclose(grouped_contributions(booster, columns), expected, atol=1e-12)
    empty = grouped_contributions(booster, [c[:0] for c in columns])
    assert empty.shape == (0, matrix.shape[1] + 1)


def test_frame_columns_are_the_matrix_columns() -> None:
    X, y = synthetic(600)
    model = PropensityModel("gbm").fit(X, y)
    columns = model.encoder_.tree_columns(X)
    assert np.array_equal(np.column_stack(columns), model.encoder_.tree_matrix(X), equal_nan=True)
    assert isinstance(X, pd.DataFrame)
