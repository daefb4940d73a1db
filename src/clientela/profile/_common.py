"""What every profile analytic shares: the as-of cut-off and the profile a row belongs to.

A customer absent from ``identity`` is its own profile; otherwise its rows count for
``identity.profile_id``.  Data counts when it happened strictly before ``as_of`` (midnight,
naive UTC).
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from clientela.datamart.ingest.identity import with_profile
from clientela.datamart.schema import REFUND_KINDS

__all__ = [
    "REFUND_KINDS",
    "REVENUE_KINDS",
    "as_of_start",
    "per_customer_with_orders",
    "transaction_kind",
    "with_profile_id",
]

# Rows that make net revenue (sales minus returns and cancellations); fees and adjustments do not.
REVENUE_KINDS = ("sale", *REFUND_KINDS)


def as_of_start(as_of: dt.date) -> ir.TimestampScalar:
    """The first instant that no longer counts: midnight at the start of ``as_of``."""
    return ibis.literal(dt.datetime.combine(as_of, dt.time()), type="timestamp")


def transaction_kind(transactions: ir.Table) -> ir.StringColumn:
    """The kind of a transaction row; a row without a kind is a sale."""
    kind: ir.StringColumn = transactions.kind.fill_null("sale")
    return kind


def with_profile_id(table: ir.Table, identity: ir.Table, column: str = "customer_id") -> ir.Table:
    """``table`` with a ``profile_id`` column: the unified profile of ``table[column]``."""
    return with_profile(table, identity, column)


def per_customer_with_orders(
    tx: ir.Table,
    measures: dict[str, ir.Value],
    orders: ir.Table | None,
    cutoff: ir.TimestampScalar,
    *,
    ordered: str | None = None,
    refunded: str | None = None,
) -> ir.Table:
    """Per customer: ``measures`` of the lines ``tx`` (already cut off), and as ``ordered`` the
    number of its orders with a line that is not a return or cancellation, as ``refunded`` the
    number with a return or cancellation.

    With the datamart's ``orders`` table (kept by the loads) these are plain counts of its rows
    before ``cutoff``; without it, distinct counts of the order ids of the lines (the same
    numbers, at the cost of a distinct count over every line).
    """
    times: dict[str, str] = {}
    if ordered:
        times[ordered] = "ordered_at"
    if refunded:
        times[refunded] = "refunded_at"
    if orders is None:
        is_refund = transaction_kind(tx).isin(REFUND_KINDS)
        lines_of = {"ordered_at": ~is_refund, "refunded_at": is_refund}
        distinct = {n: tx.order_id.nunique(where=lines_of[c]) for n, c in times.items()}
        return tx.group_by("customer_id").aggregate(**measures, **distinct)
    lines = tx.group_by("customer_id").aggregate(**measures)
    if not times:
        return lines
    placed = orders.filter(ibis.or_(*(orders[c] < cutoff for c in times.values())))
    counted = placed.group_by(_ordered_by=placed.customer_id).aggregate(
        **{name: placed.count(where=placed[column] < cutoff) for name, column in times.items()}
    )
    joined = lines.left_join(counted, lines.customer_id == counted._ordered_by)
    return joined.select(
        "customer_id", *measures, **{name: joined[name].fill_null(0) for name in times}
    )
