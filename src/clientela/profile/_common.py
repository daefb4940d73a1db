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

__all__ = ["REFUND_KINDS", "REVENUE_KINDS", "as_of_start", "transaction_kind", "with_profile_id"]

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
