"""``clientela clv``: lifetime value of non-contractual customers, fitted on the datamart.

:func:`fit_clv` computes every profile's summary statistics (``x``, ``t_x``, ``T`` and the mean
spend of repeat purchases) up to the last day of a calibration period and fits BG/NBD,
Pareto/NBD and Gamma-Gamma by maximum likelihood.  :func:`score_clv` adds, per customer, the
probability of being alive, the purchases expected over a horizon, the expected spend and the
discounted lifetime value; :func:`clv_segments` sums them per value tier, per RFM segment and for
the newly acquired customers.  See ``docs/clv.md``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.errors import DataError
from clientela.models.clv import (
    BGNBDModel,
    GammaGammaModel,
    ParetoNBDModel,
    PurchaseModel,
    clv_summary,
    discounted_purchases,
    period_rate,
)
from clientela.profile._common import as_of_start, transaction_kind
from clientela.profile.rfm import SEGMENTS
from clientela.profile.tiers import TIERS
from clientela.services._summary import summary_for

__all__ = [
    "UNITS",
    "BGNBDFit",
    "ClvFit",
    "ClvGroup",
    "ClvScores",
    "ClvSegments",
    "GammaGammaFit",
    "NewCustomerValue",
    "ParetoNBDFit",
    "clv_segments",
    "fit_clv",
    "score_clv",
]

log = logging.getLogger(__name__)

Unit = Literal["day", "week", "month"]
PurchaseModelName = Literal["bgnbd", "pareto_nbd"]

UNITS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}
"""Days in each time unit the models can count in."""


@dataclass(frozen=True)
class BGNBDFit:
    r: float
    alpha: float
    a: float
    b: float
    loglik: float


@dataclass(frozen=True)
class ParetoNBDFit:
    r: float
    alpha: float
    s: float
    beta: float
    loglik: float


@dataclass(frozen=True)
class GammaGammaFit:
    """Gamma-Gamma's parameters; ``customers`` it was fitted on, ``single_purchase`` and
    ``zero_spend`` the customers left out; ``mean_spend`` the population's ``p gamma/(q-1)``."""

    p: float
    q: float
    gamma: float
    loglik: float
    customers: int
    single_purchase: int
    zero_spend: int
    mean_spend: float | None


@dataclass(frozen=True)
class ClvFit:
    """The three models fitted on the calibration period, and what was left out of them."""

    calibration_end: dt.date
    unit: str
    customers: int
    repeat_customers: int
    bgnbd: BGNBDFit
    pareto_nbd: ParetoNBDFit
    gamma_gamma: GammaGammaFit
    notes: tuple[str, ...]
    seconds: float


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
class ClvGroup:
    """Lifetime value summed over the customers of a tier, a segment or the new customers."""

    name: str
    customers: int
    expected_purchases: float
    clv: float
    clv_share: float | None
    average_clv: float | None
    average_p_alive: float | None


@dataclass(frozen=True)
class NewCustomerValue:
    """What a customer just acquired is expected to bring over the horizon, before any repeat:
    the population's expected purchases and mean spend."""

    expected_purchases: float
    expected_spend: float
    clv: float


@dataclass(frozen=True)
class ClvSegments:
    fit: ClvFit
    model: str
    horizon: int
    discount_rate: float
    margin_rate: float
    margin_source: str
    new_customer_days: int
    total_clv: float
    tiers: tuple[ClvGroup, ...]
    segments: tuple[ClvGroup, ...]
    new_customers: ClvGroup
    new_customer_value: NewCustomerValue


@dataclass
class _Fitted:
    fit: ClvFit
    frame: pd.DataFrame
    bgnbd: BGNBDModel
    pareto_nbd: ParetoNBDModel
    gamma_gamma: GammaGammaModel


