"""``clientela score ranking``: a stored run's customers ranked for sales, on the toy store
(examples/toy_store/README.md has the scores worked out by hand)."""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from clientela.config import Settings
from clientela.datamart import Datamart, connect, migrate
from clientela.datamart.ingest import load_folder
from clientela.errors import DataError, NotFoundError
from clientela.exports.score_ranking import write_score_ranking
from clientela.services.score_views import ranking
from clientela.services.scoring import run_model
from tests._libreoffice import soffice, to_ods
from tests.scoring.test_cli import Cli
from tests.scoring.test_toy_store import EXAMPLE

FIRST, SECOND = dt.date(2026, 11, 1), dt.date(2026, 11, 10)


@pytest.fixture
def two_runs(datamart: Datamart, settings: Settings) -> Datamart:
    load_folder(datamart, settings, EXAMPLE)
    run_model(datamart, settings, "toy_store", FIRST)
    run_model(datamart, settings, "toy_store", SECOND)
    return datamart


def test_the_newest_run_best_first_with_its_reasons(two_runs: Datamart) -> None:
    ranked = ranking(two_runs, "toy_store")
    assert (ranked.as_of, ranked.previous_as_of) == (SECOND, FIRST)
    assert (ranked.profiles, ranked.selected) == (10, 10)
    assert ranked.bands == {"prospect": 4, "nurture": 2, "frequent": 2, "preferential": 2}
    rows = ranked.customers.to_pylist()
    assert [r["rank"] for r in rows] == list(range(1, 11))
    assert [(r["customer_id"], r["score"]) for r in rows[:3]] == [
        ("C003", 81.0),
        ("C008", 80.0),
        ("C007", 66.0),  # 62 on 1 November, then two e-mail clicks
    ]
    assert rows[0]["name"] == "Sofía Jiménez" and rows[0]["band"] == "preferential"
    # The three lines of largest points, whatever their sign: C008 lives far from San José.
    c008 = rows[1]
    assert [(c008[f"reason_{i}"], c008[f"points_{i}"]) for i in (1, 2, 3)] == [
        ("emails_and_forms", 42.0),
        ("landing_pages", 28.0),
        ("far_from_san_jose", -5.0),
    ]
    c005 = rows[-1]  # one line only
    assert (c005["customer_id"], c005["reason_1"], c005["reason_2"]) == (
        "C005",
        "far_from_san_jose",
        None,
    )


def test_ranked_by_rise_and_filtered(two_runs: Datamart) -> None:
    rising = ranking(two_runs, "toy_store", by="change", limit=2).customers.to_pylist()
    assert [(r["customer_id"], r["previous_score"], r["change"]) for r in rising] == [
        ("C001", 43.0, 12.0),  # six landing-page visits in November
        ("C007", 62.0, 4.0),
    ]
    nurture = ranking(two_runs, "toy_store", bands=["nurture"]).customers.to_pylist()
    assert [r["customer_id"] for r in nurture] == ["C002", "C001"]
    # Nobody changed band on 10 November; on 1 November, the first run, every customer above
    # the lowest band entered it.
    assert ranking(two_runs, "toy_store", moved="any").selected == 0
    entered = ranking(two_runs, "toy_store", FIRST, moved="up", limit=None)
    assert entered.previous_as_of is None and entered.selected == 6
    assert {r["moved"] for r in entered.customers.to_pylist()} == {"entered"}
    assert ranking(two_runs, "toy_store", moved="down").selected == 0


def test_bad_requests(two_runs: Datamart) -> None:
    with pytest.raises(DataError, match=r"no band vip .*prospect, nurture"):
        ranking(two_runs, "toy_store", bands=["vip"])
    with pytest.raises(NotFoundError, match="no run as of 2026-10-01; runs on 2026-11-01"):
        ranking(two_runs, "toy_store", dt.date(2026, 10, 1))
    with pytest.raises(DataError, match="no run before 2026-11-01"):
        ranking(two_runs, "toy_store", FIRST, by="change")


def test_the_workbook(two_runs: Datamart, tmp_path: Path) -> None:
    ranked = ranking(two_runs, "toy_store", limit=None)
    book_path = write_score_ranking(ranked, tmp_path / "ranking.xlsx")
    book = openpyxl.load_workbook(book_path)
    assert book.sheetnames == ["ranking", "bands"]
    sheet = book["ranking"]
    header = [c.value for c in sheet[1]]
    assert header[:6] == ["rank", "customer_id", "name", "account_owner", "score", "band"]
    assert sheet.max_row == 11
    assert [sheet.cell(2, col).value for col in (1, 2, 5)] == [1, "C003", 81]
    bands = {row[0]: row[1] for row in book["bands"].iter_rows(min_row=9, values_only=True)}
    assert bands == {"prospect": 4, "nurture": 2, "frequent": 2, "preferential": 2}
    with zipfile.ZipFile(book_path) as package:
        assert any(name.startswith("xl/charts/chart") for name in package.namelist())
    csv = write_score_ranking(ranked, tmp_path / "ranking.csv")
    assert csv.read_text(encoding="utf-8").splitlines()[1].startswith("1,C003,Sofía Jiménez")


def test_the_workbook_opens_in_libreoffice(duckdb_settings: Settings, tmp_path: Path) -> None:
    command = soffice()
    with connect(duckdb_settings) as dm:
        migrate(dm)
        load_folder(dm, duckdb_settings, EXAMPLE)
        run_model(dm, duckdb_settings, "toy_store", FIRST)
        book = write_score_ranking(ranking(dm, "toy_store"), tmp_path / "ranking.xlsx")
    with zipfile.ZipFile(to_ods(command, book, tmp_path)) as ods:
        content = ods.read("content.xml").decode("utf-8")
        tables = re.findall(r'<table:table table:name="([^"]+)"', content)
        assert tables == ["ranking", "bands"]
        [chart] = [n for n in ods.namelist() if re.fullmatch(r"Object \d+/content\.xml", n)]
        drawn = ods.read(chart).decode("utf-8")
    assert "<chart:chart " in drawn and 'chart:class="chart:bar"' in drawn
    assert re.search(r'chart:values-cell-range-address="bands\.', drawn)
    assert "C003" in content and "Sofía Jiménez" in content


def test_the_command(cli: Cli, tmp_path: Path) -> None:
    db = tmp_path / "toy.duckdb"
    assert cli("--db", db, "init").code == 0
    assert cli("--db", db, "load", EXAMPLE).code == 0
    for day in ("2026-11-01", "2026-11-10"):
        assert cli("--db", db, "score", "run", "-m", "toy_store", "--as-of", day).code == 0
    shown = cli("--db", db, "score", "ranking", "-m", "toy_store", "--by", "change", "-n", "1")
    assert shown.code == 0, shown.stderr
    assert "C001" in shown.stdout and "12.00" in shown.stdout
    out = tmp_path / "sales.xlsx"
    listed = cli("--db", db, "score", "ranking", "-m", "toy_store", "--out", out, "--json")
    assert listed.code == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert len(document["customers"]) == 10 and out.exists()
    wrong = cli("--db", db, "score", "ranking", "-m", "toy_store", "--moved", "sideways")
    assert wrong.code == 2 and "--moved must be up, down or any" in wrong.stderr
