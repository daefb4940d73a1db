"""The list scoring workbook: sheets, values, native charts, and LibreOffice opening it."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from clientela.config import Settings
from clientela.datamart import Datamart, connect, migrate
from clientela.exports._xlsx_rows import BulkRows, append_rows, column_letter
from clientela.scoring.lists import ScoreListResult
from clientela.services.score_list import score_list
from tests._libreoffice import soffice, to_ods
from tests.scoring._list_data import AS_OF, CRM_ROWS, EMAILS, load_toy_store, write_csv


def _two_runs(dm: Datamart, settings: Settings, tmp_path: Path) -> tuple[ScoreListResult, Path]:
    path = write_csv(tmp_path / "crm.csv", CRM_ROWS)
    score_list(dm, settings, path, "toy_store", as_of=AS_OF.replace(month=9), region="CR")
    longer = write_csv(tmp_path / "crm.csv", [*CRM_ROWS, ("Valeria", EMAILS["C009"], "")])
    out = tmp_path / "report.xlsx"
    result = score_list(dm, settings, longer, "toy_store", as_of=AS_OF, region="CR", out=out)
    return result, out


def _summary_values(book: openpyxl.Workbook) -> dict[object, object]:
    return {row[0]: row[1] for row in book["Summary"].iter_rows(min_row=3, values_only=True)}


def test_the_workbook_holds_every_contact_and_its_changes(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    load_toy_store(datamart, settings)
    result, out = _two_runs(datamart, settings, tmp_path)
    assert result.summary.workbook == str(out)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Summary", "Contacts", "Unmatched", "Changes", "Dynamics"]
    summary = _summary_values(book)
    assert summary["Contacts"] == 11
    assert summary["Matched to a customer"] == 8
    assert summary["Unmatched (see the Unmatched sheet)"] == 3
    assert summary["Scored"] == 8
    assert summary["Coverage: share of contacts matched and scored"] == pytest.approx(8 / 11)
    assert summary["Level cut-offs chosen from"] == "the model's levels"
    assert summary["High from score"] == 60 and summary["Medium from score (low below)"] == 40
    assert summary["Contacts new since the previous run"] == 1
    levels = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True)
              if row[0] in ("high", "medium", "low")}  # fmt: skip
    assert levels == {"high": 3, "medium": 2, "low": 3}

    contacts = list(book["Contacts"].iter_rows(values_only=True))
    assert contacts[0] == ("contact", "e-mail", "phone", "line", "status", "matched customer",
                           "profile", "matched on", "score", "level", "top reasons")  # fmt: skip
    assert len(contacts) == 1 + 11
    sofia = next(row for row in contacts if row[0] == "sofia.jimenez@example.cr")
    assert sofia[3:10] == (4, "scored", "C003", "C003", "email+phone", 81, "high")
    assert str(sofia[10]).startswith("emails_and_forms +36")
    unmatched = list(book["Unmatched"].iter_rows(min_row=2, values_only=True))
    assert [(row[0], row[3], row[5]) for row in unmatched] == [
        ("alguien@example.org", 9, "no customer has this e-mail or phone"),
        ("no-es-un-correo", 10, "'no-es-un-correo' is not an e-mail address; '12' is not a "
                                "valid phone number (read in region CR)"),
        ("line 11", 11, "no e-mail or phone"),
    ]  # fmt: skip
    changes = {row[0]: row for row in book["Changes"].iter_rows(min_row=2, values_only=True)}
    assert changes[EMAILS["C009"]][6] == "new"
    ana = changes["ana.mora@example.cr"]
    assert ana[3] == 43 and ana[5] == pytest.approx(43 - float(ana[1]))  # type: ignore[arg-type]
    dynamics = list(book["Dynamics"].iter_rows(min_row=2, values_only=True))
    assert [(row[4], row[5]) for row in dynamics] == [(10, 7), (11, 8)]
    with zipfile.ZipFile(out) as package:
        charts = sorted(
            n for n in package.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)
        )
        assert len(charts) == 3
        first = package.read(charts[0]).decode()
        assert "<c:barChart>" in first and "Summary!$B$" in first


def test_a_first_run_has_no_changes_sheet(duckdb_settings: Settings, tmp_path: Path) -> None:
    with connect(duckdb_settings) as dm:
        migrate(dm)
        load_toy_store(dm, duckdb_settings)
        path = write_csv(tmp_path / "crm.csv", CRM_ROWS)
        out = tmp_path / "first.xlsx"
        score_list(dm, duckdb_settings, path, "toy_store", as_of=AS_OF, region="CR", out=out)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Summary", "Contacts", "Unmatched"]


def test_bulk_rows_escape_what_xml_and_excel_need(tmp_path: Path) -> None:
    path = tmp_path / "bulk.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Data")
    number = workbook.add_format({"num_format": "0.00"})
    sheet.set_column(1, 1, 10, number)
    sheet.write_row(0, 0, ["text", "number"])
    workbook.close()
    texts = ["=1+1", "<b>&amp;</b>", "  padded ", "tab\there", "bell\x07", None, "ünïcødé"]
    numbers = [1, 2.5, None, float("nan"), -3.25, 7, 1e20]
    append_rows(path, [BulkRows(0, 1, [texts, numbers], [False, True], [None, number.xf_index])])
    rows = list(openpyxl.load_workbook(path)["Data"].iter_rows(min_row=2, values_only=True))
    # A control character is written as Excel's _xHHHH_ escape (as xlsxwriter does); Excel
    # reads it back as the character, openpyxl leaves the escape.
    assert [row[0] for row in rows] == ["=1+1", "<b>&amp;</b>", "  padded ", "tab\there",
                                        "bell_x0007_", None, "ünïcødé"]  # fmt: skip
    assert [row[1] for row in rows] == [1, 2.5, None, None, -3.25, 7, 1e20]
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


def test_the_workbook_opens_in_libreoffice_with_its_charts(
    duckdb_settings: Settings, tmp_path: Path
) -> None:
    command = soffice()
    with connect(duckdb_settings) as dm:
        migrate(dm)
        load_toy_store(dm, duckdb_settings)
        _, out = _two_runs(dm, duckdb_settings, tmp_path)
    ods = to_ods(command, out, tmp_path)
    with zipfile.ZipFile(ods) as package:
        content = package.read("content.xml").decode()
        tables = re.findall(r'<table:table table:name="([^"]+)"', content)
        assert tables == ["Summary", "Contacts", "Unmatched", "Changes", "Dynamics"]
        objects = sorted(
            name for name in package.namelist() if re.fullmatch(r"Object \d+/content\.xml", name)
        )
        assert len(objects) == 3, "every native chart survives as a chart object"
        kinds = []
        ranges = []
        for name in objects:
            chart = package.read(name).decode()
            assert "<chart:chart " in chart
            kinds += re.findall(r'chart:class="chart:(\w+)"', chart)[:1]
            ranges += re.findall(r'chart:values-cell-range-address="([^"]+)"', chart)
        assert sorted(kinds) == ["bar", "bar", "line"]
        assert any(r.startswith("Summary.") for r in ranges)
        assert any(r.startswith("Dynamics.") for r in ranges)
        # The data came through: the contacts and their levels.
        assert "sofia.jimenez@example.cr" in content and "emails_and_forms +36" in content
