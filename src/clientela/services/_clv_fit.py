"""The fitting half of :mod:`clientela.services.clv`: the customers' summary statistics up to
the calibration end, and BG/NBD, Pareto/NBD and Gamma-Gamma fitted on them."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.errors import DataError
from clientela.models.clv import BGNBDModel, GammaGammaModel, ParetoNBDModel, clv_summary
from clientela.profile._common import transaction_kind
from clientela.services._summary import summary_for

__all__ = [
    "UNITS",
    "BGNBDFit",
    "ClvFit",
    "FittedModels",
    "GammaGammaFit",
    "ParetoNBDFit",
    "fit_clv",
    "fit_models",
    "purchase_counts",
]

log = logging.getLogger(__name__)

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


@dataclass
class FittedModels:
    """The fit's summary, the customers' statistics (``frame``) and the fitted models."""

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


def purchase_counts(
    frame: pd.DataFrame,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The summary's ``x``, ``t_x`` and ``T`` (repeat purchases, purchase span, tenure)."""
    return (
        frame["repeat_purchases"].to_numpy(dtype=np.float64),
        frame["purchase_span"].to_numpy(dtype=np.float64),
        frame["tenure"].to_numpy(dtype=np.float64),
    )


def fit_models(
    dm: Datamart,
    settings: Settings,
    calibration_end: dt.date | None,
    unit: str,
    *,
    with_groups: bool,
) -> FittedModels:
    started = time.perf_counter()
    unit_days = _unit_days(unit)
    end = _calibration_end(dm, calibration_end)
    frame = _summary_frame(dm, settings, end, unit_days, with_groups=with_groups)
    x, t_x, tenure = purchase_counts(frame)
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
    return FittedModels(fit, frame, bgnbd, pareto, gamma_gamma)


def fit_clv(
    dm: Datamart,
    settings: Settings,
    calibration_end: dt.date | None = None,
    *,
    unit: str = "week",
) -> ClvFit:
    """Fit BG/NBD, Pareto/NBD and Gamma-Gamma on the sales up to ``calibration_end`` (included;
    default: the day of the newest sale), times counted in ``unit`` (day, week or month)."""
    return fit_models(dm, settings, calibration_end, unit, with_groups=False).fit
