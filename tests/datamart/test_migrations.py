from __future__ import annotations

import pytest

from clientela.config import Settings
from clientela.datamart import DATA_TABLES, Datamart, connect, current_version, migrate
from clientela.datamart.migrations import LATEST
from clientela.datamart.schema import BOOKKEEPING
from clientela.errors import BackendError, NotFoundError


def test_init_creates_every_table_with_its_schema(datamart: Datamart) -> None:
    assert current_version(datamart) == LATEST
    for name, table in DATA_TABLES.items():
        assert datamart.table(name).schema().names == table.schema.names
        for column, dtype in table.schema.items():
            assert datamart.table(name).schema()[column].is_string() == dtype.is_string(), column
    for name in BOOKKEEPING:
        assert datamart.has_table(name)


def test_migrate_twice_is_a_no_op(datamart: Datamart) -> None:
    assert migrate(datamart) == []
    rows = datamart.sql("SELECT count(*) FROM schema_migrations")
    assert rows[0][0] == LATEST


def test_unknown_table_suggests_the_close_match(datamart: Datamart) -> None:
    with pytest.raises(NotFoundError, match="did you mean 'customers'"):
        datamart.table("custmers")


def test_transaction_rolls_back_on_error(datamart: Datamart) -> None:
    with pytest.raises(RuntimeError), datamart.transaction():
        datamart.sql("INSERT INTO customers (customer_id) VALUES ('c1')")
        raise RuntimeError("midway")
    assert datamart.sql("SELECT count(*) FROM customers")[0][0] == 0


def test_uninitialised_datamart_is_reported(settings: Settings) -> None:
    dm = connect(settings)
    try:
        with pytest.raises(BackendError, match="not initialised"):
            dm.table("customers")
    finally:
        dm.close()


def test_bulk_insert_round_trips_nulls_and_empty_strings(datamart: Datamart) -> None:
    import datetime as dt

    import pyarrow as pa

    data = pa.table(
        {
            "customer_id": ["a", "b"],
            "name": ["", None],
            "birth_date": pa.array([dt.date(1980, 1, 2), None], pa.date32()),
            "employees": pa.array([None, 5], pa.int64()),
            "is_placeholder": [False, None],
        }
    )
    assert datamart.bulk_insert("customers", data) == 2
    got = datamart.to_pyarrow(datamart.table("customers").order_by("customer_id"))
    assert got["name"].to_pylist() == ["", None]
    assert got["birth_date"].to_pylist() == [dt.date(1980, 1, 2), None]
    assert got["employees"].to_pylist() == [None, 5]
    assert got["is_placeholder"].to_pylist() == [False, None]


def test_duckdb_draws_no_progress_bar_of_its_own(duckdb_settings: Settings) -> None:
    dm = connect(duckdb_settings)
    try:
        rows = dm.sql("SELECT current_setting('enable_progress_bar')")
        assert rows[0][0] is False
    finally:
        dm.close()


def test_migration_6_fills_orders_from_the_lines_already_loaded(settings: Settings) -> None:
    import datetime as dt

    from clientela.datamart.migrations import MIGRATIONS

    dm = connect(settings)
    try:
        dm.create_table("schema_migrations", BOOKKEEPING["schema_migrations"])
        for migration in MIGRATIONS[:5]:
            with dm.transaction():
                migration.apply(dm)
                dm.sql(
                    "INSERT INTO schema_migrations (version, description, applied_at) "
                    "VALUES (?, ?, ?)",
                    [migration.version, migration.description, dt.datetime(2026, 1, 1)],
                )
        assert current_version(dm) == 5 and not dm.has_table("orders")
        dm.sql(
            "INSERT INTO transactions (transaction_id, order_id, customer_id, occurred_at, "
            "amount, kind) VALUES "
            "('a', 'O1', 'C1', TIMESTAMP '2024-01-02 00:00:00', 5, 'sale'), "
            "('b', 'O1', 'C1', TIMESTAMP '2024-01-01 00:00:00', 5, NULL), "
            "('c', 'O1', 'C1', TIMESTAMP '2024-03-01 00:00:00', -5, 'return'), "
            "('d', 'O2', 'C2', TIMESTAMP '2024-02-01 00:00:00', -1, 'cancellation')"
        )
        assert [m.version for m in migrate(dm)] == [6, 7]
        assert sorted(dm.sql("SELECT * FROM orders"), key=str) == [
            ("C1", "O1", dt.datetime(2024, 1, 1), dt.datetime(2024, 3, 1)),
            ("C2", "O2", None, dt.datetime(2024, 2, 1)),
        ]
    finally:
        dm.close()
