"""Bad input, through the CLI: one line on stderr and exit code 2, or rows in rejects."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import CliResult
from tests.datamart.ingest._files import write_csv, write_xlsx

Cli = Callable[..., CliResult]


@pytest.fixture
def db(cli: Cli, tmp_path: Path) -> Path:
    path = tmp_path / "dm.duckdb"
    assert cli("--db", path, "init").code == 0
    return path


def _error(result: CliResult) -> str:
    assert result.code == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def _count(db: Path, sql: str) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(sql).fetchone()
        assert row is not None
        return int(row[0])


def _ingest(cli: Cli, db: Path, *args: object) -> CliResult:
    return cli("--db", db, "ingest", *args)


def _json(result: CliResult) -> dict[str, object]:
    assert result.code == 0, result
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    return document


def test_missing_file(cli: Cli, db: Path, tmp_path: Path) -> None:
    line = _error(_ingest(cli, db, tmp_path / "nope.csv", "--into", "customers"))
    assert "nope.csv" in line and "file not found" in line


def test_empty_file(cli: Cli, db: Path, tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    line = _error(_ingest(cli, db, tmp_path / "empty.csv", "--into", "customers"))
    assert "empty.csv" in line and "the file is empty" in line


def test_header_only_file_loads_nothing(cli: Cli, db: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "head.csv", ["customer_id", "name"], [])
    line = _error(_ingest(cli, db, path, "--into", "customers"))
    assert "head.csv" in line and "no data rows" in line and "nothing was loaded" in line
    assert _count(db, "SELECT count(*) FROM loads") == 0


def test_wrong_delimiter_names_the_likely_one(cli: Cli, db: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "semi.csv", ["id", "name"], [["1", "x"]], delimiter=";")
    (tmp_path / "m.yaml").write_text('delimiter: ","\ncolumns:\n  customer_id: id\n  name: name\n')
    line = _error(_ingest(cli, db, path, "--into", "customers", "--mapping", tmp_path / "m.yaml"))
    assert "the header does not fit the mapping" in line
    assert "Missing: 'id', 'name'" in line and "Unexpected: 'id;name'" in line
    assert "looks ';'-separated" in line
    assert _count(db, "SELECT count(*) FROM customers") == 0


def test_header_without_a_required_column(cli: Cli, db: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", ["Name", "Email"], [["x", "x@y.com"]])
    line = _error(_ingest(cli, db, path, "--into", "customers"))
    assert "Missing: 'customer_id'" in line and "Unexpected: 'Name', 'Email'" not in line


def test_wrong_declared_encoding_gives_line_and_likely_encoding(
    cli: Cli, db: Path, tmp_path: Path
) -> None:
    rows = [["1", "Ann"], ["2", "Jürgen Müller"]]
    path = write_csv(tmp_path / "latin.csv", ["customer_id", "name"], rows, encoding="cp1252")
    (tmp_path / "m.yaml").write_text("encoding: utf-8\n")
    line = _error(_ingest(cli, db, path, "--into", "customers", "--mapping", tmp_path / "m.yaml"))
    assert "latin.csv, line 3" in line
    assert "0xFC" in line and "not valid utf-8" in line and "cp1252" in line


@pytest.mark.parametrize(
    ("encoding", "name"),
    [("cp1252", "Jürgen Müller-Lüdenscheidt"), ("cp1251", "Дмитрий Шостакович")],
)
def test_encoding_is_detected(cli: Cli, db: Path, tmp_path: Path, encoding: str, name: str) -> None:
    rows = [[str(i), f"{name} {i}"] for i in range(40)]
    path = write_csv(tmp_path / "c.csv", ["customer_id", "name"], rows, encoding=encoding)
    assert _json(_ingest(cli, db, path, "--into", "customers", "--json"))["rows_inserted"] == 40
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT name FROM customers WHERE customer_id = '7'").fetchall() == [
            (f"{name} 7",)
        ]


def test_utf8_bom_and_mixed_line_ends_load(cli: Cli, db: Path, tmp_path: Path) -> None:
    text = "customer_id,name,employees\r\nC1,Ann,3\nC2,Bob,x\r\nC3,Cy,5\n"
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    report = _json(_ingest(cli, db, path, "--into", "customers", "--json"))
    assert report["rows_inserted"] == 2 and report["rows_rejected"] == 1
    with duckdb.connect(str(db), read_only=True) as con:
        rejected = con.execute(
            "SELECT line, column_name, value, rule, reason FROM rejects"
        ).fetchall()
    assert rejected == [(3, "employees", "x", "type", "'x' is not a whole number")]


def test_text_in_a_numeric_column_is_rejected(cli: Cli, db: Path, tmp_path: Path) -> None:
    header = ["order_id", "customer_id", "occurred_at", "quantity", "unit_price"]
    rows = [["A", "C1", "2024-01-01", "2", "1.5"], ["B", "C1", "2024-01-02", "two", "1.5"]]
    path = write_csv(tmp_path / "t.csv", header, rows)
    (tmp_path / "m.yaml").write_text("unknown_customers: placeholder\n")
    result = _ingest(cli, db, path, "--into", "transactions", "--mapping", tmp_path / "m.yaml")
    assert result.code == 0, result
    assert "rejected" in result.stdout and "type 1" in result.stdout
    listing = cli("--db", db, "rejects", "--json")
    rejects = json.loads(listing.stdout)
    assert [(r["line"], r["column_name"], r["value"], r["rule"]) for r in rejects] == [
        (3, "quantity", "two", "type")
    ]
    assert rejects[0]["reason"] == "'two' is not a number"


def test_date_in_an_unknown_format(cli: Cli, db: Path, tmp_path: Path) -> None:
    header = ["customer_id", "birth_date"]
    path = write_csv(tmp_path / "c.csv", header, [["C1", "1980-01-31"], ["C2", "31st Jan 1980"]])
    report = _json(_ingest(cli, db, path, "--into", "customers", "--json"))
    assert report["rejects_by_rule"] == {"type": 1}
    with duckdb.connect(str(db), read_only=True) as con:
        reason = con.execute("SELECT line, reason FROM rejects").fetchall()
    assert reason == [(3, "'31st Jan 1980' is not a date in the format %Y-%m-%d")]
    only_bad = write_csv(tmp_path / "d.csv", header, [["C3", "Jan the 5th"]])
    line = _error(_ingest(cli, db, only_bad, "--into", "customers"))
    assert "d.csv, line 2, column 'birth_date'" in line and "'Jan the 5th'" in line
    assert "no known date format" in line


def test_ambiguous_dates_ask_for_a_format(cli: Cli, db: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", ["customer_id", "birth_date"], [["C1", "01/02/1980"]])
    line = _error(_ingest(cli, db, path, "--into", "customers"))
    assert "day-first and month-first" in line and "'%d/%m/%Y'" in line and "'%m/%d/%Y'" in line


def test_corrupt_xlsx(cli: Cli, db: Path, tmp_path: Path) -> None:
    good = write_xlsx(tmp_path / "good.xlsx", ["customer_id"], [["C1"]])
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    line = _error(_ingest(cli, db, broken, "--into", "customers"))
    assert "broken.xlsx" in line and "not a readable XLSX workbook" in line


def test_parquet_damaged_after_its_first_rows(
    cli: Cli, db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB reads a Parquet file itself once the reader has read its first rows: damage
    further on is still one line naming the file, and nothing is loaded."""
    monkeypatch.setenv("CLIENTELA_BATCH_ROWS", "1000")
    rows = 200_000
    ids = [f"C{i}" for i in range(rows)]
    table = pa.table({"customer_id": ids, "city": [f"city {i % 977}" for i in range(rows)]})
    path = tmp_path / "c.parquet"
    pq.write_table(table, path, row_group_size=20_000)
    data = bytearray(path.read_bytes())
    start = len(data) * 4 // 5
    data[start : start + 3000] = b"\x55" * 3000
    path.write_bytes(bytes(data))
    line = _error(_ingest(cli, db, path, "--into", "customers"))
    assert "c.parquet" in line and "cannot read the Parquet file" in line
    assert _count(db, "SELECT count(*) FROM customers") == 0


