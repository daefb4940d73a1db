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

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.services._clv_fit import (
    UNITS,
    BGNBDFit,
    ClvFit,
    GammaGammaFit,
    ParetoNBDFit,
    fit_clv,
)
from clientela.services._clv_summary import (
    ClvGroup,
    ClvSegments,
    NewCustomerValue,
    segment_values,
)
from clientela.services._clv_value import ClvScores, ValueOptions, score_values

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
    options = ValueOptions(unit, horizon, discount_rate, margin_rate, model, new_customer_days)
    return score_values(dm, settings, calibration_end, options)[0]


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
    options = ValueOptions(unit, horizon, discount_rate, margin_rate, model, new_customer_days)
    scores, fitted, purchases = score_values(dm, settings, calibration_end, options)
    return segment_values(scores, purchases, fitted.gamma_gamma.mean_spend_)
