"""The value report workbook: sheets, numbers and native Excel charts."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest

from clientela.errors import ConfigError
from clientela.exports import write_value_report
from clientela.services.report import CurvePoint, NegativeContribution, TierSummary, ValueReport


def _report() -> ValueReport:
    tiers = tuple(
        TierSummary(tier, customers, revenue, margin, cost, margin - cost, None)
        for tier, customers, revenue, margin, cost in (
            ("A", 2, 900.0, 400.0, 20.0),
            ("B", 3, 500.0, 200.0, 30.0),
            ("C", 5, 300.0, 80.0, 20.0),
            ("D", 4, 100.0, 0.0, 60.0),
        )
    )
    curve = tuple(CurvePoint(i / 14, min(1.2, i / 7)) for i in range(1, 15))
    return ValueReport(
        as_of=dt.date(2026, 6, 1),
        source="live",
        customers=14,
        revenue=1800.0,
        margin=680.0,
        revenue_without_margin=50.0,
        cost_to_serve=130.0,
        contribution=550.0,
        top20_margin_share=0.61,
        top20_customers=3,
        top20_referral_share=None,
        top20_referrers=0,
        negative_contribution=NegativeContribution(customers=4, share=4 / 14, total=-60.0),
        tiers=tiers,
        curve=curve,
    )


def test_workbook_has_sheets_numbers_and_native_charts(tmp_path: Path) -> None:
    path = write_value_report(_report(), tmp_path / "value.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Summary", "Tiers", "Curve"]
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(min_row=3, values_only=True)}
    assert summary["Share of the margin made by the top 20% of customers"] == pytest.approx(0.61)
    assert summary["Share of converted referrals brought by the top 20% of referrers"] == "n/a"
    assert summary["Customers with negative contribution"] == 4
    tiers = list(book["Tiers"].iter_rows(min_row=2, values_only=True))
    assert [(row[0], row[1], row[5]) for row in tiers] == [
        ("A", 2, 380.0), ("B", 3, 170.0), ("C", 5, 60.0), ("D", 4, -60.0),
    ]  # fmt: skip
    curve = list(book["Curve"].iter_rows(min_row=2, values_only=True))
    assert curve[0] == (0.0, 0.0) and len(curve) == 15
    with zipfile.ZipFile(path) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 2
        xml = " ".join(archive.read(n).decode() for n in charts)
    assert "<c:scatterChart>" in xml and "<c:barChart>" in xml
    assert "Curve!$B$2:$B$16" in xml and "Tiers!$F$2:$F$5" in xml


def test_workbook_name_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"must end in \.xlsx, got 'value\.csv'"):
        write_value_report(_report(), tmp_path / "value.csv")
    with pytest.raises(ConfigError, match="does not exist"):
        write_value_report(_report(), tmp_path / "missing" / "value.xlsx")
