"""``load DIR``: the sources of a folder in order, in one transaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from clientela.config import Settings
from clientela.datamart import Datamart, connect, migrate
from clientela.datamart.indexes import build_pending_indexes, defer_indexes, pending_indexes
from clientela.datamart.ingest import load_folder
from clientela.errors import ConfigError, SchemaMismatchError
from tests.conftest import CliResult
from tests.datamart.ingest._files import write_csv

TX = ["order_id", "customer_id", "occurred_at", "amount"]


def _folder(tmp_path: Path, transactions_header: list[str]) -> Path:
    folder = tmp_path / "run" / "nested"
    folder.mkdir(parents=True)
    # A file outside the folder, reached with '..'.
    write_csv(
        tmp_path / "run" / "customers.csv", ["customer_id", "name"], [["C1", "Ann"], ["C2", "Bob"]]
    )
    write_csv(
        folder / "tx.csv",
        transactions_header,
        [["A", "C1", "2024-01-01", "5"], ["B", "C2", "2024-01-02", "7"]],
    )
    (folder / "tx.yaml").write_text("extra_columns: error\n")
    (folder / "sources.yaml").write_text(
        "sources:\n"
        "  - file: ../customers.csv\n    table: customers\n"
        "  - file: tx.csv\n    table: transactions\n    mapping: tx.yaml\n"
    )
    return folder


def test_later_sources_see_earlier_ones(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    reports = load_folder(datamart, settings, _folder(tmp_path, TX))
    assert [(r.target, r.rows_inserted, r.rows_rejected) for r in reports] == [
        ("customers", 2, 0),
        ("transactions", 2, 0),
    ]
    batches = datamart.sql("SELECT DISTINCT batch_id FROM loads")
    assert len(batches) == 1
    assert sorted(datamart.sql("SELECT customer_id, amount FROM transactions")) == [
        ("C1", 5.0),
        ("C2", 7.0),
    ]


def test_a_failing_source_leaves_the_datamart_unchanged(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    folder = _folder(tmp_path, [*TX, "surprise"])
    with pytest.raises(SchemaMismatchError, match="Unexpected: 'surprise'"):
        load_folder(datamart, settings, folder)
    for table in ("customers", "transactions", "loads", "rejects", "identity"):
        assert datamart.sql(f"SELECT count(*) FROM {table}") == [(0,)], table


def test_sources_file_errors(datamart: Datamart, settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_folder(datamart, settings, tmp_path)
    (tmp_path / "sources.yaml").write_text("sources:\n  - file: a.csv\n    tabel: customers\n")
    with pytest.raises(
        ConfigError, match=r"line 3: unknown key 'tabel' \(did you mean 'table'\?\)"
    ):
        load_folder(datamart, settings, tmp_path)


def test_load_command(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    db = tmp_path / "dm.duckdb"
    assert cli("--db", db, "init").code == 0
    folder = _folder(tmp_path, TX)
    result = cli("--db", db, "load", folder)
    assert result.code == 0, result
    assert "Load summary" in result.stdout and "inserted" in result.stdout
    again = cli("--db", db, "load", folder, "--json")
    document = json.loads(again.stdout)
    assert [(r["target"], r["rows_unchanged"]) for r in document] == [
        ("customers", 2),
        ("transactions", 2),
    ]


def _definition(datamart: Datamart, table: str) -> list[tuple[object, ...]]:
    return sorted(
        datamart.sql(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = ? AND table_schema = current_schema()",
            [table],
        )
    )


def _indexes(datamart: Datamart, table: str) -> list[tuple[object, ...]]:
    if datamart.kind != "duckdb":
        # This test's schema only: tests running beside it have tables of the same names.
        return sorted(
            datamart.sql(
                "SELECT indexname FROM pg_indexes WHERE tablename = ? "
                "AND schemaname = current_schema()",
                [table],
            )
        )
    return sorted(
        datamart.sql(
            "SELECT index_name FROM duckdb_indexes() WHERE table_name = ? "
            "AND database_name = current_database()",
            [table],
        )
    )


def test_a_first_load_keeps_the_tables_definition_and_indexes(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    # On DuckDB a load into an empty table stages into a table that replaces it.
    before = {
        t: (_definition(datamart, t), _indexes(datamart, t)) for t in ("customers", "transactions")
    }
    assert all(indexes for _, indexes in before.values())
    load_folder(datamart, settings, _folder(tmp_path, TX))
    after = {
        t: (_definition(datamart, t), _indexes(datamart, t)) for t in ("customers", "transactions")
    }
    assert after == before
    # The replaced table answers through its index, and a second load merges into it.
    assert datamart.sql("SELECT name FROM customers WHERE customer_id = 'C2'") == [("Bob",)]
    reports = load_folder(datamart, settings, _folder(tmp_path / "again", TX))
    assert [(r.rows_inserted, r.rows_unchanged) for r in reports] == [(0, 2), (0, 2)]


def test_a_failure_after_a_first_load_restores_the_empty_table_and_its_indexes(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    indexes = _indexes(datamart, "customers")
    with pytest.raises(SchemaMismatchError):
        load_folder(datamart, settings, _folder(tmp_path, [*TX, "surprise"]))
    assert _indexes(datamart, "customers") == indexes
    reports = load_folder(datamart, settings, _folder(tmp_path / "again", TX))
    assert [r.rows_inserted for r in reports] == [2, 2]
    assert datamart.sql("SELECT count(*) FROM customers WHERE customer_id = 'C1'") == [(1,)]


def test_a_first_load_leaves_no_index_pending(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    load_folder(datamart, settings, _folder(tmp_path, TX))
    assert pending_indexes(datamart) == []
    if datamart.kind == "duckdb":
        # The indexes were built on the committed tables, not in the load's transaction.
        assert datamart.sql("SELECT count(*) FROM pending_indexes") == [(0,)]


def test_indexes_a_stopped_load_left_pending_are_built_by_the_next_command(
    cli: Callable[..., CliResult], duckdb_settings: Settings, tmp_path: Path
) -> None:
    db = tmp_path / "dm.duckdb"
    assert cli("--db", db, "init").code == 0
    assert cli("--db", db, "load", _folder(tmp_path, TX)).code == 0
    dm = connect(duckdb_settings.model_copy(update={"db": str(db)}))
    try:
        built = _indexes(dm, "customers")
        assert len(built) == 3
        # What a load stopped after its commit, before building its indexes, leaves behind:
        # the rows complete, the indexes recorded as pending and absent.
        with dm.transaction():
            assert defer_indexes(dm, "customers") == 3
            for (name,) in built:
                dm.sql(f'DROP INDEX "{name}"')
        assert _indexes(dm, "customers") == []
        assert [t for _, t in pending_indexes(dm)] == ["customers"] * 3
    finally:
        dm.close()
    result = cli("--db", db, "status")
    assert result.code == 0, result
    dm = connect(duckdb_settings.model_copy(update={"db": str(db)}))
    try:
        assert _indexes(dm, "customers") == built
        assert pending_indexes(dm) == []
        assert dm.sql("SELECT name FROM customers WHERE customer_id = 'C2'") == [("Bob",)]
    finally:
        dm.close()


def test_a_pending_index_of_a_table_since_dropped_is_forgotten(duckdb_settings: Settings) -> None:
    dm = connect(duckdb_settings)
    try:
        migrate(dm)
        dm.sql("CREATE TABLE scratch (k VARCHAR)")
        dm.sql("CREATE INDEX ix_scratch_k ON scratch (k)")
        with dm.transaction():
            assert defer_indexes(dm, "scratch") == 1
            dm.sql("DROP TABLE scratch")
        assert build_pending_indexes(dm) == 0
        assert pending_indexes(dm) == []
    finally:
        dm.close()
