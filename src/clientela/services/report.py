"""``clientela report value``: where the value comes from, with numbers.

Answers what share of the margin the top 20% of customers make, what share of the converted
referrals the top 20% of referrers bring, which customers contribute negatively, and the
customers, revenue, margin, cost to serve and contribution of every value tier; with the
cumulative contribution curve for the chart.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.profile.pareto import (
    cumulative_curve,
    negative_contribution,
    tier_summary,
    top_share,
)
from clientela.profile.tiers import TIERS
from clientela.services._summary import SUMMARY_TABLE, default_as_of, summary_for

__all__ = ["CurvePoint", "NegativeContribution", "TierSummary", "ValueReport", "value_report"]

log = logging.getLogger(__name__)

TOP_SHARE = 0.2
_SCRATCH = "_clientela_value_summary"


@dataclass(frozen=True)
class TierSummary:
    tier: str
    customers: int
    revenue: float
    margin: float
    cost_to_serve: float
    contribution: float
    contribution_share: float | None  # of the total contribution


@dataclass(frozen=True)
class NegativeContribution:
    """Customers whose contribution is below zero: how many, their share of all, their total."""

    customers: int
    share: float | None
    total: float


@dataclass(frozen=True)
class CurvePoint:
    customer_share: float
    contribution_share: float | None


@dataclass(frozen=True)
class ValueReport:
    as_of: dt.date
    source: str  # "customer_summary" (built) or "live"
    customers: int
    revenue: float
    margin: float
    revenue_without_margin: float
    cost_to_serve: float
    contribution: float
    top20_margin_share: float | None
    top20_customers: int
    top20_referral_share: float | None
    top20_referrers: int
    negative_contribution: NegativeContribution
    tiers: tuple[TierSummary, ...]
    curve: tuple[CurvePoint, ...]


def _one(dm: Datamart, expr: ir.Table) -> dict[str, Any]:
    rows: list[dict[str, Any]] = dm.to_pyarrow(expr).to_pylist()
    return rows[0]


def value_report(dm: Datamart, settings: Settings, as_of: dt.date | None = None) -> ValueReport:
    """The value report as of ``as_of`` (default: the day after the newest transaction)."""
    as_of = as_of or default_as_of(dm)
    summary, source = summary_for(dm, settings, as_of)
    if source != SUMMARY_TABLE:
        # Computed once into a session-private table rather than once per question below.
        dm.create_table_as(_SCRATCH, summary, temp=True)
        summary = dm.temp_table(_SCRATCH)
    try:
        return _report(dm, summary, as_of, source)
    finally:
        if source != SUMMARY_TABLE:
            dm.drop_table(_SCRATCH)


def _report(dm: Datamart, summary: ir.Table, as_of: dt.date, source: str) -> ValueReport:
    totals = _one(
        dm,
        summary.aggregate(
            customers=summary.count(),
            revenue=summary.revenue.sum(),
            margin=summary.margin.sum(),
            revenue_without_margin=summary.revenue_without_margin.sum(),
            cost_to_serve=summary.cost_to_serve.sum(),
            contribution=summary.contribution.sum(),
        ),
    )
    margin = _one(dm, top_share(summary.filter(summary.orders > 0), "margin", TOP_SHARE))
    referrers = summary.filter(summary.referrals_made > 0)
    referrals = _one(dm, top_share(referrers, "referrals_converted", TOP_SHARE))
    negative = _one(dm, negative_contribution(summary))
    per_tier = {r["value_tier"]: r for r in dm.to_pyarrow(tier_summary(summary)).to_pylist()}
    curve = dm.to_pyarrow(cumulative_curve(summary)).to_pylist()
    total_contribution = float(totals["contribution"] or 0.0)
    tiers = []
    for tier in TIERS:
        row = per_tier.get(tier, {})
        contribution = float(row.get("contribution") or 0.0)
        tiers.append(
            TierSummary(
                tier=tier,
                customers=int(row.get("customers") or 0),
                revenue=float(row.get("revenue") or 0.0),
                margin=float(row.get("margin") or 0.0),
                cost_to_serve=float(row.get("cost_to_serve") or 0.0),
                contribution=contribution,
                contribution_share=(
                    contribution / total_contribution if total_contribution else None
                ),
            )
        )
    log.info("value report as of %s from %s", as_of, source)
    return ValueReport(
        as_of=as_of,
        source=source,
        customers=int(totals["customers"]),
        revenue=float(totals["revenue"] or 0.0),
        margin=float(totals["margin"] or 0.0),
        revenue_without_margin=float(totals["revenue_without_margin"] or 0.0),
        cost_to_serve=float(totals["cost_to_serve"] or 0.0),
        contribution=total_contribution,
        top20_margin_share=margin["share"],
        top20_customers=int(margin["top_profiles"]),
        top20_referral_share=referrals["share"],
        top20_referrers=int(referrals["top_profiles"]),
        negative_contribution=NegativeContribution(
            customers=int(negative["customers"]),
            share=negative["share"],
            total=float(negative["total"]),
        ),
        tiers=tuple(tiers),
        curve=tuple(CurvePoint(**point) for point in curve),
    )
