"""A small campaign written straight into the datamart: contacts, transactions and responses.

Campaign ``spring``: target contacts on 2026-01-10 for p1 (offer o1, shoes), p2 (o2, bags) and
p3 (o1); control (held out) p4 and p5; p6 in the global hold-out and p7 deferred, neither of
which counts for results.  p1 has a second customer record, p1b, unified with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pyarrow as pa

from clientela.datamart import Datamart
from clientela.datamart.schema import TABLES

AS_OF = dt.date(2026, 3, 1)
DAY = dt.date(2026, 1, 10)
T = dt.datetime


def insert(dm: Datamart, table: str, columns: str, rows: Sequence[tuple[object, ...]]) -> None:
    names = columns.split()
    schema = TABLES[table]
    arrow = pa.Table.from_pylist(
        [dict(zip(names, row, strict=True)) for row in rows],
        schema=pa.schema([pa.field(c, schema[c].to_pyarrow()) for c in names]),
    )
    dm.bulk_insert(table, arrow)


CONTACT_COLUMNS = (
    "contact_id run_id campaign version profile_id customer_id channel offer_id status "
    "group_name planned_for score_decile reason"
)


def contact(
    contact_id: str,
    profile: str,
    group: str,
    status: str,
    *,
    campaign: str = "spring",
    offer: str | None = "o1",
    day: dt.date = DAY,
    decile: int | None = 1,
) -> tuple[object, ...]:
    return (contact_id, "run1", campaign, 1, profile, profile, "email", offer, status, group, day,
            decile, None)  # fmt: skip


def load_spring(dm: Datamart) -> None:
    insert(dm, "identity", "customer_id profile_id", [("p1", "p1"), ("p1b", "p1")])
    insert(dm, "contact_history", CONTACT_COLUMNS, [
        contact("k1", "p1", "target", "planned", decile=1),
        contact("k2", "p2", "target", "planned", offer="o2", decile=2),
        contact("k3", "p3", "target", "planned", decile=2),
        contact("k4", "p4", "control", "held_out", decile=1),
        contact("k5", "p5", "control", "held_out", decile=2),
        contact("k6", "p6", "global_holdout", "held_out"),
        contact("k7", "p7", "target", "deferred"),
    ])  # fmt: skip
    tx = "transaction_id order_id customer_id occurred_at product_id amount margin kind"
    insert(dm, "transactions", tx, [
        ("t1", "o-t1", "p1", T(2026, 1, 9, 23), "shoes", 10.0, 4.0, "sale"),  # before
        ("t2", "o-t2", "p1", T(2026, 1, 10), "shoes", 50.0, 20.0, "sale"),  # first instant
        ("t3", "o-t3", "p1b", T(2026, 1, 20), "bags", 30.0, 12.0, "sale"),  # via identity
        ("t4", "o-t4", "p1", T(2026, 1, 25), "socks", 5.0, 2.0, "sale"),
        ("t5", "o-t5", "p1", T(2026, 2, 9, 23, 59), "shoes", 20.0, 8.0, "sale"),  # last day
        ("t6", "o-t6", "p1", T(2026, 2, 10), "shoes", 70.0, 28.0, "sale"),  # after
        ("t7", "o-t7", "p2", T(2026, 1, 12), "bags", -10.0, -4.0, "return"),
        ("t8", "o-t8", "p2", T(2026, 1, 12), "bags", 25.0, 10.0, "sale"),
        ("t9", "o-t9", "p4", T(2026, 1, 15), "shoes", 40.0, 16.0, "sale"),  # control
        ("t10", "o-t10", "p6", T(2026, 1, 15), "shoes", 40.0, 16.0, "sale"),  # global hold-out
        ("t11", "o-t11", "p7", T(2026, 1, 15), "shoes", 40.0, 16.0, "sale"),  # deferred
    ])  # fmt: skip
    rs = "response_id campaign customer_id contact_id responded_at kind outcome source"
    insert(dm, "responses", rs, [
        ("r1", "spring", "p1", "k1", T(2026, 1, 11), "click", None, "file"),
        ("r2", "spring", "p2", None, T(2026, 1, 12), "accepted", None, "file"),
        ("r3", "spring", "p5", None, T(2026, 1, 12), "open", None, "file"),
        ("r4", "spring", "stranger", None, T(2026, 1, 12), "click", None, "file"),
        ("r5", "spring", "p3", "nope", T(2026, 1, 12), "click", None, "file"),
        ("r6", "spring", "p3", None, T(2026, 1, 5), "click", None, "file"),
        ("r7", "ghost", "p3", None, T(2026, 1, 12), "click", None, "file"),
    ])  # fmt: skip
