"""The example load folders load the real data sets, and every source line is accounted for.

Expected counts are computed independently from the original files with pandas.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from clientela.config import Settings
from clientela.datamart import Datamart, connect, migrate
from clientela.datamart.ingest import LoadReport, load_folder
from tests.conftest import REPO

EXAMPLES = REPO / "examples"


def _count(dm: Datamart, sql: str) -> int:
    return int(dm.sql(sql)[0][0])


def _load(tmp_path: Path, name: str, db: str | None = None) -> tuple[Datamart, list[LoadReport]]:
    settings = Settings(db=db or str(tmp_path / f"{name}.duckdb"))
    dm = connect(settings)
    migrate(dm)
    return dm, load_folder(dm, settings, EXAMPLES / name)


def _accounted_for(reports: list[LoadReport]) -> None:
    for r in reports:
        settled = r.rows_inserted + r.rows_updated + r.rows_unchanged + r.rows_rejected
        assert settled + getattr(r, "rows_skipped", 0) == r.rows_read, r


def test_cdnow_sample(shared_data: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(
        shared_data / "cdnow" / "cdnow_sample.txt.gz",
        sep=r"\s+",
        header=None,
        names=["master", "sample", "date", "cds", "dollars"],
        dtype=str,
    )
    dm, reports = _load(tmp_path, "cdnow_sample")
    try:
        _accounted_for(reports)
        assert _count(dm, "SELECT count(*) FROM customers") == raw["sample"].nunique() == 2357
        assert _count(dm, "SELECT count(*) FROM transactions") == len(raw) == 6919
        total = dm.sql("SELECT sum(amount) FROM transactions")[0][0]
        assert total == pytest.approx(raw["dollars"].astype(float).sum())
        first = dm.sql("SELECT min(occurred_at) FROM transactions WHERE customer_id = '0001'")[0][0]
        assert str(first).startswith("1997-01-01")
    finally:
        dm.close()


def test_cdnow_sample_on_postgres(postgres_schema_url: str, tmp_path: Path) -> None:
    dm, reports = _load(tmp_path, "cdnow_sample", db=postgres_schema_url)
    try:
        _accounted_for(reports)
        assert _count(dm, "SELECT count(*) FROM customers") == 2357
        assert _count(dm, "SELECT count(*) FROM transactions") == 6919
    finally:
        dm.close()


def test_cdnow_master(shared_data: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(shared_data / "cdnow" / "cdnow_master.txt.gz", sep=r"\s+", dtype=str)
    distinct = raw.drop_duplicates()
    dm, reports = _load(tmp_path, "cdnow")
    try:
        _accounted_for(reports)
        assert _count(dm, "SELECT count(*) FROM customers") == raw["customer_id"].nunique()
        assert _count(dm, "SELECT count(*) FROM transactions") == len(distinct)
        duplicates = _count(
            dm,
            "SELECT count(*) FROM rejects WHERE target = 'transactions' AND rule = 'duplicate_key'",
        )
        assert duplicates == len(raw) - len(distinct) == 255
    finally:
        dm.close()


def test_online_retail(shared_data: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(
        shared_data / "online_retail" / "online_retail.csv.gz", dtype=str, keep_default_na=False
    )
    with_customer = raw[raw["CustomerID"] != ""]
    distinct = with_customer.drop_duplicates()
    dm, reports = _load(tmp_path, "online_retail")
    try:
        _accounted_for(reports)
        assert _count(dm, "SELECT count(*) FROM customers") == with_customer["CustomerID"].nunique()
        assert _count(dm, "SELECT count(*) FROM transactions") == len(distinct)
        rejected = dict(
            dm.sql("SELECT rule, count(*) FROM rejects WHERE target = 'transactions' GROUP BY rule")
        )
        assert rejected["required"] == len(raw) - len(with_customer) == 135080
        assert rejected["duplicate_key"] == len(with_customer) - len(distinct)
        cancellations = _count(
            dm, "SELECT count(DISTINCT order_id) FROM transactions WHERE kind = 'cancellation'"
        )
        assert cancellations == with_customer["InvoiceNo"].str.startswith("C").pipe(
            lambda s: with_customer.loc[s, "InvoiceNo"].nunique()
        )
        net = dm.sql("SELECT sum(amount) FROM transactions")[0][0]
        expected = (
            (distinct["Quantity"].astype(float) * distinct["UnitPrice"].astype(float))
            .round(2)
            .sum()
        )
        assert net == pytest.approx(expected, rel=1e-9)
        _check_rfm_tiers_and_profile(dm)
    finally:
        dm.close()


def test_bank_marketing(shared_data: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(shared_data / "bank_marketing" / "bank-additional-full.csv.gz", sep=";")
    dm, reports = _load(tmp_path, "bank_marketing")
    try:
        _accounted_for(reports)
        assert _count(dm, "SELECT count(*) FROM customers") == len(raw) == 41188
        assert _count(dm, "SELECT count(*) FROM interactions") == len(raw)
        accepted = _count(dm, "SELECT count(*) FROM interactions WHERE outcome = 'accepted'")
        assert accepted == (raw["y"] == "yes").sum() == 4640
        known = sum((raw[c] != "unknown").sum() for c in raw.columns if c not in ("duration", "y"))
        assert _count(dm, "SELECT count(*) FROM third_party") == known
        duration = _count(dm, "SELECT count(*) FROM third_party WHERE attribute = 'duration'")
        assert duration == 0
    finally:
        dm.close()


def test_leads(shared_data: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(shared_data / "leads" / "leads.csv.gz", dtype=str, keep_default_na=False)
    dm, reports = _load(tmp_path, "leads")
    try:
        _accounted_for(reports)
        assert _count(dm, "SELECT count(*) FROM customers") == len(raw) == 9240
        assert _count(dm, "SELECT count(*) FROM consents") == 2 * len(raw)
        opt_out = _count(
            dm, "SELECT count(*) FROM consents WHERE channel = 'email' AND status = 'opt_out'"
        )
        assert opt_out == (raw["Do Not Email"] == "Yes").sum()
        no_activity = (raw["Last Activity"] == "").sum()
        assert _count(dm, "SELECT count(*) FROM events") == len(raw) - no_activity
        event_rejects = _count(dm, "SELECT count(*) FROM rejects WHERE target = 'events'")
        assert event_rejects == no_activity
        converted = _count(dm, "SELECT count(*) FROM interactions WHERE outcome = 'converted'")
        assert converted == (raw["Converted"] == "1").sum() == 3561
        tags = _count(dm, "SELECT count(*) FROM third_party WHERE attribute = 'Tags'")
        assert tags == 0, "post-contact fields leak the outcome and are not loaded"
    finally:
        dm.close()


def _pandas_rfm_and_tiers(tx: pd.DataFrame, customers: list[str], as_of: dt.date) -> pd.DataFrame:
    """RFM and tiers the straightforward pandas way, following docs/rfm.md and docs/value.md."""
    tx = tx[tx["occurred_at"] < pd.Timestamp(as_of)]
    refund = tx["kind"].isin(["return", "cancellation"])
    revenue_rows = tx["kind"].isin(["sale", "return", "cancellation"])
    out = pd.DataFrame(index=pd.Index(sorted(customers), name="customer_id"))
    out["last"] = tx[tx["kind"] == "sale"].groupby("customer_id")["occurred_at"].max()
    out["frequency"] = tx[~refund].groupby("customer_id")["order_id"].nunique()
    out["monetary"] = tx[revenue_rows].groupby("customer_id")["amount"].sum()
    out["margin"] = tx.groupby("customer_id")["margin"].sum().round(6)
    out = out.fillna({"frequency": 0, "monetary": 0.0, "margin": 0.0})
    buyers = out[out["last"].notna()].copy()
    buyers["recency_days"] = (pd.Timestamp(as_of) - buyers["last"].dt.normalize()).dt.days
    n = len(buyers)
    for score, column, worst_first in (
        ("r", "recency_days", False),
        ("f", "frequency", True),
        ("m", "monetary", True),
    ):
        rank0 = buyers[column].rank(method="min", ascending=worst_first) - 1
        buyers[score] = (1 + (5 * rank0 // n)).astype(int)
    out = out.join(buyers[["recency_days", "r", "f", "m"]])
    # Online Retail has no cost to serve: the contribution is the margin.
    ranked = out.reset_index().sort_values(
        ["margin", "customer_id"], ascending=[False, True], kind="mergesort"
    )
    positive = ranked["margin"].clip(lower=0)
    before = positive.cumsum() - positive
    total = positive.sum()
    ranked["tier"] = "C"
    ranked.loc[before < 0.8 * total, "tier"] = "B"
    ranked.loc[before < 0.5 * total, "tier"] = "A"
    ranked.loc[ranked["margin"] <= 0, "tier"] = "D"
    return ranked.set_index("customer_id")


def _check_rfm_tiers_and_profile(dm: Datamart) -> None:
    from clientela.services.build import build, default_as_of
    from clientela.services.profile import get_profile
    from clientela.services.report import value_report

    settings = Settings(db=dm.url)
    as_of = default_as_of(dm)
    assert as_of == dt.date(2011, 12, 10)
    build(dm, settings, as_of)
    tx = dm.to_pandas(dm.table("transactions"))
    customers = [row[0] for row in dm.sql("SELECT customer_id FROM customers")]
    expected = _pandas_rfm_and_tiers(tx, customers, as_of)
    got = dm.to_pandas(dm.table("customer_summary")).set_index("customer_id").loc[expected.index]
    buyers = expected["r"].notna()
    for column in ("recency_days", "r", "f", "m"):
        assert (got.loc[buyers, column].astype(int) == expected.loc[buyers, column]).all(), column
    assert got["margin"].to_numpy() == pytest.approx(expected["margin"].to_numpy(), abs=1e-6)
    assert (got["value_tier"] == expected["tier"]).all()

    report = value_report(dm, settings, as_of)
    # The top 20% of the customers who ordered, ranked by margin (docs/value.md).
    margins = expected.loc[expected["frequency"] > 0, "margin"].sort_values(ascending=False)
    top = margins.iloc[: -(-len(margins) // 5)].sum() / margins.sum()
    assert report.top20_margin_share == pytest.approx(top, rel=1e-9)

    profile = get_profile(dm, settings, "17850", as_of)
    own = tx[tx["customer_id"] == "17850"]
    assert profile.customer_id == "17850"
    assert profile.identity.country == "United Kingdom"
    revenue_rows = own["kind"].isin(["sale", "return", "cancellation"])
    assert profile.kpis.revenue == pytest.approx(own.loc[revenue_rows, "amount"].sum())
    assert profile.rfm.r == expected.loc["17850", "r"]
    assert profile.value_tier == expected.loc["17850", "tier"]
    entries = profile.timeline.entries
    assert entries and entries[0].occurred_at >= entries[-1].occurred_at
