"""Bad input: every error a user can meet, asserted once; single purchases and zero spend are
not errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from clientela.config import Settings
from clientela.datamart import connect, migrate
from clientela.errors import DataError, NotFittedError
from clientela.models.clv import BGNBDModel, GammaGammaModel, ParetoNBDModel, lifetime_value
from clientela.services.clv import fit_clv, score_clv
from tests.models.clv.test_summary import insert_sales


@pytest.mark.parametrize("model", [BGNBDModel(), ParetoNBDModel()], ids=["bgnbd", "pareto"])
def test_predicting_before_fitting(model: BGNBDModel | ParetoNBDModel) -> None:
    for call in (
        lambda: model.expected_purchases(39, [1], [2.0], [10.0]),
        lambda: model.probability_alive([1], [2.0], [10.0]),
        lambda: model.log_likelihood([1], [2.0], [10.0]),
        lambda: model.params_,
    ):
        with pytest.raises(NotFittedError, match=f"this {type(model).__name__} is not fitted"):
            call()


def test_spend_before_fitting() -> None:
    with pytest.raises(NotFittedError, match="call fit"):
        GammaGammaModel().expected_spend([1], [10.0])
    with pytest.raises(NotFittedError):
        GammaGammaModel().mean_spend_  # noqa: B018


@pytest.mark.parametrize(
    ("x", "t_x", "T", "message"),
    [
        ([1, 2], [1.0], [5.0, 5.0], "must have one length"),
        ([-1], [0.0], [5.0], "whole numbers >= 0"),
        ([1.5], [1.0], [5.0], "whole numbers >= 0"),
        ([1], [-1.0], [5.0], "recency must be >= 0"),
        ([1], [6.0], [5.0], "cannot be later than T"),
        ([0], [1.0], [5.0], "recency must be 0"),
        ([1], [np.nan], [5.0], "missing or infinite"),
        ([], [], [], "no customers"),
        ([0, 0], [0.0, 0.0], [0.0, 0.0], "every customer has T = 0"),
    ],
)
def test_purchase_data_that_breaks_a_rule(
    x: list[float], t_x: list[float], T: list[float], message: str
) -> None:
    with pytest.raises(DataError, match=message):
        BGNBDModel().fit(x, t_x, T)


def test_single_purchases_and_zero_spend_are_left_out_of_gamma_gamma() -> None:
    x = np.array([0, 0, 1, 2, 3, 4, 2, 1])
    spend = np.array([0.0, 0.0, 0.0, 20.0, 35.0, 18.0, 50.0, 12.0])
    model = GammaGammaModel().fit(x, spend)
    assert model.n_customers_ == 5 and model.n_excluded_ == 3
    expected = model.expected_spend(x, spend)
    assert np.all(np.isfinite(expected)) and np.all(expected > 0)
    assert expected[0] == pytest.approx(model.mean_spend_)
    with pytest.raises(DataError, match="needs customers with a repeat purchase of positive"):
        GammaGammaModel().fit([0, 0, 1], [0.0, 0.0, 0.0])
    with pytest.raises(DataError, match="one length"):
        GammaGammaModel().fit([1, 2], [3.0])


def test_value_arguments() -> None:
    model = BGNBDModel().fit([0, 2, 1, 3], [0.0, 5.0, 2.0, 8.0], [10.0, 10.0, 9.0, 10.0])
    with pytest.raises(DataError, match="whole number of periods"):
        lifetime_value(model, [1.0], [1], [1.0], [5.0], horizon=0, discount_rate=0.0)
    with pytest.raises(DataError, match="above -1"):
        lifetime_value(model, [1.0], [1], [1.0], [5.0], horizon=3, discount_rate=-1.0)


@pytest.fixture
def small_db(duckdb_settings: Settings) -> Settings:
    """40 customers buying from 2025-01-10 to 2025-03-19; ``a`` buys first, on 2025-01-02, and
    ``b`` last, on 2025-03-20 (a repeat purchase worth 0); ``c`` buys once."""
    rng = np.random.default_rng(8)
    records = [
        ("a", "2025-01-02", 10.0),
        ("a", "2025-02-10", 20.0),
        ("b", "2025-01-05", 15.0),
        ("b", "2025-03-20", 0.0),
        ("c", "2025-02-01", 8.0),
    ]
    for i in range(40):
        first = 8 + int(rng.integers(0, 30))
        days = {
            first,
            *(first + int(d) for d in rng.integers(1, 70 - first + 7, rng.integers(0, 5))),
        }
        level = rng.gamma(4.0, 8.0)
        for day in sorted(days):
            when = dt.date(2025, 1, 2) + dt.timedelta(days=day)
            records.append((f"g{i:02d}", when.isoformat(), round(rng.gamma(6.0, level / 6.0), 2)))
    rows = pd.DataFrame(records, columns=["customer_id", "occurred_at", "amount"])
    rows["occurred_at"] = pd.to_datetime(rows["occurred_at"])
    with connect(duckdb_settings) as dm:
        migrate(dm)
        insert_sales(dm, rows)
    return duckdb_settings


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("2024-12-31", "the calibration end 2024-12-31 is outside the data: the sales run from "),
        ("2025-03-21", "2025-01-02 to 2025-03-20; choose a day between them"),
    ],
)
def test_calibration_end_outside_the_data(
    cli: Callable[..., Any], small_db: Settings, day: str, message: str
) -> None:
    result = cli("--db", small_db.db, "clv", "fit", "--calibration-end", day)
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr


def test_no_repeat_purchase_yet(small_db: Settings) -> None:
    with connect(small_db) as dm, pytest.raises(DataError, match="no customer bought twice by"):
        fit_clv(dm, small_db, dt.date(2025, 1, 9))


def test_empty_datamart(duckdb_settings: Settings) -> None:
    with connect(duckdb_settings) as dm:
        migrate(dm)
        with pytest.raises(DataError, match="holds no sales"):
            fit_clv(dm, duckdb_settings)


def test_unknown_unit_model_and_bad_rates(cli: Callable[..., Any], small_db: Settings) -> None:
    base = ("--db", small_db.db, "clv")
    assert "unknown time unit 'fortnight'" in cli(*base, "fit", "--unit", "fortnight").stderr
    assert "unknown purchase model 'bg'" in cli(*base, "predict", "--model", "bg").stderr
    assert (
        "margin rate must be between 0 and 1"
        in cli(*base, "predict", "--margin-rate", "1.5").stderr
    )
    assert "discount rate must be above -1" in cli(*base, "predict", "--discount-rate", "-2").stderr
    assert "N >= 0" in cli(*base, "segments", "--new-within", "-1").stderr
    result = cli(*base, "predict", "--out", small_db.db + ".txt")
    assert result.code == 2 and "must end in .csv or .xlsx" in result.stderr


def test_single_and_zero_spend_customers_are_scored(small_db: Settings) -> None:
    """c buys once, b's repeat purchase is worth 0: both get a value, and the fit says why."""
    with connect(small_db) as dm:
        scores = score_clv(dm, small_db, dt.date(2025, 3, 20), margin_rate=0.4)
    fit = scores.fit
    singles = fit.customers - fit.repeat_customers
    assert fit.gamma_gamma.single_purchase == singles and fit.gamma_gamma.zero_spend == 1
    assert fit.gamma_gamma.customers == fit.repeat_customers - 1
    assert (
        f"{singles} with a single purchase and 1 whose repeat purchases add up to zero"
        in fit.notes[0]
    )
    rows = scores.customers.set_index("customer_id")
    assert rows.loc["c", "expected_spend"] == pytest.approx(fit.gamma_gamma.mean_spend)
    assert np.isfinite(rows["clv"]).all() and (rows["clv"] >= 0).all()
    assert scores.margin_rate == 0.4 and scores.margin_source == "given"
