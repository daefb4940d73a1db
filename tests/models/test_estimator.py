"""PropensityModel: scikit-learn's contract, calibration, reasons that add up, and bad input."""

from __future__ import annotations

import io

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from clientela.errors import InsufficientDataError, NotFittedError
from clientela.models import PropensityModel, explain
from clientela.models._evaluation import cross_validate


def synthetic(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A target driven by a number, a category and a number stored as text; plus noise."""
    rng = np.random.default_rng(seed)
    spend = rng.gamma(2.0, 50.0, n)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1])
    visits = rng.poisson(3, n)
    logit = (
        -3
        + 0.012 * spend
        + np.select([plan == "pro", plan == "plus"], [1.5, 0.7], 0)
        + (0.2 * visits)
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(
        {
            "spend": spend,
            "plan": plan,
            "visits": pd.Series(visits.astype(str)),  # numbers stored as text
            "noise": rng.normal(size=n),
        }
    )
    frame.loc[rng.random(n) < 0.1, "spend"] = np.nan
    return frame, y


def _true_logit(frame: pd.DataFrame) -> np.ndarray:
    plan = frame["plan"].to_numpy()
    bonus = np.select([plan == "pro", plan == "plus"], [1.5, 0.7], 0)
    spend = frame["spend"].fillna(100.0).to_numpy()
    return -4 + 0.03 * spend + bonus + 0.2 * frame["visits"].astype(int).to_numpy()


@pytest.mark.parametrize("algorithm", ["gbm", "logistic"])
def test_fits_predicts_and_ranks(algorithm: str) -> None:
    X, y = synthetic()
    model = PropensityModel(algorithm, random_state=1)
    assert model.fit(X[:1500], y[:1500]) is model
    proba = model.predict_proba(X[1500:])
    assert proba.shape == (500, 2)
    assert np.allclose(proba.sum(axis=1), 1) and (proba >= 0).all() and (proba <= 1).all()
    # Close to what the true probabilities achieve (spend is missing for 10%).
    oracle = roc_auc_score(y[1500:], _true_logit(X[1500:]))
    assert roc_auc_score(y[1500:], proba[:, 1]) > oracle - 0.05
    # Calibrated: the mean probability is close to the observed rate.
    assert abs(proba[:, 1].mean() - y[1500:].mean()) < 0.05
    assert set(model.predict(X[1500:])) <= {0, 1}
    importance = model.feature_importances_
    assert sum(importance.values()) == pytest.approx(1)
    assert max(importance, key=importance.__getitem__) in ("spend", "plan")
    assert importance["noise"] < importance["spend"]


@pytest.mark.parametrize("algorithm", ["gbm", "logistic"])
def test_contributions_add_up_to_the_score(algorithm: str) -> None:
    X, y = synthetic(800)
    model = PropensityModel(algorithm, calibration="none").fit(X, y)
    contributions = model.contributions(X[:50])
    assert contributions.sum(axis=1).to_numpy() == pytest.approx(model.decision_function(X[:50]))
    # Uncalibrated, the probability is the logistic of the summed contributions.
    logistic = 1 / (1 + np.exp(-contributions.sum(axis=1).to_numpy()))
    assert model.predict_proba(X[:50])[:, 1] == pytest.approx(logistic)


def test_reasons_raise_and_lower() -> None:
    X, y = synthetic(1000)
    model = PropensityModel("logistic").fit(X, y)
    big_spender = pd.DataFrame({"spend": [900.0], "plan": ["pro"], "visits": ["3"], "noise": [0.0]})
    small = pd.DataFrame({"spend": [1.0], "plan": ["basic"], "visits": ["0"], "noise": [0.0]})
    high, low = explain(model, pd.concat([big_spender, small], ignore_index=True), top=2)
    assert high.raising[0].feature == "spend" and high.raising[0].value == "900"
    assert all(r.effect > 0 for r in high.raising)
    assert {r.feature for r in low.lowering} & {"spend", "plan"}
    assert all(r.effect < 0 for r in low.lowering)


def test_same_seed_same_model_and_round_trip() -> None:
    X, y = synthetic(1000)
    first = PropensityModel(random_state=5).fit(X, y).predict_proba(X)
    second = PropensityModel(random_state=5).fit(X, y)
    assert second.predict_proba(X) == pytest.approx(first)
    buffer = io.BytesIO()
    joblib.dump(second, buffer)
    buffer.seek(0)
    assert joblib.load(buffer).predict_proba(X) == pytest.approx(first)
    assert clone(second).get_params() == second.get_params()
    assert not hasattr(clone(second), "estimator_")


def test_cross_validation_reports_each_fold() -> None:
    X, y = synthetic(1000)
    evaluation = cross_validate(PropensityModel("logistic"), X, y, folds=4)
    assert len(evaluation.fold_roc_auc) == 4
    assert evaluation.roc_auc == pytest.approx(np.mean(evaluation.fold_roc_auc))
    assert evaluation.validation == "4-fold cross-validation"


# -- bad input ---------------------------------------------------------------------------------
def test_scoring_before_training_is_refused() -> None:
    X, _ = synthetic(10)
    with pytest.raises(NotFittedError, match="not trained yet"):
        PropensityModel().predict_proba(X)
    with pytest.raises(NotFittedError):
        PropensityModel().contributions(X)


def test_a_target_with_one_class_is_refused() -> None:
    X, _ = synthetic(300)
    with pytest.raises(
        InsufficientDataError,
        match=r"the target has one class: all 300 examples are negative \(0 positives, 300 "
        r"negatives\); a model needs both",
    ):
        PropensityModel().fit(X, np.zeros(300))


def test_too_few_positives_says_how_many() -> None:
    X, _ = synthetic(400)
    y = np.zeros(400)
    y[:12] = 1
    with pytest.raises(
        InsufficientDataError, match="too little data to train: 12 positives, at least 50 needed"
    ) as caught:
        PropensityModel(min_positives=50).fit(X, y)
    assert caught.value.counts == {"examples": 400, "positives": 12, "negatives": 388}
    assert caught.value.needed["positives"] == 50
    with pytest.raises(InsufficientDataError, match="400 examples, at least 1,000 needed"):
        PropensityModel(min_examples=1000).fit(X, np.arange(400) % 2)


def test_an_all_missing_feature_is_dropped_with_its_reason() -> None:
    X, y = synthetic(600)
    X["empty"] = np.nan
    X["same"] = "x"
    model = PropensityModel("logistic").fit(X, y)
    assert model.dropped_features_ == {
        "empty": "all values are missing",
        "same": "the same value everywhere",
    }
    assert "empty" not in model.feature_importances_
    assert model.predict_proba(X).shape == (600, 2)


def test_a_categorical_with_100000_levels_is_capped() -> None:
    n = 100_000
    rng = np.random.default_rng(2)
    y = (rng.random(n) < 0.2).astype(int)
    frame = pd.DataFrame(
        {
            "customer_code": [f"id{i}" for i in range(n)],  # 100,000 levels, each once
            "region": np.where(rng.random(n) < 0.5, "north", "south"),
            # 100,000 levels too, but the 5 frequent ones are kept.
            "shop": np.where(
                rng.random(n) < 0.5,
                rng.choice(["s1", "s2", "s3", "s4", "s5"], n),
                [f"rare{i}" for i in range(n)],
            ),
            "spend": rng.normal(size=n) + y,
        }
    )
    model = PropensityModel(n_estimators=20, calibration="none").fit(frame, y)
    assert model.dropped_features_ == {
        "customer_code": "100,000 levels, none seen at least 20 times"
    }
    plans = {plan.name: plan for plan in model.encoder_.plans_}
    assert sorted(plans["shop"].levels) == ["s1", "s2", "s3", "s4", "s5"]  # most frequent first
    assert plans["shop"].has_other
    unseen = frame.head(3).assign(shop="brand-new", customer_code="new")
    assert model.predict_proba(unseen).shape == (3, 2)
