"""The ``orders`` table: one row per customer and order, kept up to date by every load.

A customer's orders as of a date (RFM frequency, the summary's order count) are the distinct
order ids of the lines before that date that are not returns or cancellations, and its returns
the distinct order ids of the returns and cancellations.  Counted from the lines, each is a
distinct count over every line (11 million orders in 20 million lines take most of an RFM run);
counted from ``orders``, whose ``ordered_at`` is the earliest line of each order that is not a
return or cancellation and ``refunded_at`` its earliest return or cancellation, each is a plain
count of the rows before the date, and gives the same number.

Loads into ``transactions`` refresh the orders they touch in the same transaction: the orders of
the staged lines, and those of the lines an update moves to another customer or order.
"""

from __future__ import annotations

import uuid

import pyarrow as pa

from clientela.datamart.backends import Datamart, quote
from clientela.datamart.schema import REFUND_KINDS

__all__ = [
    "ORDERS_SELECT",
    "rebuild_orders",
    "refresh_inserted",
    "refresh_orders",
    "touched_orders",
]

_REFUNDS = ", ".join(f"'{kind}'" for kind in REFUND_KINDS)
ORDERS_SELECT = (
    "SELECT customer_id, order_id, "
    f"min(occurred_at) FILTER (WHERE coalesce(kind, 'sale') NOT IN ({_REFUNDS})) AS ordered_at, "
    f"min(occurred_at) FILTER (WHERE kind IN ({_REFUNDS})) AS refunded_at "
    "FROM transactions t WHERE customer_id IS NOT NULL AND order_id IS NOT NULL"
)
"""The orders of the lines of ``transactions t`` (a condition may follow; then GROUP BY)."""
_GROUP = " GROUP BY customer_id, order_id"
_INSERT = "INSERT INTO orders (customer_id, order_id, ordered_at, refunded_at) "


def rebuild_orders(dm: Datamart) -> None:
    """``orders`` computed again from every line (a first load, the migration)."""
    dm.sql("DELETE FROM orders")
    dm.sql(f"{_INSERT}{ORDERS_SELECT}{_GROUP}")


def touched_orders(dm: Datamart, stage: str, key: str, name: str) -> None:
    """Before a merge: the (customer, order) pairs whose lines it may change, into the temporary
    table ``name``: those of the staged lines and those of the loaded lines they update."""
    stage = quote(stage)
    dm.sql(
        f"CREATE TEMPORARY TABLE {quote(name)} AS "
        f"SELECT customer_id, order_id FROM {stage} "
        "WHERE customer_id IS NOT NULL AND order_id IS NOT NULL "
        "UNION "
        f"SELECT t.customer_id, t.order_id FROM transactions t JOIN {stage} s "
        f"ON t.{quote(key)} = s.{quote(key)} "
        "WHERE t.customer_id IS NOT NULL AND t.order_id IS NOT NULL"
    )


def refresh_orders(dm: Datamart, name: str) -> None:
    """After a merge: the orders of the pairs in ``name`` computed again from their lines."""
    touched = quote(name)
    match = (
        f"EXISTS (SELECT 1 FROM {touched} p "
        "WHERE p.customer_id = {0}.customer_id AND p.order_id = {0}.order_id)"
    )
    dm.sql(f"DELETE FROM orders WHERE {match.format('orders')}")
    dm.sql(f"{_INSERT}{ORDERS_SELECT} AND {match.format('t')}{_GROUP}")
    dm.drop_table(name)


def refresh_inserted(dm: Datamart, lines: pa.Table) -> None:
    """After lines were appended to ``transactions`` directly (not by a load): their orders."""
    if "customer_id" not in lines.column_names or "order_id" not in lines.column_names:
        return
    pairs = (
        lines.select(["customer_id", "order_id"])
        .group_by(["customer_id", "order_id"])
        .aggregate([])
    )
    if not pairs.num_rows:
        return
    name = f"_orders_touched_{uuid.uuid4().hex}"
    dm.create_table(name, {"customer_id": "string", "order_id": "string"}, temp=True)
    dm.bulk_insert(
        name, pairs.cast(pa.schema([("customer_id", pa.string()), ("order_id", pa.string())]))
    )
    refresh_orders(dm, name)
