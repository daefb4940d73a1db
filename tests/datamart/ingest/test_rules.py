"""Row rules, keys and conflicts, on every backend, checked against plain-Python expectations."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.ingest import Mapping, ingest_file
from clientela.errors import ConfigError
from tests.datamart.ingest._files import write_csv

AS_OF = dt.datetime(2026, 11, 22)
TX = ["order_id", "line_no", "customer_id", "occurred_at", "quantity", "unit_price", "kind"]


def _rejects(dm: Datamart, load_id: str | None = None) -> list[tuple[Any, ...]]:
    where = f" WHERE load_id = '{load_id}'" if load_id else ""
    return sorted(
        dm.sql(f"SELECT line, column_name, value, rule, reason, action FROM rejects{where}"),
        key=repr,
    )


def _customers(dm: Datamart, settings: Settings, tmp_path: Path, *ids: str) -> None:
    path = write_csv(tmp_path / "customers.csv", ["customer_id"], [[i] for i in ids])
    ingest_file(dm, settings, path, "customers", as_of=AS_OF)


def test_duplicates_within_and_across_files(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    _customers(datamart, settings, tmp_path, "C1")
    rows = [
        ["A", "1", "C1", "2024-01-01", "1", "5", ""],
        ["A", "1", "C1", "2024-01-01", "1", "5", ""],
        ["A", "2", "C1", "2024-01-01", "2", "5", ""],
    ]
    mapping = Mapping.model_validate(
        {"columns": {"transaction_id": {"expr": "concat(order_id, '-', line_no)"}}}
    )
    first = write_csv(tmp_path / "t1.csv", TX, rows)
    report = ingest_file(datamart, settings, first, "transactions", mapping, as_of=AS_OF)
    assert (report.rows_read, report.rows_inserted, report.rows_rejected) == (3, 2, 1)
    assert _rejects(datamart, report.load_id) == [
        (
            3,
            "transaction_id",
            "A-1",
            "duplicate_key",
            "duplicate key 'A-1': first seen on line 2",
            "rejected",
        )
    ]
    again = ingest_file(datamart, settings, first, "transactions", mapping, as_of=AS_OF)
    assert (again.rows_inserted, again.rows_unchanged, again.rows_rejected) == (0, 2, 1)
    # An overlapping file: one known line, one changed (a fact: rejected), one new.
    overlap = write_csv(
        tmp_path / "t2.csv",
        TX,
        [
            rows[0],
            ["A", "2", "C1", "2024-01-01", "3", "5", ""],
            ["B", "1", "C1", "2024-01-02", "1", "7", ""],
        ],
    )
    report = ingest_file(datamart, settings, overlap, "transactions", mapping, as_of=AS_OF)
    assert (report.rows_inserted, report.rows_unchanged, report.rows_rejected) == (1, 1, 1)
    (conflict,) = _rejects(datamart, report.load_id)
    assert conflict[:4] == (3, "transaction_id", "A-2", "conflict")
    assert conflict[4] == "key 'A-2' is already loaded with other values (quantity, amount differ)"
    amounts = sorted(datamart.sql("SELECT transaction_id, amount FROM transactions"))
    assert amounts == [("A-1", 5.0), ("A-2", 10.0), ("B-1", 7.0)]
    assert datamart.sql("SELECT count(*) FROM loads")[0][0] == 4


def test_every_reject_keeps_its_raw_row(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    """A row failing a row rule, or a check of the whole file (duplicate key, unknown customer,
    conflict with a loaded row), is kept with the row as the file had it."""
    _customers(datamart, settings, tmp_path, "C1")
    rows = [
        ["A", "1", "C1", "2024-01-01", "1", "5", ""],
        ["A", "1", "C1", "2024-01-01", "1", "5", ""],
        ["B", "1", "C9", "2024-01-01", "1", "5", ""],
        ["C", "1", "C1", "2024-01-02", "one", "5", ""],
        ["D", "1", "C1", "2024-01-03", "2", "5", ""],
    ]
    mapping = Mapping.model_validate(
        {"columns": {"transaction_id": {"expr": "concat(order_id, '-', line_no)"}}}
    )
    first = write_csv(tmp_path / "t1.csv", TX, rows)
    ingest_file(datamart, settings, first, "transactions", mapping, as_of=AS_OF)
    changed = [*rows[4][:4], "3", *rows[4][5:]]
    second = write_csv(tmp_path / "t2.csv", TX, [rows[0], changed])
    ingest_file(datamart, settings, second, "transactions", mapping, as_of=AS_OF)
    found = sorted(
        (rule, line, json.loads(raw))
        for rule, line, raw in datamart.sql("SELECT rule, line, raw FROM rejects")
    )
    assert found == [
        ("conflict", 3, dict(zip(TX, changed, strict=True))),
        ("duplicate_key", 3, dict(zip(TX, rows[1], strict=True))),
        ("type", 5, dict(zip(TX, rows[3], strict=True))),
        ("unknown_customer", 4, dict(zip(TX, rows[2], strict=True))),
    ]


def test_customers_update_and_count_unchanged(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    header = ["customer_id", "name", "city"]
    first = write_csv(tmp_path / "a.csv", header, [["C1", "Ann", "Leeds"], ["C2", "Bob", "York"]])
    ingest_file(datamart, settings, first, "customers", as_of=AS_OF)
    second = write_csv(tmp_path / "b.csv", header, [["C1", "Ann", "Leeds"], ["C2", "Bob", "Hull"]])
    report = ingest_file(datamart, settings, second, "customers", as_of=AS_OF)
    assert (report.rows_updated, report.rows_unchanged, report.rows_inserted) == (1, 1, 0)
    assert sorted(datamart.sql("SELECT customer_id, city FROM customers")) == [
        ("C1", "Leeds"),
        ("C2", "Hull"),
    ]


@pytest.mark.parametrize("policy", ["reject", "placeholder"])
def test_unknown_customers(
    datamart: Datamart, tmp_path: Path, settings: Settings, policy: str
) -> None:
    settings = settings.model_copy(update={"unknown_customers": policy})
    _customers(datamart, settings, tmp_path, "C1")
    rows = [
        ["A", "1", "C1", "2024-01-01", "1", "5", ""],
        ["B", "1", "C9", "2024-01-01", "1", "5", ""],
        ["C", "1", "C9", "2024-01-02", "1", "6", ""],
    ]
    path = write_csv(tmp_path / "t.csv", TX, rows)
    report = ingest_file(datamart, settings, path, "transactions", as_of=AS_OF)
    if policy == "reject":
        assert (report.rows_inserted, report.rows_rejected) == (1, 2)
        assert [r[:4] for r in _rejects(datamart, report.load_id)] == [
            (3, "customer_id", "C9", "unknown_customer"),
            (4, "customer_id", "C9", "unknown_customer"),
        ]
    else:
        assert (report.rows_inserted, report.rows_rejected, report.placeholders_created) == (
            3,
            0,
            1,
        )
        assert datamart.sql("SELECT customer_id FROM customers WHERE is_placeholder") == [("C9",)]


def test_negative_and_absurd_values(datamart: Datamart, settings: Settings, tmp_path: Path) -> None:
    _customers(datamart, settings, tmp_path, "C1")
    rows = [
        ["A", "1", "C1", "2024-01-01", "-1", "5", "sale"],
        ["B", "1", "C1", "2024-01-01", "1", "5", "return"],
        ["C", "1", "C1", "2024-01-01", "1", "5e12", ""],
        ["D", "1", "C1", "2024-01-01", "-2", "5", ""],
        ["E", "1", "C1", "2024-01-01", "1", "5", "gift"],
    ]
    path = write_csv(tmp_path / "t.csv", TX, rows)
    report = ingest_file(datamart, settings, path, "transactions", as_of=AS_OF)
    assert report.rows_inserted == 1 and report.rows_rejected == 4
    assert [r[:4] for r in _rejects(datamart, report.load_id)] == [
        (2, "amount", "-5.0", "sign"),
        (3, "amount", "5.0", "sign"),
        (4, "amount", "5000000000000.0", "absurd"),
        (6, "kind", "gift", "allowed"),
    ]
    assert datamart.sql("SELECT kind, amount FROM transactions") == [("return", -10.0)]
    costs = write_csv(
        tmp_path / "c.csv", ["customer_id", "period_start", "cost"], [["C1", "2024-01-01", "-3"]]
    )
    report = ingest_file(datamart, settings, costs, "cost_to_serve", as_of=AS_OF)
    assert [r[3:5] for r in _rejects(datamart, report.load_id)] == [
        ("range", "'-3.0' is outside the range [0, ]")
    ]
    born = write_csv(
        tmp_path / "b.csv",
        ["customer_id", "birth_date"],
        [["C2", "1850-01-01"], ["C3", "2030-01-01"]],
    )
    report = ingest_file(datamart, settings, born, "customers", as_of=AS_OF)
    assert [r[3] for r in _rejects(datamart, report.load_id)] == ["absurd", "absurd"]


def test_invalid_contact_values_rejected_or_cleared(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    rows = [["C1", "not-an-email", "12"], ["C2", "b@x.org", "020 7946 0000"]]
    path = write_csv(tmp_path / "c.csv", ["id", "mail", "tel"], rows)
    strict = Mapping.model_validate(
        {"columns": {"customer_id": "id", "email": "mail", "phone": "tel"}}
    )
    report = ingest_file(datamart, settings, path, "customers", strict, as_of=AS_OF)
    assert report.rows_rejected == 1
    assert [r[1:4] for r in _rejects(datamart, report.load_id)] == [
        ("email", "not-an-email", "email")
    ]
    lenient = Mapping.model_validate(
        {
            "columns": {
                "customer_id": "id",
                "email": {"source": "mail", "on_invalid": "null"},
                "phone": {"source": "tel", "on_invalid": "null"},
            }
        }
    )
    report = ingest_file(datamart, settings, path, "customers", lenient, as_of=AS_OF)
    assert report.rows_rejected == 0 and report.values_cleared == 2
    assert [(r[1], r[3], r[5]) for r in _rejects(datamart, report.load_id)] == [
        ("email", "email", "value_cleared"),
        ("phone", "phone", "value_cleared"),
    ]
    assert sorted(datamart.sql("SELECT customer_id, email, phone FROM customers")) == [
        ("C1", None, None),
        ("C2", "b@x.org", "+442079460000"),
    ]


def test_expressions_decimal_commas_and_anonymous_events(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    _customers(datamart, settings, tmp_path, "C1")
    header = ["Invoice", "Client", "Day", "Qty", "Unit Price"]
    rows = [["1", "C1", "03.02.2024", "2", "1.234,50"], ["C2", "C1", "04.02.2024", "-1", "10,00"]]
    path = write_csv(tmp_path / "t.csv", header, rows, delimiter=";")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        'decimal: ","\nthousands: "."\ndate_format: "%d.%m.%Y"\ncolumns:\n'
        "  order_id: Invoice\n  customer_id: Client\n  occurred_at: Day\n  quantity: Qty\n"
        '  unit_price: col("Unit Price")\n'.replace('col("Unit Price")', '{source: "Unit Price"}')
        + '  amount: {expr: "round(quantity * unit_price, 2)"}\n'
        + "  kind: {expr: \"'cancellation' if startswith(Invoice, 'C') else 'sale'\"}\n"
        + "  product_name: {expr: \"concat(upper(Client), '#', line())\"}\n"
    )
    report = ingest_file(datamart, settings, path, "transactions", mapping, as_of=AS_OF)
    assert report.rows_rejected == 0, _rejects(datamart)
    got = sorted(
        datamart.sql("SELECT order_id, occurred_at, amount, kind, product_name FROM transactions")
    )
    assert got == [
        ("1", dt.datetime(2024, 2, 3), round(2 * 1234.5, 2), "sale", "C1#2"),
        ("C2", dt.datetime(2024, 2, 4), -10.0, "cancellation", "C1#3"),
    ]
    required = "columns:\n  order_id: Invoice\n  occurred_at: Day\n  customer_id: Client\n"
    mapping.write_text(required + '  amount: {expr: "Qty * unit_prise"}\n')
    with pytest.raises(
        ConfigError,
        match=r"line 5: column 'amount': unknown name 'unit_prise'.*did you mean 'unit_price'",
    ):
        ingest_file(datamart, settings, path, "transactions", mapping)
    mapping.write_text(required + "  amount: {expr: \"__import__('os')\"}\n")
    with pytest.raises(ConfigError, match="unknown function '__import__'"):
        ingest_file(datamart, settings, path, "transactions", mapping)
    events = write_csv(
        tmp_path / "e.csv",
        ["customer_id", "anonymous_id", "occurred_at", "event_type", "properties"],
        [
            ["", "", "2024-01-01 00:00:00", "page_view", ""],
            ["", "a1", "2024-01-01 00:00:00", "search", "[1]"],
        ],
    )
    report = ingest_file(datamart, settings, events, "events", as_of=AS_OF)
    assert [r[3:5] for r in _rejects(datamart, report.load_id)] == [
        ("required", "customer_id or anonymous_id is required"),
        ("type", "'[1]' is not a JSON object"),
    ]


def test_arrow_tables_typed_parquet_and_whitespace_files(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    table = pa.table(
        {
            "customer_id": ["C1", "C2"],
            "employees": pa.array([10, None], pa.int64()),
            "created_at": pa.array([dt.datetime(2024, 1, 1, 12), None], pa.timestamp("us")),
        }
    )
    report = ingest_file(datamart, settings, table, "customers", as_of=AS_OF)
    assert report.rows_inserted == 2 and report.file == "(arrow table)"
    pq.write_table(table, tmp_path / "c.parquet")
    again = ingest_file(datamart, settings, tmp_path / "c.parquet", "customers", as_of=AS_OF)
    assert again.rows_unchanged == 2
    assert sorted(datamart.sql("SELECT customer_id, employees, created_at FROM customers")) == [
        ("C1", 10, dt.datetime(2024, 1, 1, 12)),
        ("C2", None, None),
    ]
    # CDNOW-style: runs of blanks, CRLF, gzip, no header.
    text = " 00001 19970101  1   11.77\r\n 00002 19970112  2   12.00\r\n"
    (tmp_path / "cd.txt.gz").write_bytes(gzip.compress(text.encode()))
    mapping = Mapping.model_validate(
        {
            "header": False,
            "names": ["id", "date", "cds", "dollars"],
            "unknown_customers": "placeholder",
            "columns": {
                "customer_id": "id",
                "order_id": {"expr": "concat(id, '-', line())"},
                "occurred_at": {"source": "date", "format": "%Y%m%d"},
                "quantity": "cds",
                "amount": "dollars",
            },
        }
    )
    report = ingest_file(
        datamart, settings, tmp_path / "cd.txt.gz", "transactions", mapping, as_of=AS_OF
    )
    assert report.rows_inserted == 2, _rejects(datamart)
    assert sorted(
        datamart.sql("SELECT customer_id, order_id, occurred_at, amount FROM transactions")
    ) == [
        ("00001", "00001-1", dt.datetime(1997, 1, 1), 11.77),
        ("00002", "00002-2", dt.datetime(1997, 1, 12), 12.0),
    ]
