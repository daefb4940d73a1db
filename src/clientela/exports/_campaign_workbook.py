"""The call-centre list as an Excel workbook: one sheet of calls, one sheet of offers.

**Calls** holds one row per planned call in the CSV's order (planned day, then priority), with
readable headers, the header row and the customer columns frozen, a filter and column widths an
agent can read without resizing.  **Offers** holds every offer of the campaign with the number of
calls that carry it, its sales arguments (one per line) and its script.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter

from clientela.exports._xlsx_rows import BulkRows, append_rows

if TYPE_CHECKING:
    from clientela.exports.campaign_files import ChannelOffer

__all__ = ["ARGUMENT_SEPARATOR", "CALL_SHEET_COLUMNS", "write_call_workbook"]

# Between an offer's sales arguments in the call list's ``arguments`` column; the workbook
# shows them as bullets, one per line.
ARGUMENT_SEPARATOR = " | "

# (column of the call table, header, kind, width)
CALL_SHEET_COLUMNS: tuple[tuple[str, str, str, int], ...] = (
    ("planned_for", "planned for", "date", 11),
    ("priority", "priority", "number", 9),
    ("name", "name", "text", 24),
    ("phone", "phone", "text", 16),
    ("offer", "offer", "text", 22),
    ("script", "script", "wrap", 50),
    ("arguments", "arguments", "wrap", 40),
    ("city", "city", "text", 14),
    ("value_tier", "value tier", "text", 10),
    ("rfm_segment", "RFM segment", "text", 16),
    ("last_purchase", "last purchase", "date", 12),
    ("revenue_12m", "revenue 12 months", "money", 12),
    ("orders_12m", "orders 12 months", "int", 9),
    ("open_issues", "open issues", "int", 8),
    ("newest_issue", "newest open issue", "wrap", 36),
    ("consent", "phone consent", "text", 11),
    ("predictive_score", "predictive score", "text", 24),
    ("score_reasons", "top score reasons", "wrap", 48),
    ("rule_score", "rule score", "text", 22),
    ("customer_id", "customer", "text", 14),
    ("profile_id", "profile", "text", 14),
    ("offer_id", "offer id", "text", 12),
    ("contact_id", "contact id", "text", 20),
)
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def write_call_workbook(
    calls: pa.Table,
    offers: Mapping[str, ChannelOffer],
    path: Path,
    *,
    campaign: str,
    as_of: dt.date,
) -> Path:
    """Write ``calls`` (the call list's columns) to the workbook ``path``."""
    workbook = xlsxwriter.Workbook(str(path))
    try:
        bold = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        formats: dict[str, Any] = {
            "date": workbook.add_format({"num_format": "yyyy-mm-dd", "valign": "top"}),
            "number": workbook.add_format({"num_format": "0.00", "valign": "top"}),
            "money": workbook.add_format({"num_format": "#,##0.00", "valign": "top"}),
            "int": workbook.add_format({"num_format": "#,##0", "valign": "top"}),
            "wrap": workbook.add_format({"text_wrap": True, "valign": "top"}),
            "text": workbook.add_format({"valign": "top"}),
        }
        sheet = workbook.add_worksheet("Calls")
        cell_formats = [formats[kind] for _, _, kind, _ in CALL_SHEET_COLUMNS]
        for col, ((_, _, _, width), cell_format) in enumerate(
            zip(CALL_SHEET_COLUMNS, cell_formats, strict=True)
        ):
            sheet.set_column(col, col, width, cell_format)
        sheet.write_row(0, 0, [header for _, header, _, _ in CALL_SHEET_COLUMNS], bold)
        # The day, priority, name and phone stay in view while the agent scrolls right.
        sheet.freeze_panes(1, 4)
        sheet.autofilter(0, 0, calls.num_rows, len(CALL_SHEET_COLUMNS) - 1)
        sheet.set_landscape()
        sheet.repeat_rows(0)
        calls_index = sheet.index
        _offers_sheet(workbook, calls, offers, bold, formats["wrap"], campaign, as_of)
    finally:
        workbook.close()
    calls = calls.set_column(
        calls.schema.get_field_index("arguments"), "arguments", _bulleted(calls["arguments"])
    )
    values = [_cells(calls.column(column), kind) for column, _, kind, _ in CALL_SHEET_COLUMNS]
    numeric = [kind in ("date", "number", "money", "int") for _, _, kind, _ in CALL_SHEET_COLUMNS]
    styles = [fmt.xf_index for fmt in cell_formats]
    append_rows(path, [BulkRows(calls_index, 1, values, numeric, styles)])
    return path


def _bulleted(arguments: pa.ChunkedArray) -> pa.ChunkedArray:
    """``a | b`` as ``• a`` and ``• b`` on two lines of the cell."""
    lines = pc.replace_substring(arguments, ARGUMENT_SEPARATOR, "\n• ")
    bulleted: pa.ChunkedArray = pc.binary_join_element_wise("• ", lines, "")
    return bulleted


def _cells(column: pa.ChunkedArray, kind: str) -> list[Any]:
    """A column's cell values: dates as Excel serial day numbers, the rest as they are."""
    if kind == "date":
        days = pc.cast(pc.cast(column, pa.date32()), pa.int32())
        serial = pc.add(days, (dt.date(1970, 1, 1) - _EXCEL_EPOCH).days)
        values: list[Any] = serial.to_pylist()
        return values
    if kind in ("number", "money"):
        column = pc.cast(column, pa.float64())
    elif kind == "int":
        column = pc.cast(column, pa.int64())
    cells: list[Any] = column.to_pylist()
    return cells


def _offers_sheet(
    workbook: Any,
    calls: pa.Table,
    offers: Mapping[str, ChannelOffer],
    bold: Any,
    wrap: Any,
    campaign: str,
    as_of: dt.date,
) -> None:
    sheet = workbook.add_worksheet("Offers")
    headers = ["offer id", "offer", "calls", "arguments", "script"]
    widths = [14, 26, 8, 50, 70]
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    sheet.write_row(0, 0, headers, bold)
    sheet.freeze_panes(1, 0)
    counts = {
        str(item["values"]): int(item["counts"])
        for item in pc.value_counts(calls.column("offer_id")).to_pylist()
        if item["values"] is not None
    }
    row = 1
    for offer in offers.values():
        sheet.write_string(row, 0, offer.offer_id, wrap)
        sheet.write_string(row, 1, offer.name, wrap)
        sheet.write_number(row, 2, counts.pop(offer.offer_id, 0))
        sheet.write_string(row, 3, "\n".join(f"• {a}" for a in offer.arguments), wrap)
        sheet.write_string(row, 4, offer.script or "", wrap)
        row += 1
    for offer_id, count in sorted(counts.items()):
        # Offers the contact history names but the campaign no longer describes.
        sheet.write_string(row, 0, offer_id, wrap)
        sheet.write_string(row, 1, "(not described in the campaign)", wrap)
        sheet.write_number(row, 2, count)
        row += 1
    sheet.write_string(row + 1, 0, f"Campaign {campaign}, as of {as_of.isoformat()}")
