"""Value tiers by contribution: A, B and C share the positive contribution, D has none.

Profiles are ranked by contribution (largest first, ties by id).  Tier A is the smallest
prefix of that ranking whose contribution reaches the first cut-off (50% by default) of the
total positive contribution, so the profile that crosses it is in A; tier B goes on to the
second cut-off (80%); C holds the rest of the profiles with a positive contribution and D those
with zero or negative contribution.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

__all__ = ["TIERS", "value_tiers"]

TIERS: tuple[str, ...] = ("A", "B", "C", "D")


def value_tiers(kpis: ir.Table, cutoffs: tuple[float, float] = (0.5, 0.8)) -> ir.Table:
    """``kpis`` (with ``customer_id`` and ``contribution``) plus tier columns.

    Adds ``contribution_rank`` (1 = largest contribution), ``cumulative_share`` (share of the
    positive contribution made by the profiles ranked up to this one) and ``value_tier``.
    """
    cut_a, cut_b = cutoffs
    contribution = kpis.contribution.fill_null(0.0)
    positive = ibis.ifelse(contribution > 0, contribution, 0.0)
    order = [ibis.desc(contribution), kpis.customer_id]
    before = positive.sum().over(ibis.window(order_by=order, rows=(None, -1))).fill_null(0.0)
    running = positive.sum().over(ibis.window(order_by=order, rows=(None, 0)))
    total = positive.sum().over()
    tier = ibis.cases(
        (contribution <= 0, "D"),
        (before < cut_a * total, "A"),
        (before < cut_b * total, "B"),
        else_="C",
    )
    return kpis.mutate(
        contribution_rank=ibis.row_number().over(order_by=order) + 1,
        cumulative_share=running / total.nullif(0.0),
        value_tier=tier,
    )