def _sale_days(dm: Datamart) -> tuple[dt.date, dt.date]:
    tx = dm.table("transactions")
    sales = tx.filter(transaction_kind(tx) == "sale")
    row = dm.to_pyarrow(
        sales.aggregate(first=sales.occurred_at.min(), last=sales.occurred_at.max())
    ).to_pylist()[0]
    if row["first"] is None:
        raise DataError("the datamart holds no sales to fit lifetime value models on")
    return row["first"].date(), row["last"].date()


def _calibration_end(dm: Datamart, requested: dt.date | None) -> dt.date:
    first, last = _sale_days(dm)
    if requested is None:
        return last
    if not first <= requested <= last:
        raise DataError(
            f"the calibration end {requested} is outside the data: the sales run from {first} "
            f"to {last}; choose a day between them",
            value=str(requested),
        )
    return requested


def _unit_days(unit: str) -> float:
    if unit not in UNITS:
        raise DataError(f"unknown time unit '{unit}': use one of {', '.join(UNITS)}", value=unit)
    return UNITS[unit]


def _summary_frame(
    dm: Datamart, settings: Settings, end: dt.date, unit_days: float, *, with_groups: bool
) -> pd.DataFrame:
    summary = clv_summary(dm.table("transactions"), dm.table("identity"), end, unit_days)
    if with_groups:
        groups, _ = summary_for(dm, settings, end + dt.timedelta(days=1))
        groups = groups.select(
            _group_customer=groups.customer_id,
            value_tier=groups.value_tier,
            segment=groups.segment,
        )
        joined = summary.left_join(groups, summary.customer_id == groups._group_customer)
        summary = joined.drop("_group_customer")
    frame = dm.to_pandas(summary.order_by("customer_id"))
    frame["repeat_purchases"] = frame["repeat_purchases"].astype("int64")
    return frame


def _fit(
    dm: Datamart,
    settings: Settings,
    calibration_end: dt.date | None,
    unit: str,
    *,
    with_groups: bool,
) -> _Fitted:
    started = time.perf_counter()
    unit_days = _unit_days(unit)
    end = _calibration_end(dm, calibration_end)
    frame = _summary_frame(dm, settings, end, unit_days, with_groups=with_groups)
    x = frame["repeat_purchases"].to_numpy(dtype=np.float64)
    t_x = frame["purchase_span"].to_numpy(dtype=np.float64)
    tenure = frame["tenure"].to_numpy(dtype=np.float64)
    spend = frame["average_repeat_spend"].to_numpy(dtype=np.float64)
    repeat = int((x > 0).sum())
    if repeat == 0:
        raise DataError(
            f"no customer bought twice by {end}: lifetime value models need repeat purchases; "
            "choose a later calibration end",
            value=str(end),
        )
    bgnbd = BGNBDModel().fit(x, t_x, tenure)
    pareto = ParetoNBDModel().fit(x, t_x, tenure)
    gamma_gamma = GammaGammaModel().fit(x, spend)
    single = int((x == 0).sum())
    zero_spend = int(((x > 0) & (spend <= 0)).sum())
    mean_spend = gamma_gamma.mean_spend_
    notes = [
        f"Gamma-Gamma was fitted on the {gamma_gamma.n_customers_:,} customers with repeat "
        f"purchases of positive spend; {single:,} with a single purchase and {zero_spend:,} "
        "whose repeat purchases add up to zero or less were left out of it"
    ]
    if np.isfinite(mean_spend):
        notes.append(
            f"customers with a single purchase are expected to spend the population's mean, "
            f"{mean_spend:,.2f} a purchase"
        )
    else:
        notes.append(
            f"Gamma-Gamma's q is {gamma_gamma.q_:.3f} (1 or less): the mean spend is infinite "
            "and lifetime value cannot be computed"
        )
    fit = ClvFit(
        calibration_end=end,
        unit=unit,
        customers=len(frame),
        repeat_customers=repeat,
        bgnbd=BGNBDFit(
            r=bgnbd.r_, alpha=bgnbd.alpha_, a=bgnbd.a_, b=bgnbd.b_, loglik=bgnbd.loglik_
        ),
        pareto_nbd=ParetoNBDFit(
            r=pareto.r_,
            alpha=pareto.alpha_,
            s=pareto.s_,
            beta=pareto.beta_,
            loglik=pareto.loglik_,
        ),
        gamma_gamma=GammaGammaFit(
            p=gamma_gamma.p_,
            q=gamma_gamma.q_,
            gamma=gamma_gamma.gamma_,
            loglik=gamma_gamma.loglik_,
            customers=gamma_gamma.n_customers_,
            single_purchase=single,
            zero_spend=zero_spend,
            mean_spend=mean_spend if np.isfinite(mean_spend) else None,
        ),
        notes=tuple(notes),
        seconds=round(time.perf_counter() - started, 3),
    )
    log.info("CLV models fitted on %d customers up to %s", fit.customers, end)
    return _Fitted(fit, frame, bgnbd, pareto, gamma_gamma)


