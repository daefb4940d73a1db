"""The list scoring report as an Excel workbook with native (editable) Excel charts.

Sheets: **Summary** (coverage, cut-offs and how they were chosen, a chart of the three levels),
**Contacts** (every contact of the list, one row each), **Unmatched** (the contacts no customer
matched, with the reason), and when the list was scored before with the same model,
**Changes** (per contact: the previous and current score and level) and **Dynamics** (every run:
contacts per level and mean score, with two charts).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter

from clientela.exports._workbook import workbook_target
from clientela.exports._xlsx_rows import BulkRows, append_rows
from clientela.scoring.lists import LEVELS, ScoreListResult, ScoreListSummary

__all__ = ["write_list_workbook"]

log = logging.getLogger(__name__)

_SOURCES = {
    "model": "the model's levels",
    "terciles": "the terciles of the scored contacts' scores",
    "options": "given with --high / --medium",
    "none": "none (nothing was scored)",
}
_LEVEL_COLOURS = {"high": "#2E7D32", "medium": "#F9A825", "low": "#9E9E9E"}
# (header, column of ScoreListResult.contacts, kind, width)
_CONTACT_COLUMNS = (
    ("contact", "contact", "text", 30),
    ("e-mail", "email", "text", 28),
    ("phone", "phone", "text", 16),
    ("line", "line", "int", 7),
    ("status", "status", "text", 10),
    ("matched customer", "customer_id", "text", 16),
    ("profile", "profile_id", "text", 16),
    ("matched on", "matched_on", "text", 12),
    ("score", "score", "score", 9),
    ("level", "level", "text", 8),
    ("top reasons", "reasons", "text", 70),
)
_UNMATCHED_COLUMNS = (
    ("contact", "contact", "text", 30),
    ("e-mail as read", "email_raw", "text", 28),
    ("phone as read", "phone_raw", "text", 18),
    ("line", "line", "int", 7),
    ("rows merged", "rows", "int", 8),
    ("reason", "reasons", "text", 60),
)
_CHANGE_COLUMNS = (
    ("contact", "contact", "text", 30),
    ("previous score", "previous_score", "score", 10),
    ("previous level", "previous_level", "text", 10),
    ("score", "score", "score", 9),
    ("level", "level", "text", 8),
    ("change", "change", "score", 9),
    ("movement", "movement", "text", 12),
)


def write_list_workbook(result: ScoreListResult, path: str | Path) -> Path:
    """Write ``result`` to ``path`` (an .xlsx file)."""
    target = workbook_target(path)
    workbook = xlsxwriter.Workbook(str(target))
    bulk: list[tuple[Any, BulkRows]] = []
    try:
        formats = {
            "bold": workbook.add_format({"bold": True}),
            "title": workbook.add_format({"bold": True, "font_size": 14}),
            "int": workbook.add_format({"num_format": "#,##0"}),
            "score": workbook.add_format({"num_format": "0.00"}),
            "pct": workbook.add_format({"num_format": "0.0%"}),
            "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
            "time": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
            "wrap": workbook.add_format({"text_wrap": True, "valign": "top"}),
            "text": None,
        }
        summary = result.summary
        _summary_sheet(workbook, summary, formats)
        contacts = result.contacts
        bulk.append(_table_sheet(workbook, "Contacts", contacts, _CONTACT_COLUMNS, formats))
        unmatched = contacts.filter(pc.equal(contacts.column("status"), "unmatched"))
        bulk.append(_table_sheet(workbook, "Unmatched", unmatched, _UNMATCHED_COLUMNS, formats))
        if summary.previous_run is not None:
            bulk.append(_table_sheet(workbook, "Changes", contacts, _CHANGE_COLUMNS, formats))
            _dynamics_sheet(workbook, result, formats)
    finally:
        workbook.close()
    # The column formats have their style numbers once the workbook is closed.
    append_rows(
        target,
        [
            replace(rows, styles=[None if fmt is None else fmt.xf_index for fmt in fmts])
            for fmts, rows in bulk
        ],
    )
    log.info("wrote the list scoring report to %s", target)
    return target


def _summary_sheet(workbook: Any, s: ScoreListSummary, f: dict[str, Any]) -> None:
    sheet = workbook.add_worksheet("Summary")
    sheet.set_column(0, 0, 46)
    sheet.set_column(1, 1, 30)
    sheet.set_column(2, 2, 12)
    sheet.write_string(0, 0, f"List scoring: {s.list_name}", f["title"])
    info: list[tuple[str, Any, str]] = [
        ("File", s.file, "text"),
        ("Model (version)", f"{s.model} (version {s.version})", "text"),
        ("Scored as of", s.as_of, "date"),
        ("Scored at (UTC)", s.scored_at, "time"),
        ("Run", s.run_id, "text"),
        ("E-mail columns", ", ".join(s.email_columns) or "none", "text"),
        ("Phone columns", ", ".join(s.phone_columns) or "none", "text"),
        ("Phones without country code read in region", s.region, "text"),
        ("Profile filters", s.filters, "text"),
        ("Rows read", s.rows, "int"),
        ("Duplicate rows merged", s.duplicates, "int"),
        ("Contacts", s.contacts, "int"),
        ("Matched to a customer", s.matched, "int"),
        ("Unmatched (see the Unmatched sheet)", s.unmatched, "int"),
        ("Excluded by the profile filters", s.excluded, "int"),
        ("Scored", s.scored, "int"),
        ("Coverage: share of contacts matched and scored", s.coverage, "pct"),
        ("Level cut-offs chosen from", _SOURCES[s.cutoffs_source], "text"),
    ]
    if s.cutoffs is not None:
        info.append(("High from score", s.cutoffs.high, "score"))
        info.append(("Medium from score (low below)", s.cutoffs.medium, "score"))
    if s.previous_run is not None:
        info.append(("Previous run of this list and model", s.previous_run, "text"))
        for movement, count in s.changes.items():
            info.append((f"Contacts {movement} since the previous run", count, "int"))
    row = 2
    for label, value, kind in info:
        sheet.write_string(row, 0, label)
        _write(sheet, row, 1, value, kind, f)
        row += 1
    for note in s.warnings:
        sheet.write_string(row, 0, "Note")
        sheet.write_string(row, 1, note)
        row += 1

    row += 1
    first = row + 1
    sheet.write_row(row, 0, ["level", "contacts", "share"], f["bold"])
    for i, level in enumerate(LEVELS, start=first):
        count = s.levels.get(level, 0)
        sheet.write_string(i, 0, level)
        sheet.write_number(i, 1, count, f["int"])
        sheet.write_number(i, 2, count / s.scored if s.scored else 0.0, f["pct"])
    last = first + len(LEVELS) - 1
    chart = workbook.add_chart({"type": "column"})
    chart.add_series(
        {
            "name": "Contacts",
            "categories": ["Summary", first, 0, last, 0],
            "values": ["Summary", first, 1, last, 1],
            "points": [{"fill": {"color": _LEVEL_COLOURS[level]}} for level in LEVELS],
            "data_labels": {"value": True},
        }
    )
    chart.set_title({"name": "Scored contacts per interest level"})
    chart.set_legend({"none": True})
    chart.set_y_axis({"name": "contacts", "num_format": "#,##0"})
    sheet.insert_chart(2, 3, chart)


def _write(sheet: Any, row: int, col: int, value: Any, kind: str, f: dict[str, Any]) -> None:
    if value is None:
        return
    if kind in ("int", "score", "pct"):
        sheet.write_number(row, col, value, f[kind])
    elif kind == "date":
        sheet.write_datetime(row, col, value, f["date"])
    elif kind == "time":
        sheet.write_datetime(row, col, value, f["time"])
    else:
        sheet.write_string(row, col, str(value))


def _table_sheet(
    workbook: Any,
    name: str,
    table: pa.Table,
    columns: Sequence[tuple[str, str, str, int]],
    f: dict[str, Any],
) -> tuple[Any, BulkRows]:
    """A sheet with one row per table row: the header now, the rows once the file is closed."""
    sheet = workbook.add_worksheet(name)
    numeric = [kind != "text" for _, _, kind, _ in columns]
    formats = [f["int" if kind == "int" else "score"] if kind != "text" else None
               for _, _, kind, _ in columns]  # fmt: skip
    for col, ((_, _, _, width), cell_format) in enumerate(zip(columns, formats, strict=True)):
        sheet.set_column(col, col, width, cell_format)
    sheet.write_row(0, 0, [header for header, _, _, _ in columns], f["bold"])
    sheet.freeze_panes(1, 0)
    if table.num_rows:
        sheet.autofilter(0, 0, table.num_rows, len(columns) - 1)
    values = [table.column(source).to_pylist() for _, source, _, _ in columns]
    return formats, BulkRows(sheet.index, 1, values, numeric, [None] * len(columns))


def _dynamics_sheet(workbook: Any, result: ScoreListResult, f: dict[str, Any]) -> None:
    sheet = workbook.add_worksheet("Dynamics")
    headers = ["run", "scored at (UTC)", "as of", "version", "contacts", "matched", "high",
               "medium", "low", "mean score"]  # fmt: skip
    sheet.write_row(0, 0, headers, f["bold"])
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, 2, 16)
    sheet.set_column(3, 9, 10)
    for r, run in enumerate(result.history, start=1):
        sheet.write_string(r, 0, run.run_id)
        sheet.write_datetime(r, 1, run.scored_at, f["time"])
        sheet.write_datetime(r, 2, run.as_of, f["date"])
        for c, value in enumerate(
            (run.version, run.contacts, run.matched, run.high, run.medium, run.low), start=3
        ):
            sheet.write_number(r, c, value, f["int"])
        if run.mean_score is not None:
            sheet.write_number(r, 9, run.mean_score, f["score"])
    last = len(result.history)
    levels = workbook.add_chart({"type": "column", "subtype": "stacked"})
    for offset, level in enumerate(LEVELS):
        col = 6 + offset
        levels.add_series(
            {
                "name": ["Dynamics", 0, col],
                "categories": ["Dynamics", 1, 1, last, 1],
                "values": ["Dynamics", 1, col, last, col],
                "fill": {"color": _LEVEL_COLOURS[level]},
            }
        )
    levels.set_title({"name": "Contacts per level, run by run"})
    levels.set_x_axis({"name": "run (scored at)", "num_format": "yyyy-mm-dd hh:mm"})
    levels.set_y_axis({"name": "contacts", "num_format": "#,##0"})
    sheet.insert_chart(last + 3, 0, levels)
    mean = workbook.add_chart({"type": "line"})
    mean.add_series(
        {
            "name": "Mean score",
            "categories": ["Dynamics", 1, 1, last, 1],
            "values": ["Dynamics", 1, 9, last, 9],
            "marker": {"type": "circle"},
        }
    )
    mean.set_title({"name": "Mean score of the scored contacts, run by run"})
    mean.set_x_axis({"name": "run (scored at)", "num_format": "yyyy-mm-dd hh:mm"})
    mean.set_legend({"none": True})
    sheet.insert_chart(last + 3, 6, mean)