def test_mapping_with_a_misspelt_key(cli: Cli, db: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", ["id"], [["C1"]])
    mapping = tmp_path / "m.yaml"
    mapping.write_text("header: true\ncolums:\n  customer_id: id\n")
    line = _error(_ingest(cli, db, path, "--into", "customers", "--mapping", mapping))
    assert f"{mapping}, line 2" in line
    assert "unknown key 'colums'" in line and "did you mean 'columns'" in line
    mapping.write_text("columns:\n  customer_id: {sorce: id}\n")
    line = _error(_ingest(cli, db, path, "--into", "customers", "--mapping", mapping))
    assert "line 2" in line and "unknown key 'sorce'" in line and "did you mean 'source'" in line


def test_unknown_table_and_column(cli: Cli, db: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", ["id"], [["C1"]])
    line = _error(_ingest(cli, db, path, "--into", "customer"))
    assert "no datamart table 'customer'" in line and "did you mean 'customers'" in line
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns:\n  customer_id: id\n  emial: id\n")
    line = _error(_ingest(cli, db, path, "--into", "customers", "--mapping", mapping))
    assert "line 3" in line and "no column 'emial'" in line and "did you mean 'email'" in line


def test_rejects_of_an_unknown_load(cli: Cli, db: Path) -> None:
    line = _error(cli("--db", db, "rejects", "--load", "nope"))
    assert "no load 'nope'" in line