def fit_clv(
    dm: Datamart,
    settings: Settings,
    calibration_end: dt.date | None = None,
    *,
    unit: str = "week",
) -> ClvFit:
    """Fit BG/NBD, Pareto/NBD and Gamma-Gamma on the sales up to ``calibration_end`` (included;
    default: the day of the newest sale), times counted in ``unit`` (day, week or month)."""
    return _fit(dm, settings, calibration_end, unit, with_groups=False).fit


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


def _check_value_inputs(horizon: int, new_customer_days: int) -> None:
    if horizon < 1:
        raise DataError(f"the horizon must be 1 or more periods, got {horizon}", value=horizon)
    if new_customer_days < 0:
        raise DataError(
            f"new customers are those of the last N days, N >= 0; got {new_customer_days}",
            value=new_customer_days,
        )


def _score(
    dm: Datamart,
    settings: Settings,
    calibration_end: dt.date | None,
    *,
    unit: str,
    horizon: int,
    discount_rate: float | None,
    margin_rate: float | None,
    model: str,
    new_customer_days: int,
) -> tuple[ClvScores, _Fitted, PurchaseModel]:
    _check_value_inputs(horizon, new_customer_days)
    if model not in ("bgnbd", "pareto_nbd"):
        raise DataError(f"unknown purchase model '{model}': use bgnbd or pareto_nbd", value=model)
    if margin_rate is not None and not 0 <= margin_rate <= 1:
        raise DataError(f"the margin rate must be between 0 and 1, got {margin_rate}")
    yearly = settings.clv_discount_rate if discount_rate is None else discount_rate
    if yearly <= -1:
        raise DataError(f"the discount rate must be above -1, got {yearly}", value=yearly)
    fitted = _fit(dm, settings, calibration_end, unit, with_groups=True)
    purchases = fitted.bgnbd if model == "bgnbd" else fitted.pareto_nbd
    if fitted.fit.gamma_gamma.mean_spend is None:
        raise DataError(fitted.fit.notes[-1], rule="q > 1")
    rate, source = _margin(dm, settings, fitted.fit.calibration_end, margin_rate)
    per_period = period_rate(yearly, UNITS[unit])
    frame = fitted.frame
    x = frame["repeat_purchases"].to_numpy(dtype=np.float64)
    t_x = frame["purchase_span"].to_numpy(dtype=np.float64)
    tenure = frame["tenure"].to_numpy(dtype=np.float64)
    spend = fitted.gamma_gamma.expected_spend(x, frame["average_repeat_spend"])
    expected, discounted = discounted_purchases(
        purchases, x, t_x, tenure, horizon=horizon, discount_rate=per_period
    )
    frame = frame.assign(
        p_alive=purchases.probability_alive(x, t_x, tenure),
        expected_purchases=expected,
        expected_spend=spend,
        clv=rate * spend * discounted,
        new_customer=tenure * UNITS[unit] <= new_customer_days,
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
        new_customer_days=new_customer_days,
        total_clv=float(frame["clv"].sum()),
        total_expected_purchases=float(frame["expected_purchases"].sum()),
        customers=frame,
    )
    return scores, fitted, purchases


