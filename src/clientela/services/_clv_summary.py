"""Lifetime value summed per value tier, per RFM segment and for the newly acquired customers
(see :func:`clientela.services.clv.clv_segments`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clientela.models.clv import PurchaseModel, discounted_purchases
from clientela.profile.rfm import SEGMENTS
from clientela.profile.tiers import TIERS
from clientela.services._clv_fit import ClvFit
from clientela.services._clv_value import ClvScores

__all__ = ["ClvGroup", "ClvSegments", "NewCustomerValue", "segment_values"]


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


def segment_values(scores: ClvScores, purchases: PurchaseModel, mean_spend: float) -> ClvSegments:
    """``scores`` summed per value tier, per RFM segment and for the new customers, with what a
    customer just acquired is expected to bring (``mean_spend`` a purchase)."""
    frame, total = scores.customers, scores.total_clv
    zero = np.zeros(1)
    expected, discounted = discounted_purchases(
        purchases,
        zero,
        zero,
        zero,
        horizon=scores.horizon,
        discount_rate=scores.period_discount_rate,
    )
    return ClvSegments(
        fit=scores.fit,
        model=scores.model,
        horizon=scores.horizon,
        discount_rate=scores.discount_rate,
        margin_rate=scores.margin_rate,
        margin_source=scores.margin_source,
        new_customer_days=scores.new_customer_days,
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
