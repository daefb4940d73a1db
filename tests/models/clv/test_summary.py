"""The summary statistics on every backend, against an independent pandas computation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from clientela.datamart import Datamart
from clientela.datamart.schema import TABLES
from clientela.models.clv import CLV_SUMMARY_COLUMNS, clv_summary

END = dt.date(2025, 6, 30)


def insert_sales(dm: Datamart, rows: pd.DataFrame, identity: pd.DataFrame | None = None) -> None:
    """Transaction rows (customer_id, occurred_at, amount and optionally kind) as a load would."""
    frame = rows.copy()
    frame["order_id"] = [f"o{i}" for i in range(len(frame))]
    frame["transaction_id"] = [f"t{i}" for i in range(len(frame))]
    schema = TABLES["transactions"]
    fields = [pa.field(c, schema[c].to_pyarrow()) for c in frame.columns]
    dm.bulk_insert(
        "transactions",
        pa.Table.from_pandas(frame, schema=pa.schema(fields), preserve_index=False),
    )
    if identity is not None:
        dm.bulk_insert("identity", pa.Table.from_pandas(identity, preserve_index=False))


def _rows(seed: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    records = []
    for i in range(60):
        customer = f"k{i:02d}"
        start = pd.Timestamp("2025-01-01") + pd.Timedelta(days=int(rng.integers(0, 150)))
        for _ in range(int(rng.integers(1, 7))):
            when = start + pd.Timedelta(
                days=int(rng.integers(0, 220)), hours=int(rng.integers(0, 24))
            )
            kind = rng.choice(["sale", "sale", "sale", None, "return", "fee"])
            amount = float(rng.integers(0, 90)) * (-1 if kind == "return" else 1)
            records.append((customer, when, amount, kind))
    # Edge cases: two sales on one day are one purchase; a sale on the last day counts, the day
    # after does not; a customer whose only sales come after the end has no row.
    records += [
        ("z1", pd.Timestamp("2025-02-01 09:00"), 10.0, "sale"),
        ("z1", pd.Timestamp("2025-02-01 18:00"), 5.0, "sale"),
        ("z1", pd.Timestamp("2025-06-30 23:59"), 7.0, "sale"),
        ("z1", pd.Timestamp("2025-07-01 00:00"), 99.0, "sale"),
        ("z2", pd.Timestamp("2025-07-02"), 5.0, "sale"),
        ("m2", pd.Timestamp("2025-03-03"), 4.0, "sale"),
        ("m1", pd.Timestamp("2025-03-03 12:00"), 6.0, "sale"),
        ("m1", pd.Timestamp("2025-01-03"), 3.0, "sale"),
    ]
    rows = pd.DataFrame(records, columns=["customer_id", "occurred_at", "amount", "kind"])
    # m2 is unified into m1's profile: their purchases on 2025-03-03 are one.
    identity = pd.DataFrame({"customer_id": ["m1", "m2"], "profile_id": ["m1", "m1"]})
    return rows, identity


def _expected(rows: pd.DataFrame, identity: pd.DataFrame) -> pd.DataFrame:
    sales = rows[rows["kind"].fillna("sale").eq("sale")]
    sales = sales[sales["occurred_at"] < pd.Timestamp(END + dt.timedelta(days=1))]
    profile = dict(zip(identity["customer_id"], identity["profile_id"], strict=True))
    sales = sales.assign(
        profile=sales["customer_id"].map(lambda c: profile.get(c, c)),
        day=sales["occurred_at"].dt.normalize(),
    )
    out = []
    for name, group in sales.groupby("profile"):
        days = group.groupby("day")["amount"].sum().sort_index()
        first, last = days.index[0], days.index[-1]
        repeats = len(days) - 1
        out.append(
            {
                "customer_id": name,
                "first_purchase": first.date(),
                "last_purchase": last.date(),
                "repeat_purchases": repeats,
                "purchase_span": (last - first).days / 7,
                "tenure": (pd.Timestamp(END) - first).days / 7,
                "average_repeat_spend": days.iloc[1:].mean() if repeats else 0.0,
            }
        )
    return pd.DataFrame(out).sort_values("customer_id").reset_index(drop=True)


def test_summary_matches_pandas(datamart: Datamart) -> None:
    rows, identity = _rows()
    insert_sales(datamart, rows, identity)
    expr = clv_summary(datamart.table("transactions"), datamart.table("identity"), END)
    got = datamart.to_pandas(expr.order_by("customer_id"))
    assert tuple(got.columns) == CLV_SUMMARY_COLUMNS
    expected = _expected(rows, identity)
    got["first_purchase"] = pd.to_datetime(got["first_purchase"]).dt.date
    got["last_purchase"] = pd.to_datetime(got["last_purchase"]).dt.date
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    z1 = got.set_index("customer_id").loc["z1"]
    assert z1["repeat_purchases"] == 1 and z1["average_repeat_spend"] == 7.0
    assert "z2" not in set(got["customer_id"])
    m1 = got.set_index("customer_id").loc["m1"]
    assert m1["repeat_purchases"] == 1 and m1["average_repeat_spend"] == 10.0


@pytest.mark.parametrize("unit_days", [1.0, 365.25 / 12])
def test_units(datamart: Datamart, unit_days: float) -> None:
    rows, identity = _rows(seed=9)
    insert_sales(datamart, rows, identity)
    weeks = datamart.to_pandas(
        clv_summary(datamart.table("transactions"), datamart.table("identity"), END)
    )
    other = datamart.to_pandas(
        clv_summary(datamart.table("transactions"), datamart.table("identity"), END, unit_days)
    )
    merged = weeks.merge(other, on="customer_id")
    assert np.allclose(merged["tenure_x"] * 7, merged["tenure_y"] * unit_days)
    assert np.allclose(merged["purchase_span_x"] * 7, merged["purchase_span_y"] * unit_days)