def score_clv(
    dm: Datamart,
    settings: Settings,
    calibration_end: dt.date | None = None,
    *,
    unit: str = "week",
    horizon: int = 52,
    discount_rate: float | None = None,
    margin_rate: float | None = None,
    model: str = "bgnbd",
    new_customer_days: int = 90,
) -> ClvScores:
    """Every customer's P(alive), expected purchases and spend, and lifetime value.

    ``horizon`` is in periods of ``unit``; ``discount_rate`` is yearly (default: the setting
    ``clv_discount_rate``), applied per period; ``margin_rate`` defaults to the setting
    ``clv_margin_rate``, else the transactions' margin over their amount, else 1 (revenue).
    ``model`` is the purchase model: ``bgnbd`` or ``pareto_nbd``.
    """
    scores, _, _ = _score(
        dm,
        settings,
        calibration_end,
        unit=unit,
        horizon=horizon,
        discount_rate=discount_rate,
        margin_rate=margin_rate,
        model=model,
        new_customer_days=new_customer_days,
    )
    return scores


def _group(name: str, rows: pd.DataFrame, total: float) -> ClvGroup:
    customers = len(rows)
    clv = float(rows["clv"].sum())
    return ClvGroup(
        name=name,
        customers=customers,
        expected_purchases=float(rows["expected_purchases"].sum()),
        clv=clv,
        clv_share=clv / total if total else None,
        average_clv=clv / customers if customers else None,
        average_p_alive=float(rows["p_alive"].mean()) if customers else None,
    )


def _groups(
    frame: pd.DataFrame, column: str, order: tuple[str, ...], total: float
) -> list[ClvGroup]:
    names = [n for n in order if n in set(frame[column].dropna())]
    groups = [_group(name, frame[frame[column] == name], total) for name in names]
    missing = frame[frame[column].isna()]
    if len(missing):
        groups.append(_group("(none)", missing, total))
    return groups


def clv_segments(
    dm: Datamart,
    settings: Settings,
    calibration_end: dt.date | None = None,
    *,
    unit: str = "week",
    horizon: int = 52,
    discount_rate: float | None = None,
    margin_rate: float | None = None,
    model: str = "bgnbd",
    new_customer_days: int = 90,
) -> ClvSegments:
    """Lifetime value summed per value tier, per RFM segment and for the new customers, with
    what a customer just acquired is expected to bring (arguments as :func:`score_clv`)."""
    scores, fitted, purchases = _score(
        dm,
        settings,
        calibration_end,
        unit=unit,
        horizon=horizon,
        discount_rate=discount_rate,
        margin_rate=margin_rate,
        model=model,
        new_customer_days=new_customer_days,
    )
    frame, total = scores.customers, scores.total_clv
    zero = np.zeros(1)
    expected, discounted = discounted_purchases(
        purchases, zero, zero, zero, horizon=horizon, discount_rate=scores.period_discount_rate
    )
    mean_spend = fitted.gamma_gamma.mean_spend_
    return ClvSegments(
        fit=scores.fit,
        model=model,
        horizon=horizon,
        discount_rate=scores.discount_rate,
        margin_rate=scores.margin_rate,
        margin_source=scores.margin_source,
        new_customer_days=new_customer_days,
        total_clv=total,
        tiers=tuple(_groups(frame, "value_tier", TIERS, total)),
        segments=tuple(_groups(frame, "segment", SEGMENTS, total)),
        new_customers=_group("new customers", frame[frame["new_customer"]], total),
        new_customer_value=NewCustomerValue(
            expected_purchases=float(expected[0]),
            expected_spend=mean_spend,
            clv=float(scores.margin_rate * mean_spend * discounted[0]),
        ),
    )
