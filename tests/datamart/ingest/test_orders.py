"""The ``orders`` table follows ``transactions`` through every load and every append."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import pyarrow as pa

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.ingest import ingest_file
from clientela.datamart.schema import REFUND_KINDS
from clientela.profile.rfm import rfm
from tests.datamart.ingest._files import write_csv

HEADER = ["transaction_id", "order_id", "customer_id", "occurred_at", "amount", "kind"]


def _expected(datamart: Datamart) -> list[tuple[object, ...]]:
    """The orders, worked out in Python from every line."""
    earliest: dict[tuple[str, str], list[dt.datetime | None]] = {}
    lines = datamart.sql("SELECT customer_id, order_id, occurred_at, kind FROM transactions")
    for customer, order, at, kind in lines:
        times = earliest.setdefault((customer, order), [None, None])
        slot = 1 if (kind or "sale") in REFUND_KINDS else 0
        times[slot] = at if times[slot] is None else min(at, times[slot])
    return sorted(
        ((c, o, ordered, refunded) for (c, o), (ordered, refunded) in earliest.items()), key=str
    )


def _orders(datamart: Datamart) -> list[tuple[object, ...]]:
    return sorted(
        datamart.sql("SELECT customer_id, order_id, ordered_at, refunded_at FROM orders"),
        key=str,
    )


def test_orders_follow_loads_and_appends(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    customers = write_csv(tmp_path / "c.csv", ["customer_id"], [["C1"], ["C2"], ["C3"]])
    ingest_file(datamart, settings, customers, "customers")
    first = write_csv(
        tmp_path / "t1.csv",
        HEADER,
        [
            ["t1", "O1", "C1", "2024-01-05 10:00:00", "10", "sale"],
            ["t2", "O1", "C1", "2024-01-05 09:00:00", "5", "sale"],
            ["t3", "O2", "C1", "2024-02-01 00:00:00", "-5", "return"],  # a return only
            ["t4", "O3", "C2", "2024-03-01 00:00:00", "7", ""],  # no kind: a sale
            ["t5", "O3", "C2", "2024-02-01 00:00:00", "-7", "cancellation"],
            ["t6", "O4", "C2", "2024-03-02 00:00:00", "1", "fee"],
        ],
    )
    ingest_file(datamart, settings, first, "transactions")  # a first load
    assert _orders(datamart) == _expected(datamart)
    assert len(_orders(datamart)) == 4  # O2 has only a return: no order, one return
    second = write_csv(
        tmp_path / "t2.csv",
        HEADER,
        [
            ["t1", "O1", "C1", "2024-01-05 10:00:00", "10", "sale"],  # loaded already
            ["t7", "O1", "C1", "2024-01-01 08:00:00", "3", "sale"],  # an earlier line
            ["t8", "O2", "C1", "2024-02-03 00:00:00", "9", "sale"],  # the order now counts
            ["t9", "O5", "C3", "2024-04-01 00:00:00", "2", "sale"],
        ],
    )
    ingest_file(datamart, settings, second, "transactions")  # a merge
    assert _orders(datamart) == _expected(datamart)
    assert len(_orders(datamart)) == 5
    datamart.bulk_insert(
        "transactions",
        pa.table(
            {
                "transaction_id": ["t10", "t11"],
                "order_id": ["O6", "O2"],
                "customer_id": ["C3", "C1"],
                "occurred_at": [dt.datetime(2024, 5, 1), dt.datetime(2024, 1, 20)],
                "amount": [4.0, 1.0],
            }
        ),
    )
    assert _orders(datamart) == _expected(datamart)
    assert ("C1", "O2", dt.datetime(2024, 1, 20), dt.datetime(2024, 2, 1)) in _orders(datamart)


def test_rfm_from_orders_equals_rfm_from_lines(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    customers = write_csv(tmp_path / "c.csv", ["customer_id"], [[f"C{i}"] for i in range(40)])
    ingest_file(datamart, settings, customers, "customers")
    rows = []
    for n in range(400):
        kind = "return" if n % 7 == 0 else ("fee" if n % 11 == 0 else "sale")
        amount = -3 if kind == "return" else 5 + n % 13
        day = dt.datetime(2024, 1, 1) + dt.timedelta(days=n % 90, hours=n % 5)
        rows.append([f"t{n}", f"O{n % 150}", f"C{(n * 7) % 40}", day.isoformat(" "), amount, kind])
    ingest_file(datamart, settings, write_csv(tmp_path / "t.csv", HEADER, rows), "transactions")
    transactions, identity = datamart.table("transactions"), datamart.table("identity")
    orders = datamart.table("orders")
    for as_of in (dt.date(2024, 1, 15), dt.date(2024, 2, 20), dt.date(2024, 4, 1)):
        by_lines = datamart.to_pandas(rfm(transactions, identity, as_of)).sort_values("customer_id")
        by_orders = datamart.to_pandas(rfm(transactions, identity, as_of, orders)).sort_values(
            "customer_id"
        )
        assert by_orders.reset_index(drop=True).equals(by_lines.reset_index(drop=True)), as_of
    per_customer: defaultdict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row[5] != "return":
            per_customer[row[2]].add(row[1])
    frame = datamart.to_pandas(rfm(transactions, identity, dt.date(2024, 4, 1), orders))
    assert dict(zip(frame.customer_id, frame.frequency, strict=True)) == {
        c: len(o) for c, o in per_customer.items()
    }
