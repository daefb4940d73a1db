"""Many rows into a workbook that xlsxwriter wrote: the data of big sheets, ten times faster.

xlsxwriter spends about 10 µs per cell building its XML, so a sheet of 100,000 contacts takes
over ten seconds.  The report's big sheets are therefore written by xlsxwriter with their header,
column formats, frozen panes and filter only; once the workbook is closed, :func:`append_rows`
adds the data rows to those sheets' XML (inline strings and numbers, as xlsxwriter writes them
in its constant-memory mode) and rewrites the package.  Charts, styles and everything else stay
xlsxwriter's.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["BulkRows", "append_rows", "column_letter", "frame_sheet"]

# XML 1.0 forbids these control characters; Excel writes them as _xHHHH_ (as xlsxwriter does).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_DIMENSION = re.compile(r'<dimension ref="[^"]*"/>')
_MAX_TEXT = 32_767  # characters in an Excel cell


@dataclass(frozen=True)
class BulkRows:
    """Rows to append to one sheet: values by column, each column text or numbers."""

    sheet_index: int  # the worksheet's position (xl/worksheets/sheet<index + 1>.xml)
    first_row: int  # zero-based row of the first value
    columns: Sequence[Sequence[Any]]
    numeric: Sequence[bool]
    styles: Sequence[int | None]  # cell style (xf index) per column

    @property
    def rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _inline(value: Any) -> str:
    """An inline string cell's content."""
    text = str(value)[:_MAX_TEXT]
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if _CONTROL.search(escaped):
        escaped = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", escaped)
    if text[:1].isspace() or text[-1:].isspace():
        return f'<is><t xml:space="preserve">{escaped}</t></is>'
    return f"<is><t>{escaped}</t></is>"


def _number(value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return f"<v>{value!r}</v>"


def _rows_xml(bulk: BulkRows) -> str:
    # Each column's cell contents first (one pass per column), then the rows around them.
    contents = [
        [None if v is None else _number(v) if numeric else _inline(v) for v in column]
        for column, numeric in zip(bulk.columns, bulk.numeric, strict=True)
    ]
    attributes = [
        (f' s="{style}"' if style else "") + ("" if numeric else ' t="inlineStr"')
        for style, numeric in zip(bulk.styles, bulk.numeric, strict=True)
    ]
    spec = list(
        zip([column_letter(i) for i in range(len(contents))], attributes, contents, strict=True)
    )
    out: list[str] = []
    for r in range(bulk.rows):
        number = bulk.first_row + r + 1
        parts = [f'<row r="{number}">']
        for letter, attribute, content in spec:
            cell = content[r]
            if cell is not None:
                parts.append(f'<c r="{letter}{number}"{attribute}>{cell}</c>')
        parts.append("</row>")
        out.append("".join(parts))
    return "".join(out)


def append_rows(path: Path, sheets: Sequence[BulkRows]) -> None:
    """Append each ``BulkRows`` to its sheet in the closed workbook at ``path``."""
    if not sheets:
        return
    by_member = {f"xl/worksheets/sheet{bulk.sheet_index + 1}.xml": bulk for bulk in sheets}
    scratch = path.with_name(path.name + ".tmp")
    with (
        zipfile.ZipFile(path) as source,
        zipfile.ZipFile(scratch, "w", compression=zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            bulk = by_member.get(info.filename)
            if bulk is None:
                target.writestr(info, data)
                continue
            xml = data.decode("utf-8")
            last_row = bulk.first_row + bulk.rows
            last_column = column_letter(max(len(bulk.columns) - 1, 0))
            xml = _DIMENSION.sub(f'<dimension ref="A1:{last_column}{last_row}"/>', xml, count=1)
            rows = _rows_xml(bulk)
            if "</sheetData>" in xml:
                xml = xml.replace("</sheetData>", rows + "</sheetData>", 1)
            else:
                xml = xml.replace("<sheetData/>", f"<sheetData>{rows}</sheetData>", 1)
            target.writestr(
                info.filename, xml.encode("utf-8"), zipfile.ZIP_DEFLATED, compresslevel=1
            )
    scratch.replace(path)


def frame_sheet(
    workbook: Any,
    name: str,
    frame: pd.DataFrame,
    *,
    formats: Mapping[str, Any],
    widths: Mapping[str, int],
    default_width: int,
    numeric: Collection[str],
    freeze: tuple[int, int],
    header: Any,
) -> BulkRows:
    """A sheet ``name`` laid out for ``frame`` in an open xlsxwriter ``workbook`` (header row in
    the ``header`` format, column widths and cell formats by column name, frozen panes, a
    filter), and its rows, to append with :func:`append_rows` once the workbook is closed.
    ``numeric``: the columns written as numbers."""
    columns = [str(c) for c in frame.columns]
    sheet = workbook.add_worksheet(name)
    column_formats = [formats.get(column) for column in columns]
    for col, (column, cell_format) in enumerate(zip(columns, column_formats, strict=True)):
        sheet.set_column(col, col, widths.get(column, default_width), cell_format)
    sheet.write_row(0, 0, columns, header)
    sheet.freeze_panes(*freeze)
    if len(frame):
        sheet.autofilter(0, 0, len(frame), len(columns) - 1)
    values = [frame[c].astype("object").where(frame[c].notna(), None).tolist() for c in columns]
    return BulkRows(
        sheet.index,
        1,
        values,
        [column in numeric for column in columns],
        [None if f is None else f.xf_index for f in column_formats],
    )
