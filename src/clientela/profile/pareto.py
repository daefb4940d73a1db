"""Pareto views of value: top shares, negative contributors, the cumulative contribution curve.

Each function takes a table of profiles (``customer_id`` plus the measures it names, such as
the output of :func:`~clientela.profile.tiers.value_tiers`) and returns an expression; none
executes.
"""

from __future__ import annotations

from fractions import Fraction

import ibis
import ibis.expr.types as ir

__all__ = ["cumulative_curve", "negative_contribution", "tier_summary", "top_share"]


def top_share(profiles: ir.Table, column: str, share: float = 0.2) -> ir.Table:
    """One row: what the top ``share`` of ``profiles`` ranked by ``column`` make of its total.

    The top is the first ``ceil(share * n)`` profiles by ``column`` (largest first, ties by id).
    Columns: ``profiles``, ``top_profiles``, ``total``, ``top_total`` and ``share`` (null when
    the total is zero).
    """
    # share = p/q exactly, so that "rank < share * n" is decided in integers.
    fraction = Fraction(share).limit_denominator(10_000)
    value = profiles[column].fill_null(0)
    rank0 = ibis.row_number().over(order_by=[ibis.desc(value), profiles.customer_id])
    n = profiles.customer_id.count().over()
    ranked = profiles.mutate(
        _value=value, _in_top=rank0 * fraction.denominator < n * fraction.numerator
    )
    summary = ranked.aggregate(
        profiles=ranked.count(),
        top_profiles=ranked.count(where=ranked._in_top),
        total=ranked._value.sum().cast("float64"),
        top_total=ranked._value.sum(where=ranked._in_top).cast("float64"),
    )
    return summary.mutate(
        top_total=summary.top_total.fill_null(0.0),
        share=summary.top_total.fill_null(0.0) / summary.total.nullif(0.0),
    )


def negative_contribution(profiles: ir.Table) -> ir.Table:
    """One row: how many profiles contribute negatively, their share of profiles and total."""
    negative = profiles.contribution < 0
    summary = profiles.aggregate(
        customers=profiles.count(where=negative),
        all_customers=profiles.count(),
        total=profiles.contribution.sum(where=negative).cast("float64"),
    )
    return summary.select(
        customers=summary.customers,
        share=summary.customers.cast("float64") / summary.all_customers.nullif(0),
        total=summary.total.fill_null(0.0),
    )


def cumulative_curve(profiles: ir.Table, points: int = 100) -> ir.Table:
    """The cumulative contribution ("whale") curve, sampled at about ``points`` points.

    Profiles ranked by contribution, largest first; a row per sampled rank with
    ``customer_share`` (share of profiles up to that rank) and ``contribution_share``
    (cumulative contribution over the total; above 1 before the negative contributors bring it
    back down, null when the total is not positive).  Ordered by ``customer_share``.
    """
    contribution = profiles.contribution.fill_null(0.0)
    order = [ibis.desc(contribution), profiles.customer_id]
    rank = ibis.row_number().over(order_by=order) + 1
    ranked = profiles.mutate(
        _rank=rank,
        _n=profiles.customer_id.count().over(),
        _running=contribution.sum().over(ibis.window(order_by=order, rows=(None, 0))),
        _total=contribution.sum().over(),
    )
    # Keep the rank where floor(points * rank / n) steps up: at most `points` rows, the last
    # profile always among them.
    step = (ranked._rank * points) // ranked._n > ((ranked._rank - 1) * points) // ranked._n
    sampled = ranked.filter(step)
    positive_total = ibis.ifelse(sampled._total > 0, sampled._total, ibis.null("float64"))
    return sampled.select(
        customer_share=sampled._rank.cast("float64") / sampled._n,
        contribution_share=sampled._running / positive_total,
    ).order_by("customer_share")


def tier_summary(tiered: ir.Table) -> ir.Table:
    """Customers, revenue, margin, cost to serve and contribution per value tier."""
    return (
        tiered.group_by("value_tier")
        .aggregate(
            customers=tiered.count(),
            revenue=tiered.revenue.sum(),
            margin=tiered.margin.sum(),
            cost_to_serve=tiered.cost_to_serve.sum(),
            contribution=tiered.contribution.sum(),
        )
        .order_by("value_tier")
    )
