"""The example load folders load the real data sets, and every source line is accounted for.

Expected counts are computed independently from the original files with pandas.
"""

from __future__ import annotations

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
        known = sum(
            (raw[c] != "unknown").sum()
            for c in ["age", "job", "marital", "education", "default", "housing", "loan"]
        )
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
