"""Evaluation measures against plain computations, and the leakage check."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from clientela.errors import InsufficientDataError
from clientela.models import evaluate_scores, leakage_check


def test_deciles_lift_gains_and_calibration_by_hand() -> None:
    rng = np.random.default_rng(4)
    scores = rng.random(1000)
    y = (rng.random(1000) < scores).astype(int)
    evaluation = evaluate_scores(y, scores, validation="holdout")
    # Plain pandas: sort by score, ten groups of 100.
    ranked = pd.DataFrame({"s": scores, "y": y}).sort_values("s", ascending=False)
    ranked["decile"] = np.arange(1000) // 100 + 1
    per = ranked.groupby("decile")["y"].agg(["sum", "count"])
    base = y.mean()
    for decile in evaluation.deciles:
        row = per.loc[decile.decile]
        assert decile.examples == row["count"] == 100
        assert decile.positives == row["sum"]
        assert decile.lift == pytest.approx(row["sum"] / 100 / base)
    gains = per["sum"].cumsum() / y.sum()
    assert [d.cumulative_gain for d in evaluation.deciles] == pytest.approx(list(gains))
    assert evaluation.deciles[-1].cumulative_gain == pytest.approx(1)
    assert evaluation.brier == pytest.approx(np.mean((scores - y) ** 2))
    # Concordant pairs over all pairs (no ties in continuous scores).
    pos, neg = scores[y == 1], scores[y == 0]
    assert evaluation.roc_auc == pytest.approx((pos[:, None] > neg[None, :]).mean())
    bins = np.minimum((scores * 10).astype(int), 9)
    for point in evaluation.calibration:
        inside = bins == int(point.predicted * 10)
        assert point.examples == inside.sum()
        assert point.observed == pytest.approx(y[inside].mean())


def test_evaluating_one_class_is_refused() -> None:
    with pytest.raises(InsufficientDataError, match="the holdout needs both"):
        evaluate_scores(np.ones(10), np.linspace(0, 1, 10), validation="holdout")


def test_leakage_check_names_the_near_perfect_feature() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    y = (rng.random(n) < 0.3).astype(int)
    frame = pd.DataFrame(
        {
            "honest": rng.normal(size=n) + 0.8 * y,
            "status_after_call": np.where(
                rng.random(n) < 0.97, np.where(y == 1, "won", "lost"), "unknown"
            ),
            "id": [f"c{i}" for i in range(n)],  # unique: out of fold it says nothing
            "amount_after": y * 100 + rng.normal(size=n),
        }
    )
    found = leakage_check(frame, y)
    assert sorted(w.feature for w in found) == ["amount_after", "status_after_call"]
    assert all(w.roc_auc is not None and w.roc_auc >= 0.9 for w in found)
    assert "almost perfectly" in str(found[0])


def test_leakage_check_flags_what_was_recorded_after_the_outcome() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"score": rng.normal(size=200), "grade": rng.normal(size=200)})
    y = np.arange(200) % 2
    found = leakage_check(
        frame,
        y,
        recorded_at={"score": dt.date(2026, 6, 3), "grade": None},
        outcome_from=dt.date(2026, 6, 1),
    )
    messages = {w.feature: w.reason for w in found}
    assert messages["score"] == (
        "recorded on 2026-06-03, on or after the start of the outcome window (2026-06-01)"
    )
    assert "not dated" in messages["grade"]
