"""The profile, build and report commands, with their JSON contracts (DuckDB file)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from clientela.config import Settings
from clientela.datamart import connect, migrate
from tests.profile._data import load, make_dataset


@pytest.fixture
def db(duckdb_settings: Settings) -> str:
    dm = connect(duckdb_settings)
    try:
        migrate(dm)
        load(dm, make_dataset())
    finally:
        dm.close()
    return duckdb_settings.db


def test_profile_json_contract(cli: Callable[..., Any], db: str) -> None:
    result = cli("--db", db, "profile", "c001", "--json", "--as-of", "2026-06-01")
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["customer_id"] == "c000"
    assert document["value_tier"] in {"A", "B", "C", "D"}
    assert set(document["rfm"]) >= {
        "recency_days",
        "frequency",
        "monetary",
        "r",
        "f",
        "m",
        "segment",
    }
    assert set(document["kpis"]) >= {"revenue", "orders", "margin", "contribution"}
    assert isinstance(document["open_issues"], list)
    assert {"statuses", "email_do_not_contact"} <= set(document["consents"])
    assert document["timeline"]["page"] == 1 and len(document["timeline"]["entries"]) <= 20
    assert document["as_of"] == "2026-06-01"


def test_profile_screen_and_errors(cli: Callable[..., Any], db: str) -> None:
    result = cli("--db", db, "profile", "c005", "--page-size", "3")
    assert result.code == 0, result.stderr
    assert "KPIs" in result.stdout and "Timeline, page 1 of" in result.stdout
    missing = cli("--db", db, "profile", "c199x")
    assert missing.code == 2
    assert missing.stderr == (
        "error: no customer with id, e-mail or phone 'c199x' (did you mean 'c199'?)\n"
    )
    bad_date = cli("--db", db, "profile", "c005", "--as-of", "06/01/2026")
    assert bad_date.code == 2 and "--as-of" in bad_date.stderr


def test_build_then_report_value(cli: Callable[..., Any], db: str, tmp_path: Any) -> None:
    live = cli("--db", db, "report", "value", "--json", "--as-of", "2026-06-01")
    assert live.code == 0, live.stderr
    built = cli("--db", db, "build", "--as-of", "2026-06-01")
    assert built.code == 0 and "built customer_summary as of 2026-06-01" in built.stdout
    again = cli("--db", db, "report", "value", "--json", "--as-of", "2026-06-01")
    live_doc, built_doc = json.loads(live.stdout), json.loads(again.stdout)
    assert (live_doc["source"], built_doc["source"]) == ("live", "customer_summary")
    for name in ("top20_margin_share", "top20_referral_share"):
        assert built_doc[name] == pytest.approx(live_doc[name])
    assert built_doc["negative_contribution"] == live_doc["negative_contribution"]
    assert built_doc["tiers"] == live_doc["tiers"]
    assert set(built_doc["negative_contribution"]) >= {"customers", "share", "total"}
    tier = built_doc["tiers"][0]
    assert set(tier) >= {"tier", "customers", "revenue", "contribution", "margin", "cost_to_serve"}
    screen = cli("--db", db, "report", "value", "--xlsx", tmp_path / "value.xlsx")
    assert screen.code == 0, screen.stderr
    assert "The top 20% of customers" in screen.stdout
    assert (tmp_path / "value.xlsx").exists()
