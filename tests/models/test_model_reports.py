"""The evaluation report as Excel (native charts) and HTML (inline SVG), the scored customers'
export, the profile's predictive scores, and monitor / retrain / compare from the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest

from clientela.config import Settings
from clientela.datamart import connect, migrate
from clientela.models import Target
from clientela.services.predictive import TrainRequest, train_model
from tests._libreoffice import soffice, to_ods
from tests.conftest import CliResult
from tests.models._data import generated

Cli = Callable[..., CliResult]
SHEETS = ["Summary", "Deciles", "Calibration", "Features"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A datamart with model 'buyers' version 1 (trained through the service, once)."""
    path = tmp_path_factory.mktemp("reports") / "models.duckdb"
    settings = Settings(db=str(path))
    with connect(settings) as dm:
        migrate(dm)
        generated(dm)
        request = TrainRequest("buyers", Target("propensity", 60), dt.date(2026, 6, 1))
        train_model(dm, settings, request)
    return path


@pytest.fixture
def db(trained: Path, tmp_path: Path) -> str:
    """A copy of the trained datamart for one test."""
    copy = tmp_path / "models.duckdb"
    shutil.copy(trained, copy)
    return str(copy)


def test_evaluation_workbook_and_page(cli: Cli, db: str, tmp_path: Path) -> None:
    book, page = tmp_path / "buyers.xlsx", tmp_path / "buyers.html"
    result = cli("--db", db, "model", "evaluate", "buyers", "--xlsx", book, "--html", page)
    assert result.code == 0, result.stderr
    assert f"wrote {book}" in result.stderr and f"wrote {page}" in result.stderr
    metrics = json.loads(cli("--db", db, "model", "evaluate", "buyers", "--json").stdout)

    workbook = openpyxl.load_workbook(book)
    assert workbook.sheetnames == SHEETS
    summary = {row[0]: row[1] for row in workbook["Summary"].iter_rows(values_only=True)}
    assert summary["ROC AUC"] == pytest.approx(metrics["roc_auc"])
    assert summary["Brier score"] == pytest.approx(metrics["brier"])
    deciles = list(workbook["Deciles"].iter_rows(min_row=3, values_only=True))
    assert [row[5] for row in deciles] == pytest.approx(
        [d["cumulative_gain"] for d in metrics["deciles"]]
    )
    features = list(workbook["Features"].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in features] == list(metrics["feature_importance"])
    with zipfile.ZipFile(book) as package:
        charts = sorted(
            n for n in package.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)
        )
        kinds = [re.findall(r"<c:(\w+Chart)>", package.read(n).decode())[0] for n in charts]
    assert sorted(kinds) == ["barChart", "barChart", "lineChart", "scatterChart"]

    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<script" not in text and "src=" not in text
    svgs = re.findall(r"<svg .*?</svg>", text, re.S)
    assert len(svgs) == 4
    for svg in svgs:  # well-formed XML, drawn inside its view box
        drawing = ElementTree.fromstring(svg)
        width, height = float(drawing.get("width", 0)), float(drawing.get("height", 0))
        for element in drawing.iter():
            for axis, limit in (("x", width), ("y", height), ("cx", width), ("cy", height)):
                if element.get(axis) is not None:
                    assert -1 <= float(element.get(axis, 0)) <= limit + 1
    for title in ("Cumulative gains", "Lift by decile", "Calibration (dashed", "most important"):
        assert title in text
    assert f"{metrics['roc_auc']:.3f}" in text and f"{metrics['pr_auc']:.3f}" in text
    assert next(iter(metrics["feature_importance"])) in text


def test_report_files_are_checked(cli: Cli, db: str, tmp_path: Path) -> None:
    page = cli("--db", db, "model", "evaluate", "buyers", "--html", tmp_path / "page.txt")
    assert (page.code, page.stderr) == (
        2,
        "error: the page name must end in .html, got 'page.txt'\n",
    )
    away = tmp_path / "nowhere" / "page.html"
    missing = cli("--db", db, "model", "evaluate", "buyers", "--html", away)
    assert missing.stderr == f"error: the folder of the page {away} does not exist\n"
    book = cli("--db", db, "model", "evaluate", "buyers", "--xlsx", tmp_path / "book.xls")
    assert book.stderr == "error: the workbook name must end in .xlsx, got 'book.xls'\n"
    out = cli("--db", db, "model", "score", "buyers", "--as-of", "2026-08-01", "--out", "s.txt")
    assert out.stderr == "error: the output file must end in .csv or .xlsx, got 's.txt'\n"
    away = tmp_path / "nowhere" / "scores.csv"
    folder = cli("--db", db, "model", "score", "buyers", "--as-of", "2026-08-01", "--out", away)
    assert folder.stderr == f"error: the folder of the file {away} does not exist\n"


