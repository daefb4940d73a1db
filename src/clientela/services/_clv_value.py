"""The scoring half of :mod:`clientela.services.clv`: every customer's P(alive), expected
purchases and spend, and discounted lifetime value, with the margin it is counted in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.errors import DataError
from clientela.models.clv import PurchaseModel, discounted_purchases, period_rate
from clientela.profile._common import as_of_start, transaction_kind
from clientela.services._clv_fit import UNITS, ClvFit, FittedModels, fit_models, purchase_counts

__all__ = ["ClvScores", "ValueOptions", "score_values"]


@dataclass(frozen=True)
class ClvScores:
    """Per-customer lifetime value (``customers``, one row per profile) and how it was made.

    ``customers`` columns: the summary statistics of ``clv_summary``, ``p_alive``,
    ``expected_purchases`` (over the horizon), ``expected_spend`` (per purchase), ``clv``,
    ``new_customer`` (first purchase within ``new_customer_days`` of the calibration end),
    ``value_tier`` and ``segment`` (as of the day after the calibration end).
    """

    fit: ClvFit
    model: str
    horizon: int
    discount_rate: float
    period_discount_rate: float
    margin_rate: float
    margin_source: str
    new_customer_days: int
    total_clv: float
    total_expected_purchases: float
    customers: pd.DataFrame


@dataclass(frozen=True)
class ValueOptions:
    """The choices of a lifetime value computation (see ``score_clv``)."""

    unit: str
    horizon: int
    discount_rate: float | None
    margin_rate: float | None
    model: str
    new_customer_days: int


def _margin(
    dm: Datamart, settings: Settings, end: dt.date, requested: float | None
) -> tuple[float, str]:
    if requested is not None:
        return requested, "given"
    if settings.clv_margin_rate is not None:
        return settings.clv_margin_rate, "setting clv_margin_rate"
    tx = dm.table("transactions")
    sales = tx.filter(
        (transaction_kind(tx) == "sale")
        & (tx.occurred_at < as_of_start(end + dt.timedelta(days=1)))
        & tx.margin.notnull()
    )
    row = dm.to_pyarrow(
        sales.aggregate(margin=sales.margin.sum(), amount=sales.amount.sum())
    ).to_pylist()[0]
    if row["amount"] is None or not row["amount"] > 0:
        return 1.0, "none: the transactions carry no margin, lifetime value is revenue"
    return float(row["margin"]) / float(row["amount"]), "the transactions' margin over amount"


def _check_options(options: ValueOptions) -> None:
    horizon, new_customer_days = options.horizon, options.new_customer_days
    if horizon < 1:
        raise DataError(f"the horizon must be 1 or more periods, got {horizon}", value=horizon)
    if new_customer_days < 0:
        raise DataError(
            f"new customers are those of the last N days, N >= 0; got {new_customer_days}",
            value=new_customer_days,
        )
    if options.model not in ("bgnbd", "pareto_nbd"):
        raise DataError(
            f"unknown purchase model '{options.model}': use bgnbd or pareto_nbd",
            value=options.model,
        )
    margin_rate = options.margin_rate
    if margin_rate is not None and not 0 <= margin_rate <= 1:
        raise DataError(f"the margin rate must be between 0 and 1, got {margin_rate}")


def score_values(
    dm: Datamart, settings: Settings, calibration_end: dt.date | None, options: ValueOptions
) -> tuple[ClvScores, FittedModels, PurchaseModel]:
    """The scores of :func:`clientela.services.clv.score_clv`, with the models they came from
    and the purchase model chosen."""
    _check_options(options)
    unit, horizon, model = options.unit, options.horizon, options.model
    yearly = settings.clv_discount_rate if options.discount_rate is None else options.discount_rate
    if yearly <= -1:
        raise DataError(f"the discount rate must be above -1, got {yearly}", value=yearly)
    fitted = fit_models(dm, settings, calibration_end, unit, with_groups=True)
    purchases = fitted.bgnbd if model == "bgnbd" else fitted.pareto_nbd
    if fitted.fit.gamma_gamma.mean_spend is None:
        raise DataError(fitted.fit.notes[-1], rule="q > 1")
    rate, source = _margin(dm, settings, fitted.fit.calibration_end, options.margin_rate)
    per_period = period_rate(yearly, UNITS[unit])
    frame = fitted.frame
    x, t_x, tenure = purchase_counts(frame)
    spend = fitted.gamma_gamma.expected_spend(x, frame["average_repeat_spend"])
    expected, discounted = discounted_purchases(
        purchases, x, t_x, tenure, horizon=horizon, discount_rate=per_period
    )
    frame = frame.assign(
        p_alive=purchases.probability_alive(x, t_x, tenure),
        expected_purchases=expected,
        expected_spend=spend,
        clv=rate * spend * discounted,
        new_customer=tenure * UNITS[unit] <= options.new_customer_days,
    )
    columns = [c for c in frame.columns if c not in ("value_tier", "segment")]
    frame = frame[[*columns, "value_tier", "segment"]]
    scores = ClvScores(
        fit=fitted.fit,
        model=model,
        horizon=horizon,
        discount_rate=yearly,
        period_discount_rate=per_period,
        margin_rate=rate,
        margin_source=source,
        new_customer_days=options.new_customer_days,
        total_clv=float(frame["clv"].sum()),
        total_expected_purchases=float(frame["expected_purchases"].sum()),
        customers=frame,
    )
    return scores, fitted, purchases
