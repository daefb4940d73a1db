"""The whole demo: generate, load and build on every backend; ``clientela demo`` end to end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from clientela.config import Settings
from clientela.datamart import DATA_TABLES, Datamart, connect
from clientela.demo import LOAD_ORDER, build_demo


def counts(dm: Datamart) -> dict[str, int]:
    return {name: int(dm.sql(f'SELECT count(*) FROM "{name}"')[0][0]) for name in DATA_TABLES}


def test_build_demo_loads_every_table_and_builds(datamart: Datamart, settings: Settings) -> None:
    summary = build_demo(datamart, settings, customers=250, seed=2)
    rows = counts(datamart)
    for table in LOAD_ORDER:
        assert summary.rejected(table) == 0, table
        assert rows[table] == summary.files.rows(table) == summary.loaded(table) > 0, table
    assert not summary.kept_files and not summary.files.folder.exists()
    assert summary.build.as_of.isoformat() == "2026-07-01"
    assert summary.build.tiers["A"] > 0 and summary.build.tiers["D"] > 0
    # Customers sharing an e-mail or a phone were unified into fewer profiles.
    assert summary.build.profiles < 250
    tier = datamart.sql(
        "SELECT value_tier FROM customer_summary WHERE customer_id = ?",
        [summary.showcase_customer_id],
    )
    assert tier == [("A",)]


def test_build_demo_twice_changes_nothing(tmp_path: Path) -> None:
    settings = Settings(db=str(tmp_path / "demo.duckdb"))
    with connect(settings) as dm:
        first = build_demo(dm, settings, customers=120, seed=9, folder=tmp_path / "files")
        again = build_demo(dm, settings, customers=120, seed=9)
        assert counts(dm)["transactions"] == first.files.rows("transactions")
    assert first.kept_files and (tmp_path / "files" / "sources.yaml").is_file()
    assert all(r.rows_inserted == 0 and r.rows_rejected == 0 for r in again.loads)
    assert again.build.tiers == first.build.tiers


def test_cli_demo_builds_and_shows_summary_profile_and_report(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    db = tmp_path / "demo.duckdb"
    out = tmp_path / "files"
    result = cli("--db", db, "demo", "--customers", "300", "--seed", "1", "--out", out)
    assert result.code == 0, result.stderr
    assert "Demo data" in result.stdout
    assert "300 customers, seed 1" in result.stdout
    assert "with a complaint still open" in result.stdout
    assert "Open issues" in result.stdout  # the profile screen
    assert "Value report" in result.stdout and "Value tiers" in result.stdout
    assert (out / "sources.yaml").is_file() and (out / "events.parquet").is_file()
    with connect(Settings(db=str(db)), create=False) as dm:
        rows = counts(dm)
    assert rows["customers"] == 300
    assert all(rows[table] > 0 for table in LOAD_ORDER)


def test_cli_demo_rejects_bad_options(cli: Callable[..., Any], tmp_path: Path) -> None:
    result = cli("--db", tmp_path / "demo.duckdb", "demo", "--customers", "0")
    assert result.code == 2
    assert result.stderr.startswith("error: ") and "--customers" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    a_file = tmp_path / "taken"
    a_file.write_text("x", encoding="utf-8")
    result = cli("--db", tmp_path / "demo.duckdb", "demo", "--customers", "10", "--out", a_file)
    assert result.code == 2
    assert len(result.stderr.strip().splitlines()) == 1
