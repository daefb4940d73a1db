"""Hand-built and generated datamarts for the predictive model tests."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from clientela.datamart import Datamart
from clientela.datamart.schema import spec

AS_OF = dt.date(2026, 6, 1)
CUTOFF = dt.datetime(2026, 6, 1)

_ids = itertools.count(1)


def insert(dm: Datamart, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append rows (absent columns NULL; the key filled with fresh ids when not given)."""
    table_spec = spec(table)
    schema = table_spec.schema.to_pyarrow()
    names = [table_spec.key] if table_spec.key not in rows[0] else []
    for row in rows:
        names.extend(name for name in row if name not in names)
    columns = {
        name: pa.array(
            [row.get(name, f"k{next(_ids)}" if name == table_spec.key else None) for row in rows],
            schema.field(name).type,
        )
        for name in names
    }
    dm.bulk_insert(table, pa.table(columns))


def hand_built(dm: Datamart) -> None:
    """Three customers: a bought and complained, b was called and buys later, c is new.

    Every expected feature value is worked out in tests/models/test_features.py.
    """
    insert(
        dm,
        "customers",
        [
            {
                "customer_id": "a",
                "kind": "person",
                "city": "Leeds",
                "birth_date": dt.date(1990, 6, 2),
                "created_at": dt.datetime(2025, 1, 1),
            },
            {"customer_id": "b", "kind": "person", "city": "York"},
            {"customer_id": "c", "kind": "person", "created_at": dt.datetime(2026, 7, 1)},
        ],
    )
    insert(
        dm,
        "transactions",
        [
            _sale("a", "o1", dt.datetime(2026, 5, 20), 10.0, "p2"),
            _sale("a", "o2", dt.datetime(2025, 12, 1), 20.0, "p2"),
            {**_sale("a", "o3", dt.datetime(2026, 5, 25), -5.0, "p2"), "kind": "return"},
            _sale("b", "o4", dt.datetime(2026, 6, 10), 30.0, "p1"),
        ],
    )
    insert(
        dm,
        "events",
        [
            {
                "customer_id": "a",
                "occurred_at": CUTOFF - dt.timedelta(minutes=1),
                "event_type": "email_open",
            },
            {"customer_id": "a", "occurred_at": CUTOFF, "event_type": "email_open"},
        ],
    )
    insert(
        dm,
        "interactions",
        [
            {
                "customer_id": "a",
                "occurred_at": dt.datetime(2026, 5, 1),
                "kind": "complaint",
                "status": "closed",
                "outcome": "resolved",
                "closed_at": dt.datetime(2026, 6, 5),
            },
            {
                "customer_id": "b",
                "occurred_at": dt.datetime(2026, 5, 10),
                "kind": "call",
                "status": "closed",
                "outcome": "accepted",
                "campaign_id": "X",
            },
            {
                "customer_id": "b",
                "occurred_at": dt.datetime(2026, 6, 5),
                "kind": "call",
                "status": "closed",
                "outcome": "accepted",
                "campaign_id": "X",
            },
        ],
    )
    insert(
        dm,
        "third_party",
        [
            {
                "customer_id": "a",
                "attribute": "income",
                "value": "100",
                "as_of": dt.date(2026, 1, 1),
            },
            {"customer_id": "a", "attribute": "income", "value": "200", "as_of": AS_OF},
            {"customer_id": "b", "attribute": "income", "value": "50"},
        ],
    )
    insert(
        dm,
        "consents",
        [
            {
                "customer_id": "a",
                "channel": "email",
                "status": "opt_in",
                "recorded_at": dt.datetime(2026, 1, 1),
            },
            {
                "customer_id": "a",
                "channel": "email",
                "status": "opt_out",
                "recorded_at": dt.datetime(2026, 5, 1),
            },
        ],
    )
    insert(
        dm,
        "social",
        [
            {
                "customer_id": "a",
                "network": "x",
                "kind": "like",
                "sentiment": 0.5,
                "occurred_at": dt.datetime(2026, 5, 1),
            }
        ],
    )


def _sale(
    customer: str, order: str, when: dt.datetime, amount: float, product: str
) -> dict[str, Any]:
    return {
        "order_id": order,
        "customer_id": customer,
        "occurred_at": when,
        "product_id": product,
        "amount": amount,
        "kind": "sale",
    }


def generated(dm: Datamart, *, customers: int = 600, seed: int = 3) -> None:
    """Customers whose buying rate depends on a third-party ``segment`` and on their e-mail
    opens, over 2025-01-01 to 2026-09-30: enough to train and evaluate a model."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2025, 1, 1)
    days = (dt.datetime(2026, 9, 30) - start).days
    rates = {"gold": 0.03, "silver": 0.01, "bronze": 0.002}
    people, attributes, sales, events = [], [], [], []
    for i in range(customers):
        customer = f"g{i:04d}"
        segment = str(rng.choice(list(rates)))
        people.append({"customer_id": customer, "kind": "person", "created_at": start})
        attributes.append(
            {
                "customer_id": customer,
                "attribute": "segment",
                "value": segment,
                "as_of": dt.date(2024, 12, 1),
            }
        )
        for day in np.flatnonzero(rng.random(days) < rates[segment]):
            when = start + dt.timedelta(days=int(day), hours=10)
            sales.append(
                _sale(
                    customer,
                    f"{customer}-{day}",
                    when,
                    float(rng.integers(5, 50)),
                    str(rng.choice(["p1", "p2"])),
                )
            )
            events.append(
                {
                    "customer_id": customer,
                    "occurred_at": when - dt.timedelta(days=2),
                    "event_type": "email_open",
                }
            )
    insert(dm, "customers", people)
    insert(dm, "third_party", attributes)
    insert(dm, "transactions", sales)
    insert(dm, "events", events)
