"""A campaign's results against its control group, as an Excel workbook with native charts and as
one self-contained HTML page with inline SVG charts (no script, no external file).

Workbook sheets: **Summary** (uplift, its interval and test, incremental revenue and margin,
cost and ROI, the attribution), **Groups** (target and control with a chart of their rates) and
one sheet per breakdown (segment, tier, decile) with a chart of the rates of both groups.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xlsxwriter

from clientela.exports._workbook import html_target, workbook_target
from clientela.services.campaign_results import BreakdownRow, CampaignResults

__all__ = ["results_html", "write_results_html", "write_results_workbook"]

log = logging.getLogger(__name__)

_TARGET, _CONTROL, _INK, _GRID = "#1565C0", "#9E9E9E", "#212121", "#E0E0E0"


def _summary_rows(results: CampaignResults) -> list[tuple[str, Any, str]]:
    """(label, value, kind) where kind is pct, money, int, ratio or text."""
    a = results.attribution
    return [
        ("Campaign", results.campaign, "text"),
        ("Contacts and purchases before", results.as_of.isoformat(), "text"),
        ("Response window (days)", a.window_days, "int"),
        ("Purchases kept per contact", a.attribution, "text"),
        ("Purchases that count", a.attribute_by, "text"),
        ("Positive responses", ", ".join(results.positive_kinds), "text"),
        ("Target customers", results.target.customers, "int"),
        ("Control customers", results.control.customers, "int"),
        ("Target response rate", results.target.rate, "pct"),
        ("Control response rate", results.control.rate, "pct"),
        ("Uplift", results.uplift, "pct"),
        (f"Uplift, low end ({results.interval})", results.ci_low, "pct"),
        (f"Uplift, high end ({results.interval})", results.ci_high, "pct"),
        ("z (two-proportion test)", results.z, "ratio"),
        ("p-value", results.p_value, "ratio"),
        ("Conversion uplift", results.conversion_uplift, "pct"),
        ("Incremental responders", results.incremental_responders, "ratio"),
        ("Incremental revenue", results.incremental_revenue, "money"),
        ("Incremental margin", results.incremental_margin, "money"),
        ("Contacts", results.contacted, "int"),
        ("Cost", results.cost, "money"),
        ("Return on investment", results.roi, "pct"),
        ("Responses loaded", a.loaded_responses, "int"),
        ("Responses matched to a contact", a.matched_responses, "int"),
        ("Responses matching no contact (kept)", a.unmatched_responses, "int"),
        ("Purchases attributed (target)", a.attributed_target, "int"),
        ("Purchases attributed (control)", a.attributed_control, "int"),
    ]


# -- Excel -----------------------------------------------------------------------------------
def write_results_workbook(results: CampaignResults, path: str | Path) -> Path:
    """Write the results to ``path`` (an .xlsx file)."""
    target = workbook_target(path)
    workbook = xlsxwriter.Workbook(str(target))
    try:
        f = {
            "bold": workbook.add_format({"bold": True}),
            "title": workbook.add_format({"bold": True, "font_size": 14}),
            "int": workbook.add_format({"num_format": "#,##0"}),
            "ratio": workbook.add_format({"num_format": "0.0000"}),
            "pct": workbook.add_format({"num_format": "0.00%"}),
            "money": workbook.add_format({"num_format": "#,##0.00"}),
        }
        _summary_sheet(workbook, results, f)
        _groups_sheet(workbook, results, f)
        for by, rows in results.breakdowns.items():
            _breakdown_sheet(workbook, by, rows, f)
    finally:
        workbook.close()
    log.info("wrote the results of %s to %s", results.campaign, target)
    return target


def _summary_sheet(workbook: Any, results: CampaignResults, f: dict[str, Any]) -> None:
    sheet = workbook.add_worksheet("Summary")
    sheet.set_column(0, 0, 52)
    sheet.set_column(1, 1, 24)
    sheet.write_string(0, 0, f"Campaign {results.campaign}: results against control", f["title"])
    for row, (label, value, kind) in enumerate(_summary_rows(results), start=2):
        sheet.write_string(row, 0, label)
        if value is None:
            sheet.write_blank(row, 1, None)
        elif kind == "text":
            sheet.write_string(row, 1, str(value))
        else:
            sheet.write_number(row, 1, value, f[kind])


def _groups_sheet(workbook: Any, results: CampaignResults, f: dict[str, Any]) -> None:
    sheet = workbook.add_worksheet("Groups")
    header = ["group", "customers", "responders", "response rate", "converters",
              "conversion rate", "revenue", "margin", "revenue per customer"]  # fmt: skip
    sheet.write_row(0, 0, header, f["bold"])
    sheet.set_column(0, 8, 16)
    for row, (label, g) in enumerate((("target", results.target), ("control", results.control)), 1):
        sheet.write_string(row, 0, label)
        sheet.write_number(row, 1, g.customers, f["int"])
        sheet.write_number(row, 2, g.responders, f["int"])
        _number(sheet, row, 3, g.rate, f["pct"])
        sheet.write_number(row, 4, g.converters, f["int"])
        _number(sheet, row, 5, g.conversion_rate, f["pct"])
        sheet.write_number(row, 6, g.revenue, f["money"])
        sheet.write_number(row, 7, g.margin, f["money"])
        _number(sheet, row, 8, g.revenue_per_customer, f["money"])
    chart = workbook.add_chart({"type": "column"})
    for col, name in ((3, "Response rate"), (5, "Conversion rate")):
        chart.add_series(
            {
                "name": name,
                "categories": ["Groups", 1, 0, 2, 0],
                "values": ["Groups", 1, col, 2, col],
                "data_labels": {"value": True, "num_format": "0.0%"},
            }
        )
    chart.set_title({"name": "Target against control"})
    chart.set_y_axis({"num_format": "0%", "min": 0})
    sheet.insert_chart(4, 0, chart)


def _number(sheet: Any, row: int, col: int, value: float | None, fmt: Any) -> None:
    if value is None:
        sheet.write_blank(row, col, None)
    else:
        sheet.write_number(row, col, value, fmt)


def _breakdown_sheet(workbook: Any, by: str, rows: list[BreakdownRow], f: dict[str, Any]) -> None:
    name = f"By {by}"
    sheet = workbook.add_worksheet(name)
    header = [by, "target customers", "target rate", "control customers", "control rate",
              "uplift", "ci low", "ci high", "p-value", "incremental revenue"]  # fmt: skip
    sheet.write_row(0, 0, header, f["bold"])
    sheet.set_column(0, 9, 16)
    sheet.freeze_panes(1, 0)
    for i, r in enumerate(rows, start=1):
        sheet.write_string(i, 0, r.key)
        sheet.write_number(i, 1, r.target.customers, f["int"])
        _number(sheet, i, 2, r.target.rate, f["pct"])
        sheet.write_number(i, 3, r.control.customers, f["int"])
        _number(sheet, i, 4, r.control.rate, f["pct"])
        _number(sheet, i, 5, r.uplift, f["pct"])
        _number(sheet, i, 6, r.ci_low, f["pct"])
        _number(sheet, i, 7, r.ci_high, f["pct"])
        _number(sheet, i, 8, r.p_value, f["ratio"])
        _number(sheet, i, 9, r.incremental_revenue, f["money"])
    if not rows:
        return
    chart = workbook.add_chart({"type": "column"})
    for col, label, colour in ((2, "Target", _TARGET), (4, "Control", _CONTROL)):
        chart.add_series(
            {
                "name": label,
                "categories": [name, 1, 0, len(rows), 0],
                "values": [name, 1, col, len(rows), col],
                "fill": {"color": colour},
            }
        )
    chart.set_title({"name": f"Response rate by {by}"})
    chart.set_y_axis({"num_format": "0%", "min": 0})
    chart.set_size({"width": max(480, 60 * len(rows) + 160), "height": 300})
    sheet.insert_chart(len(rows) + 3, 0, chart)


# -- HTML ------------------------------------------------------------------------------------
_STYLE = """
body { font-family: system-ui, sans-serif; color: #212121; margin: 2em auto; max-width: 1000px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #E0E0E0; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 0.5em 0; } figcaption { font-weight: bold; margin-bottom: 0.3em; }
.legend span { display: inline-block; width: 0.9em; height: 0.9em; margin: 0 0.3em 0 1em; }
svg text { font-size: 11px; fill: #212121; }
"""


def _format(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "pct":
        return f"{value:.2%}"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "int":
        return f"{value:,}"
    if kind == "ratio":
        return f"{value:.4g}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _rate_bars(title: str, groups: Sequence[tuple[str, float | None, float | None]]) -> str:
    """Grouped bars: each key's target and control rate (a percentage axis from 0)."""
    left, bottom, top, height = 56, 40, 16, 260
    slot = 70
    width = left + slot * max(len(groups), 1) + 16
    high = max([v or 0.0 for _, t, c in groups for v in (t, c)] + [0.01]) * 1.15
    plot = height - top - bottom
    digits = 0 if high >= 0.2 else 1 if high >= 0.02 else 2

    def y(value: float) -> float:
        return height - bottom - value / high * plot

    parts = []
    for i in range(5):
        value = high * i / 4
        parts.append(
            f'<line x1="{left}" y1="{y(value):.1f}" x2="{width - 16}" y2="{y(value):.1f}" '
            f'stroke="{_GRID}"/><text x="{left - 6}" y="{y(value) + 4:.1f}" '
            f'text-anchor="end">{value:.{digits}%}</text>'
        )
    for i, (key, target, control) in enumerate(groups):
        x = left + i * slot + 8
        for offset, rate, colour in ((0, target, _TARGET), (26, control, _CONTROL)):
            if rate is None:
                continue
            parts.append(
                f'<rect x="{x + offset}" y="{y(rate):.1f}" width="24" '
                f'height="{height - bottom - y(rate):.1f}" fill="{colour}">'
                f"<title>{html.escape(key)}: {rate:.2%}</title></rect>"
            )
        parts.append(
            f'<text x="{x + 25}" y="{height - bottom + 16}" text-anchor="middle">'
            f"{html.escape(key[:12])}</text>"
        )
    parts.append(
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 16}" y2="{height - bottom}" '
        f'stroke="{_INK}"/>'
    )
    legend = (
        f'<div class="legend"><span style="background:{_TARGET}"></span>target'
        f'<span style="background:{_CONTROL}"></span>control</div>'
    )
    return (
        f"<figure><figcaption>{html.escape(title)}</figcaption>{legend}"
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">'
        + "".join(parts)
        + "</svg></figure>"
    )


def _uplift_chart(rows: Sequence[tuple[str, float | None, float | None, float | None]]) -> str:
    """Each key's uplift as a dot with its 95% interval as a bar, around a zero line."""
    shown = [r for r in rows if r[1] is not None]
    label_width, row_height, width = 130, 22, 560
    height = 30 + row_height * max(len(shown), 1)
    ends = [abs(v) for row in shown for v in row[1:] if v is not None] + [0.01]
    span = max(ends) * 1.1
    plot = width - label_width - 20

    def x(value: float) -> float:
        return label_width + (value + span) / (2 * span) * plot

    parts = [
        f'<line x1="{x(0):.1f}" y1="4" x2="{x(0):.1f}" y2="{height - 20}" stroke="{_INK}"/>',
        f'<text x="{x(-span):.1f}" y="{height - 6}">{-span:+.0%}</text>',
        f'<text x="{x(span):.1f}" y="{height - 6}" text-anchor="end">{span:+.0%}</text>',
    ]
    for i, (key, uplift, low, high) in enumerate(shown):
        assert uplift is not None
        cy = 14 + i * row_height
        parts.append(
            f'<text x="{label_width - 6}" y="{cy + 4}" text-anchor="end">{html.escape(key)}</text>'
        )
        if low is not None and high is not None:
            parts.append(
                f'<line x1="{x(low):.1f}" y1="{cy}" x2="{x(high):.1f}" y2="{cy}" '
                f'stroke="{_CONTROL}" stroke-width="4"/>'
            )
        parts.append(
            f'<circle cx="{x(uplift):.1f}" cy="{cy}" r="4" fill="{_TARGET}">'
            f"<title>{html.escape(key)}: {uplift:+.2%}</title></circle>"
        )
    title = "Uplift with its 95% confidence interval"
    return (
        f"<figure><figcaption>{html.escape(title)}</figcaption>"
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{title}">'
        + "".join(parts)
        + "</svg></figure>"
    )


def results_html(results: CampaignResults) -> str:
    """The page as text: the summary, the groups, each breakdown with its charts."""
    title = f"Campaign {results.campaign}: results against control"
    summary = _table(["", ""], [(label, _format(v, k)) for label, v, k in _summary_rows(results)])
    groups = _table(
        ["group", "customers", "responders", "response rate", "converters", "conversion rate",
         "revenue", "margin"],
        [(label, f"{g.customers:,}", f"{g.responders:,}", _format(g.rate, "pct"),
          f"{g.converters:,}", _format(g.conversion_rate, "pct"), _format(g.revenue, "money"),
          _format(g.margin, "money"))
         for label, g in (("target", results.target), ("control", results.control))],
    )  # fmt: skip
    charts = _rate_bars(
        "Response and conversion rates",
        [
            ("response", results.target.rate, results.control.rate),
            ("conversion", results.target.conversion_rate, results.control.conversion_rate),
        ],
    )
    overall = [("overall", results.uplift, results.ci_low, results.ci_high)]
    sections = []
    for by, rows in results.breakdowns.items():
        table = _table(
            [by, "target", "target rate", "control", "control rate", "uplift", "95% CI",
             "p-value"],
            [(r.key, f"{r.target.customers:,}", _format(r.target.rate, "pct"),
              f"{r.control.customers:,}", _format(r.control.rate, "pct"),
              _format(r.uplift, "pct"),
              "" if r.ci_low is None or r.ci_high is None
              else f"{r.ci_low:+.2%} to {r.ci_high:+.2%}",
              _format(r.p_value, "ratio")) for r in rows],
        )  # fmt: skip
        bars = _rate_bars(
            f"Response rate by {by}", [(r.key, r.target.rate, r.control.rate) for r in rows]
        )
        intervals = _uplift_chart(
            [*overall, *((r.key, r.uplift, r.ci_low, r.ci_high) for r in rows)]
        )
        sections.append(f"<h2>By {html.escape(by)}</h2>{bars}{intervals}{table}")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        + summary
        + "<h2>Target and control</h2>"
        + charts
        + _uplift_chart(overall)
        + groups
        + "".join(sections)
        + "</body></html>\n"
    )


def write_results_html(results: CampaignResults, path: str | Path) -> Path:
    """Write the page to ``path`` (an .html file)."""
    target = html_target(path)
    target.write_text(results_html(results), encoding="utf-8")
    log.info("wrote the results of %s to %s", results.campaign, target)
    return target
