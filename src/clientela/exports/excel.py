"""The value report as an Excel workbook with native (editable) Excel charts."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import xlsxwriter

from clientela.exports._workbook import workbook_target
from clientela.services.report import ValueReport

__all__ = ["write_value_report"]

log = logging.getLogger(__name__)


def write_value_report(report: ValueReport, path: str | Path) -> Path:
    """Write ``report`` to ``path``: Summary, Tiers and Curve sheets with two charts."""
    target = workbook_target(path)
    workbook = xlsxwriter.Workbook(str(target))
    try:
        formats = {
            "bold": workbook.add_format({"bold": True}),
            "money": workbook.add_format({"num_format": "#,##0.00"}),
            "pct": workbook.add_format({"num_format": "0.0%"}),
            "int": workbook.add_format({"num_format": "#,##0"}),
            "title": workbook.add_format({"bold": True, "font_size": 14}),
        }
        _summary(workbook, report, formats)
        _tiers(workbook, report, formats)
        _curve(workbook, report, formats)
    finally:
        workbook.close()
    log.info("wrote the value report to %s", target)
    return target


def _summary(workbook: Any, report: ValueReport, f: dict[str, Any]) -> None:
    sheet = workbook.add_worksheet("Summary")
    sheet.set_column(0, 0, 48)
    sheet.set_column(1, 1, 18)
    sheet.write(0, 0, f"Value report as of {report.as_of.isoformat()}", f["title"])
    negative = report.negative_contribution
    rows: list[tuple[str, float | int | None, str]] = [
        ("Customers", report.customers, "int"),
        ("Revenue", report.revenue, "money"),
        ("Margin", report.margin, "money"),
        ("Revenue without a recorded margin", report.revenue_without_margin, "money"),
        ("Cost to serve", report.cost_to_serve, "money"),
        ("Contribution", report.contribution, "money"),
        ("Share of the margin made by the top 20% of customers", report.top20_margin_share, "pct"),
        (
            "Share of converted referrals brought by the top 20% of referrers",
            report.top20_referral_share,
            "pct",
        ),
        ("Customers with negative contribution", negative.customers, "int"),
        ("Their share of customers", negative.share, "pct"),
        ("Their total contribution", negative.total, "money"),
    ]
    for i, (label, value, kind) in enumerate(rows, start=2):
        sheet.write(i, 0, label)
        if value is None:
            sheet.write(i, 1, "n/a")
        else:
            sheet.write_number(i, 1, value, f[kind])


def _tiers(workbook: Any, report: ValueReport, f: dict[str, Any]) -> None:
    sheet = workbook.add_worksheet("Tiers")
    header = ["tier", "customers", "revenue", "margin", "cost to serve", "contribution", "share"]
    sheet.write_row(0, 0, header, f["bold"])
    sheet.set_column(1, 6, 15)
    for i, tier in enumerate(report.tiers, start=1):
        sheet.write(i, 0, tier.tier)
        sheet.write_number(i, 1, tier.customers, f["int"])
        for col, value in enumerate(
            (tier.revenue, tier.margin, tier.cost_to_serve, tier.contribution), start=2
        ):
            sheet.write_number(i, col, value, f["money"])
        if tier.contribution_share is not None:
            sheet.write_number(i, 6, tier.contribution_share, f["pct"])
    last = len(report.tiers)
    chart = workbook.add_chart({"type": "column"})
    chart.add_series(
        {
            "name": "Contribution",
            "categories": ["Tiers", 1, 0, last, 0],
            "values": ["Tiers", 1, 5, last, 5],
        }
    )
    chart.set_title({"name": "Contribution per value tier"})
    chart.set_legend({"none": True})
    chart.set_y_axis({"num_format": "#,##0"})
    sheet.insert_chart(last + 3, 0, chart)


def _curve(workbook: Any, report: ValueReport, f: dict[str, Any]) -> None:
    sheet = workbook.add_worksheet("Curve")
    sheet.write_row(0, 0, ["share of customers", "cumulative share of contribution"], f["bold"])
    sheet.set_column(0, 1, 22)
    points = [(0.0, 0.0), *((p.customer_share, p.contribution_share) for p in report.curve)]
    for i, (x, y) in enumerate(points, start=1):
        sheet.write_number(i, 0, x, f["pct"])
        if y is not None:
            sheet.write_number(i, 1, y, f["pct"])
    last = len(points)
    chart = workbook.add_chart({"type": "scatter", "subtype": "straight"})
    chart.add_series(
        {
            "name": "Cumulative contribution",
            "categories": ["Curve", 1, 0, last, 0],
            "values": ["Curve", 1, 1, last, 1],
        }
    )
    chart.set_title({"name": "Cumulative contribution curve"})
    chart.set_x_axis({"name": "share of customers", "num_format": "0%", "min": 0, "max": 1})
    chart.set_y_axis({"name": "cumulative share of contribution", "num_format": "0%"})
    chart.set_legend({"none": True})
    sheet.insert_chart(1, 3, chart)
