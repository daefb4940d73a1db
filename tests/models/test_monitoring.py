"""Population stability index and the training baseline, against plain computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clientela.models._monitoring import (
    Baseline,
    drift,
    fit_baseline,
    fit_bins,
    psi,
    stability,
)


def test_psi_by_hand() -> None:
    expected = [0.5, 0.3, 0.2, 0.0]
    actual = [0.4, 0.3, 0.2, 0.1]
    by_hand = (0.4 - 0.5) * np.log(0.4 / 0.5) + (0.1 - 1e-4) * np.log(0.1 / 1e-4)
    assert psi(expected, actual) == pytest.approx(by_hand)
    assert psi(expected, expected) == 0
    assert [stability(v) for v in (0.05, 0.1, 0.25, 0.26)] == [
        "stable",
        "moderate",
        "moderate",
        "significant",
    ]


def test_numeric_bins_are_the_training_deciles_plus_missing() -> None:
    rng = np.random.default_rng(0)
    values = pd.Series(np.where(rng.random(2000) < 0.1, np.nan, rng.normal(size=2000)))
    bins = fit_bins(values)
    present = values.dropna().to_numpy()
    assert bins.kind == "numeric"
    assert list(bins.edges) == pytest.approx(list(np.quantile(present, np.arange(1, 10) / 10)))
    # Plain pandas: cut at the edges (right-open), then the missing share.
    cut = pd.cut(present, [-np.inf, *bins.edges, np.inf], right=False)
    shares = pd.Series(cut).value_counts(sort=False).to_numpy() / len(values)
    assert list(bins.shares) == pytest.approx([*shares, values.isna().mean()])
    assert sum(bins.shares) == pytest.approx(1)


def test_categorical_bins_keep_the_frequent_levels() -> None:
    values = pd.Series(["a"] * 50 + ["b"] * 30 + [f"rare{i}" for i in range(25)] + [None] * 5)
    bins = fit_bins(values)
    assert bins.kind == "categorical"
    assert bins.levels[:2] == ("a", "b") and len(bins.levels) == 20
    assert bins.shares[0] == pytest.approx(50 / 110)
    assert bins.shares[-2] == pytest.approx(7 / 110)  # the 7 rare levels beyond the 20th
    assert bins.shares[-1] == pytest.approx(5 / 110)


def test_drift_of_a_shifted_population_and_round_trip() -> None:
    rng = np.random.default_rng(1)
    train = pd.DataFrame({"spend": rng.gamma(2, 50, 3000), "plan": rng.choice(["x", "y"], 3000)})
    score = rng.random(3000)
    baseline = Baseline.from_dict(fit_baseline(train, score).to_dict())
    same, per_feature = drift(baseline, train, score)
    assert same == pytest.approx(0, abs=1e-9) and max(per_feature.values()) < 1e-9
    later = pd.DataFrame({"spend": train["spend"] * 2, "plan": ["x"] * 3000})
    shifted, per_feature = drift(baseline, later, score**3)
    assert shifted > 0.25 and per_feature["spend"] > 0.25 and per_feature["plan"] > 0.25
    # Numbers stored as text that no longer read as numbers count as missing.
    text = pd.DataFrame({"spend": ["n/a"] * 3000, "plan": train["plan"]})
    assert drift(baseline, text, score)[1]["spend"] > 0.25
