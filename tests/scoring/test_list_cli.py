"""``clientela score-list``: the acceptance contract, --json, and one-line errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from clientela.config import Settings
from clientela.datamart import connect, migrate
from tests.conftest import CliResult
from tests.scoring._list_data import AS_OF, CRM_ROWS, load_toy_store, write_csv

Cli = Callable[..., CliResult]


@pytest.fixture
def toy_db(duckdb_settings: Settings) -> str:
    with connect(duckdb_settings) as dm:
        migrate(dm)
        load_toy_store(dm, duckdb_settings)
    return duckdb_settings.db


def test_the_acceptance_contract(cli: Cli, toy_db: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "crm.csv", CRM_ROWS)
    report = tmp_path / "REPORT.xlsx"
    audience = tmp_path / "DIR"
    result = cli(
        "--db", toy_db, "score-list", path, "--model", "toy_store", "--out", report,
        "--audience-dir", audience, "--region", "CR", "--as-of", AS_OF.isoformat(),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert "10 contacts (11 rows, 1 merged as duplicates): 7 matched, 3 unmatched" in " ".join(
        result.stdout.split()
    )
    assert openpyxl.load_workbook(report).sheetnames == ["Summary", "Contacts", "Unmatched"]
    assert sorted(p.name for p in audience.iterdir()) == [
        "crm.google-ads.csv", "crm.meta.csv", "crm.yandex.csv",
    ]  # fmt: skip
    assert f"wrote {report}" in result.stdout


def test_json_is_one_document(cli: Cli, toy_db: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "crm.csv", CRM_ROWS)
    args = ("--db", toy_db, "score-list", path, "-m", "toy_store", "--json", "--region", "CR",
            "--as-of", AS_OF.isoformat(), "--gender", "f", "--age", "30-40")  # fmt: skip
    result = cli(*args)
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["contacts"] == 10 and document["matched"] == 7
    assert document["filters"] == "gender female; age 30-40"
    assert document["scored"] == 4  # Ana 38, Sofía 35, María 31, Elena 34
    assert document["levels"] == {"high": 2, "medium": 1, "low": 1}
    assert document["cutoffs"] == {"high": 60.0, "medium": 40.0}
    again = json.loads(cli(*args).stdout)
    assert again["previous_run"] == document["run_id"]
    assert again["changes"]["same"] == 4


@pytest.mark.parametrize(
    ("rows", "options", "message"),
    [
        ([("Name",), ("Ann",)], (), "no e-mail or phone column in the list"),
        ([("email",)], (), "the list is empty: it holds no contacts (only a header)"),
        (CRM_ROWS, ("--model", "toy_stor"),
         "no scoring model 'toy_stor' (did you mean 'toy_store'?)"),
        (CRM_ROWS, ("--age", "40-30"),
         "bad age range '40-30': the lower age is above the upper one"),
        (CRM_ROWS, ("--gender", "femal"),
         "unknown gender 'femal' (did you mean 'female'?); expected one of: female, male, other, "
         "unknown"),
        (CRM_ROWS, ("--high", "10", "--medium", "20"),
         "the medium cut-off (20) is above the high one (10); expected --medium <= --high"),
    ],
)  # fmt: skip
def test_errors_are_one_line(
    cli: Cli, toy_db: str, tmp_path: Path, rows: list[tuple[str, ...]], options: tuple[str, ...],
    message: str,
) -> None:  # fmt: skip
    path = write_csv(tmp_path / "list.csv", rows)
    model = () if "--model" in options else ("--model", "toy_store")
    result = cli("--db", toy_db, "score-list", path, *model, *options)
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert message in lines[0]


def test_an_empty_file(cli: Cli, toy_db: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    result = cli("--db", toy_db, "score-list", empty, "--model", "toy_store")
    assert result.code == 2
    assert result.stderr == f"error: {empty}: the list is empty: it holds no contacts\n"