def test_scores_export_and_profile(cli: Cli, db: str, tmp_path: Path) -> None:
    table, book = tmp_path / "scores.csv", tmp_path / "scores.xlsx"
    for out in (table, book):
        scored = cli("--db", db, "-q", "model", "score", "buyers", "--as-of", "2026-08-01",
                     "--out", out)  # fmt: skip
        assert scored.code == 0, scored.stderr
    with table.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 600
    assert list(rows[0]) == ["profile_id", "probability", "decile", "raising_1", "raising_2",
                             "raising_3", "lowering_1", "lowering_2", "lowering_3"]  # fmt: skip
    assert [int(r["decile"]) for r in rows] == sorted(int(r["decile"]) for r in rows)
    sheet = openpyxl.load_workbook(book)["scores"]
    cells = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(cells) == 600 and cells[0][0] == rows[0]["profile_id"]
    assert cells[0][1] == pytest.approx(float(rows[0]["probability"]))
    assert cells[0][3] == (rows[0]["raising_1"] or None)

    best = rows[0]
    profile = cli("--db", db, "profile", best["profile_id"], "--as-of", "2026-08-02", "--json")
    (prediction,) = json.loads(profile.stdout)["predictions"]
    assert prediction["model"] == "buyers" and prediction["decile"] == 1
    first = prediction["raising"][0]
    assert best["raising_1"] == f"{first['feature']} = {first['value']} ({first['effect']:+.2f})"
    screen = cli("--db", db, "profile", best["profile_id"], "--as-of", "2026-08-02")
    assert "Predictive score buyers (version 1) as of 2026-08-01" in screen.stdout
    assert first["feature"] in screen.stdout


def test_monitor_retrain_and_compare(cli: Cli, db: str) -> None:
    assert cli("--db", db, "-q", "model", "score", "buyers", "--as-of", "2026-08-01").code == 0
    watched = cli("--db", db, "model", "monitor", "buyers", "--json")
    assert watched.code == 0, watched.stderr
    report = json.loads(watched.stdout)
    assert report["as_of"] == "2026-09-30" and report["realised"]["scored_as_of"] == "2026-08-01"
    assert report["score_psi"] is not None and report["features"]
    assert isinstance(report["retrain_recommended"], bool)
    assert report["retrain_recommended"] == any(
        "retrain the model" in w for w in report["warnings"]
    )
    screen = cli("--db", db, "model", "monitor", "buyers", "--as-of", "2026-09-30")
    assert "PSI of the score" in screen.stdout and "realised ROC AUC" in screen.stdout
    assert "retraining" in screen.stdout

    retrained = cli("--db", db, "model", "retrain", "buyers", "--cutoff", "2026-07-01", "--json")
    assert retrained.code == 0, retrained.stderr
    document = json.loads(retrained.stdout)
    assert (document["version"], document["cutoff"]) == (2, "2026-07-01")
    compared = json.loads(cli("--db", db, "model", "compare", "buyers", "--json").stdout)
    assert [v["version"] for v in compared["versions"]] == [1, 2]
    assert compared["versions"][1]["roc_auc"] == document["roc_auc"]
    table = cli("--db", db, "model", "compare", "buyers", "--versions", "2", "1")
    assert "version 2" in table.stdout and "ROC AUC" in table.stdout
    assert table.stdout.index("version 2") < table.stdout.index("version 1")
    missing = cli("--db", db, "model", "compare", "buyers", "--versions", "1", "9")
    assert missing.stderr == "error: model 'buyers' has no version 9\n"


def test_the_evaluation_workbook_opens_in_libreoffice_with_its_charts(
    cli: Cli, db: str, tmp_path: Path
) -> None:
    command = soffice()
    book = tmp_path / "evaluation.xlsx"
    assert cli("--db", db, "model", "evaluate", "buyers", "--xlsx", book).code == 0
    ods = to_ods(command, book, tmp_path)
    with zipfile.ZipFile(ods) as package:
        content = package.read("content.xml").decode()
        assert re.findall(r'<table:table table:name="([^"]+)"', content) == SHEETS
        objects = [n for n in package.namelist() if re.fullmatch(r"Object \d+/content\.xml", n)]
        assert len(objects) == 4, "every native chart survives as a chart object"
        for name in objects:
            assert "<chart:chart " in package.read(name).decode()
