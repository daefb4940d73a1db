"""Customer lifetime value over a horizon: expected purchases per period, spend, margin, discount.

    CLV = margin_rate * E[M | x, m] * sum_{k=1..H} (E[X(k)] - E[X(k-1)]) / (1 + d)^k

``E[X(k)]`` is the purchase model's expected purchases in the ``k`` periods after the end of the
calibration period (given ``x``, ``t_x``, ``T``), ``E[M | x, m]`` the Gamma-Gamma expected spend,
``H`` the horizon in periods and ``d`` the discount rate per period: each period's purchases are
discounted at its end, as Fader, Hardie and Lee and lifetimes do.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from clientela.errors import DataError
from clientela.models.clv._fitting import Array, ArrayLike

__all__ = ["PurchaseModel", "discounted_purchases", "lifetime_value", "period_rate"]


class PurchaseModel(Protocol):
    """What a purchase model gives: expected purchases and the probability of being alive."""

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, tenure: ArrayLike
    ) -> Array: ...

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, tenure: ArrayLike
    ) -> Array: ...


def period_rate(yearly_rate: float, unit_days: float) -> float:
    """The discount rate per period of ``unit_days`` days equivalent to ``yearly_rate``."""
    if yearly_rate <= -1:
        raise DataError(f"the discount rate must be above -1, got {yearly_rate}", rule="> -1")
    return float((1.0 + yearly_rate) ** (unit_days / 365.25) - 1.0)


def discounted_purchases(
    model: PurchaseModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    tenure: ArrayLike,
    *,
    horizon: int,
    discount_rate: float,
) -> tuple[Array, Array]:
    """The purchases expected over ``horizon`` periods, and the same discounted per period.

    Customers with the same ``(x, t_x, T)`` are computed once.
    """
    if horizon < 1 or int(horizon) != horizon:
        raise DataError(f"the horizon must be a whole number of periods >= 1, got {horizon}")
    if discount_rate <= -1:
        raise DataError(f"the discount rate must be above -1, got {discount_rate}", rule="> -1")
    x, t_x, tenure = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, tenure))
    if len(x) == 0:
        return np.zeros(0), np.zeros(0)
    rows, inverse = np.unique(np.column_stack([x, t_x, tenure]), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    ux, ut_x, utenure = rows[:, 0], rows[:, 1], rows[:, 2]
    previous = np.zeros(len(rows))
    discounted = np.zeros(len(rows))
    for period in range(1, int(horizon) + 1):
        cumulative = model.expected_purchases(float(period), ux, ut_x, utenure)
        discounted += (cumulative - previous) / (1.0 + discount_rate) ** period
        previous = cumulative
    return previous[inverse], discounted[inverse]


def lifetime_value(
    model: PurchaseModel,
    expected_spend: ArrayLike,
    frequency: ArrayLike,
    recency: ArrayLike,
    tenure: ArrayLike,
    *,
    horizon: int,
    discount_rate: float,
    margin_rate: float = 1.0,
) -> Array:
    """Each customer's lifetime value over ``horizon`` periods (module docstring).

    ``discount_rate`` is per period; :func:`period_rate` converts a yearly rate.
    """
    _, discounted = discounted_purchases(
        model, frequency, recency, tenure, horizon=horizon, discount_rate=discount_rate
    )
    result: Array = margin_rate * np.asarray(expected_spend, dtype=np.float64) * discounted
    return result
