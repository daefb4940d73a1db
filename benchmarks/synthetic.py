"""The synthetic company at scale: 1,000,000 customers, 20,000,000 transactions, 50,000,000 events.

Steps (each in its own process, so that peak memory is its own):
- ``generate``: the demo generator writes the Parquet files (cached in benchmarks/.data).
- ``build``: init + load every file + build the summary (target: under 3 minutes, peak memory
  under 6 GB).
- ``lookups``: random profile lookups on the built datamart (target: p95 under 50 ms).
- ``rfm``: RFM of the 20,000,000 transactions with clientela on the datamart, against a
  straightforward pandas implementation on the same rows already in memory (target: at least
  5x faster).
"""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import DATA, child_main

SEED = 7


def _folder(customers: int) -> Path:
    return DATA / f"synthetic_{customers}"


def _db(customers: int) -> Path:
    return DATA / f"synthetic_{customers}.duckdb"


def built_marker(customers: int) -> Path:
    """Written when a build finishes: the steps that only read the datamart (lookups, rfm, the
    predictive models) may reuse it without building again."""
    return DATA / f"synthetic_{customers}.built"


def generate(customers: int, transactions: int, events: int) -> dict[str, Any]:
    from clientela.demo import generate as generate_files

    folder = _folder(customers)
    marker = folder / ".complete"
    if marker.exists():
        return {"seconds": 0.0, "cached": True}
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    files = generate_files(
        folder,
        customers=customers,
        seed=SEED,
        transactions_per_customer=transactions / customers,
        events_per_customer=events / customers,
    )
    seconds = time.perf_counter() - started
    marker.write_text("ok")
    return {"seconds": seconds, "cached": False, "rows": {t: files.rows(t) for t in files.tables}}


def build(customers: int) -> dict[str, Any]:
    from clientela.config import Settings
    from clientela.datamart import connect, migrate
    from clientela.datamart.ingest import load_folder
    from clientela.services.build import build as build_summary

    db = _db(customers)
    for leftover in (built_marker(customers), db, db.with_suffix(".duckdb.wal")):
        leftover.unlink(missing_ok=True)
    settings = Settings(db=str(db))
    started = time.perf_counter()
    with connect(settings) as dm:
        migrate(dm)
        reports = load_folder(dm, settings, _folder(customers))
        loaded = time.perf_counter()
        build_summary(dm, settings)
    finished = time.perf_counter()
    built_marker(customers).write_text("ok")
    return {
        "seconds": finished - started,
        "load_seconds": loaded - started,
        "build_seconds": finished - loaded,
        "rows": {r.target: r.rows_inserted for r in reports},
    }


def lookups(customers: int, count: int = 300) -> dict[str, Any]:
    import numpy as np

    from clientela.config import Settings
    from clientela.datamart import connect
    from clientela.services.profile import get_profile

    settings = Settings(db=str(_db(customers)))
    with connect(settings) as dm:
        ids = [
            row[0]
            for row in dm.sql(
                f"SELECT customer_id FROM customers USING SAMPLE reservoir({int(count)} ROWS) "
                "REPEATABLE (7)"
            )
        ]
        get_profile(dm, settings, ids[0])  # warm the connection and the caches once
        timings = []
        for customer_id in ids:
            started = time.perf_counter()
            get_profile(dm, settings, customer_id)
            timings.append((time.perf_counter() - started) * 1000)
    return {
        "lookups": len(timings),
        "p50_ms": statistics.median(timings),
        "p95_ms": float(np.percentile(timings, 95)),
        "max_ms": max(timings),
    }


def rfm(customers: int) -> dict[str, Any]:
    import pandas as pd

    from clientela.config import Settings
    from clientela.datamart import connect
    from clientela.profile.rfm import rfm as rfm_expr
    from clientela.services.build import default_as_of

    settings = Settings(db=str(_db(customers)))
    with connect(settings) as dm:
        as_of = default_as_of(dm)
        transactions = dm.table("transactions")
        identity = dm.table("identity")
        started = time.perf_counter()
        ours = dm.to_pyarrow(rfm_expr(transactions, identity, as_of, dm.table("orders")))
        clientela_seconds = time.perf_counter() - started
        frame = dm.to_pandas(
            transactions.select("customer_id", "order_id", "occurred_at", "amount", "kind")
        )
    started = time.perf_counter()
    theirs = _pandas_rfm(frame, pd.Timestamp(as_of))
    pandas_seconds = time.perf_counter() - started
    return {
        "seconds": clientela_seconds,
        "clientela_seconds": clientela_seconds,
        "pandas_seconds": pandas_seconds,
        "speedup": pandas_seconds / clientela_seconds,
        "customers_clientela": ours.num_rows,
        "customers_pandas": len(theirs),
    }


def _pandas_rfm(frame: Any, as_of: Any) -> Any:
    """RFM the straightforward pandas way: filter, group, aggregate, rank into quintiles."""
    frame = frame[frame["occurred_at"] < as_of]
    revenue = frame[frame["kind"].isin(["sale", "return", "cancellation"])]
    sales = frame[frame["kind"] == "sale"]
    per_customer = sales.groupby("customer_id").agg(
        last=("occurred_at", "max"), frequency=("order_id", "nunique")
    )
    per_customer["monetary"] = revenue.groupby("customer_id")["amount"].sum()
    per_customer["recency_days"] = (as_of - per_customer["last"]).dt.days
    n = len(per_customer)
    per_customer["r"] = 1 + (
        5 * (per_customer["recency_days"].rank(method="min", ascending=False) - 1) // n
    )
    per_customer["f"] = 1 + (5 * (per_customer["frequency"].rank(method="min") - 1) // n)
    per_customer["m"] = 1 + (5 * (per_customer["monetary"].rank(method="min") - 1) // n)
    return per_customer


if __name__ == "__main__":
    child_main({"generate": generate, "build": build, "lookups": lookups, "rfm": rfm})
