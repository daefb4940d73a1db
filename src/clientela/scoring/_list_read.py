"""Reading a contact list: CSV/TXT (any delimiter and encoding), XLSX or XLS, as raw text.

CSV, TXT and XLSX go through the ingest readers (encoding and delimiter detection, line numbers);
legacy XLS workbooks through ``xlrd``.  A list written without a header (one e-mail per line, say)
is recognised because its first row is itself an e-mail or a phone.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from clientela.datamart.ingest._readers import LINE, InvalidRow, open_source, positional
from clientela.errors import DataError, suggest
from clientela.scoring._list_columns import ListColumns, detect_columns, header_is_data

__all__ = ["RawList", "read_raw_list"]

log = logging.getLogger(__name__)

_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BATCH_ROWS = 200_000
_SAMPLE_ROWS = 200


@dataclass(frozen=True)
class RawList:
    """A list as read: its header, its rows as text and where the contact columns are."""

    file: str
    headers: tuple[str, ...]
    columns: ListColumns
    rows: pa.Table  # s0, s1, ... (text) and __line (line or sheet row of each row)
    has_header: bool = True
    unreadable: tuple[InvalidRow, ...] = field(default_factory=tuple)

    def values(self, index: int) -> list[str | None]:
        result: list[str | None] = self.rows.column(f"s{index}").to_pylist()
        return result

    @property
    def lines(self) -> list[int]:
        result: list[int] = self.rows.column(LINE).to_pylist()
        return result


def read_raw_list(path: str | Path, *, sheet: str | None = None) -> RawList:
    """Read a contact list; DataError when it holds nothing or no e-mail or phone column."""
    file = Path(path)
    name = str(path)
    if not file.exists():
        raise DataError("the list file does not exist", file=name)
    if file.is_dir():
        raise DataError("is a folder, not a contact list", file=name)
    if file.stat().st_size == 0:
        raise DataError("the list is empty: it holds no contacts", file=name)
    with file.open("rb") as handle:
        magic = handle.read(8)
    suffix = file.suffix.lower()
    if magic.startswith(_OLE2):
        headers, rows = _read_xls(file, name, sheet)
        unreadable: list[InvalidRow] = []
    else:
        if magic.startswith(_ZIP) and suffix not in (".xlsx", ".xlsm"):
            raise DataError(
                f"the file is an XLSX workbook but is named '{file.name}': rename it to .xlsx",
                file=name,
            )
        headers, rows, unreadable = _read_with_ingest(file, name, sheet, header=True)
    sample = _sample(rows, len(headers))
    columns = detect_columns(headers, sample)
    has_header = True
    if columns.by_content and header_is_data(headers):
        # No header: the first row is a contact.
        has_header = False
        if magic.startswith(_OLE2):
            rows = _prepend(rows, headers)
        else:
            _, rows, unreadable = _read_with_ingest(
                file, name, sheet, header=False, width=len(headers)
            )
        headers = [f"column {i + 1}" for i in range(len(headers))]
        columns = detect_columns(headers, _sample(rows, len(headers)))
    if not columns.found:
        shown = ", ".join(repr(h) for h in headers) or "none"
        raise DataError(
            "no e-mail or phone column in the list: name a column 'email' or 'phone' (or "
            f"'E-mail Address', 'Mobile Phone', 'Telefon', ...); the columns are: {shown}",
            file=name,
            rule="contact columns",
        )
    if rows.num_rows == 0 and not unreadable:
        raise DataError("the list is empty: it holds no contacts (only a header)", file=name)
    log.info(
        "read %d rows from %s; e-mail columns %s, phone columns %s",
        rows.num_rows,
        name,
        [headers[i] for i in columns.email],
        [headers[i] for i in columns.phone],
    )
    return RawList(
        file=name,
        headers=tuple(headers),
        columns=columns,
        rows=rows,
        has_header=has_header,
        unreadable=tuple(unreadable),
    )


def _sample(rows: pa.Table, width: int) -> list[list[str | None]]:
    head = rows.slice(0, _SAMPLE_ROWS)
    return [head.column(f"s{i}").to_pylist() for i in range(width)]


def _read_with_ingest(
    file: Path, name: str, sheet: str | None, *, header: bool, width: int = 0
) -> tuple[list[str], pa.Table, list[InvalidRow]]:
    source = open_source(
        file,
        name=name,
        delimiter=None,
        encoding=None,
        header=header,
        names=None if header else positional(width),
        sheet=sheet,
        batch_rows=_BATCH_ROWS,
    )
    headers = [str(h).strip() for h in source.columns]
    schema = pa.schema([*((f"s{i}", pa.string()) for i in range(len(headers))), (LINE, pa.int64())])
    batches = [_fit(batch, len(headers)) for batch in source.batches]
    rows = pa.Table.from_batches(batches, schema=schema) if batches else schema.empty_table()
    return headers, rows, list(source.invalid_rows)


def _fit(batch: pa.RecordBatch, width: int) -> pa.RecordBatch:
    """Cast a batch's source columns to text (the readers keep text already)."""
    arrays = [batch.column(i).cast(pa.string()) for i in range(width)]
    return pa.RecordBatch.from_arrays(
        [*arrays, batch.column(LINE)], names=[*positional(width), LINE]
    )


def _prepend(rows: pa.Table, first: list[str]) -> pa.Table:
    head = pa.table(
        {
            **{f"s{i}": pa.array([value], pa.string()) for i, value in enumerate(first)},
            LINE: pa.array([1], pa.int64()),
        }
    )
    return pa.concat_tables([head, rows])


def _xls_text(cell: Any, datemode: int) -> str | None:
    import xlrd

    kind = cell.ctype
    if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    if kind == xlrd.XL_CELL_NUMBER:
        value = float(cell.value)
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if kind == xlrd.XL_CELL_DATE:
        moment: dt.datetime = xlrd.xldate_as_datetime(cell.value, datemode)
        return moment.isoformat(sep=" ")
    if kind == xlrd.XL_CELL_BOOLEAN:
        return "true" if cell.value else "false"
    if kind == xlrd.XL_CELL_ERROR:
        return None
    text = str(cell.value)
    return text if text.strip() else None


def _read_xls(file: Path, name: str, sheet: str | None) -> tuple[list[str], pa.Table]:
    """A legacy Excel 97-2003 workbook: the first (or the named) sheet, header in row 1."""
    import xlrd

    try:
        book = xlrd.open_workbook(str(file), on_demand=True)
    except xlrd.XLRDError as exc:
        raise DataError(f"not a readable XLS workbook ({exc})", file=name) from None
    try:
        names = book.sheet_names()
        if sheet is not None and sheet not in names:
            hint = suggest(sheet, names)
            raise DataError(
                f"no sheet '{sheet}'{hint}; the sheets are: {', '.join(names)}", file=name
            )
        worksheet = book.sheet_by_name(sheet) if sheet is not None else book.sheet_by_index(0)
        if worksheet.nrows == 0:
            raise DataError("the list is empty: it holds no contacts", file=name)
        header_cells = [_xls_text(c, book.datemode) for c in worksheet.row(0)]
        headers = [h.strip() if h else f"column_{i + 1}" for i, h in enumerate(header_cells)]
        while headers and headers[-1].startswith("column_"):
            headers.pop()
        width = len(headers)
        values: list[list[str | None]] = [[] for _ in range(width)]
        lines: list[int] = []
        for index in range(1, worksheet.nrows):
            cells = [_xls_text(c, book.datemode) for c in worksheet.row_slice(index, 0, width)]
            if all(c is None for c in cells):
                continue
            cells += [None] * (width - len(cells))
            for column, value in zip(values, cells, strict=True):
                column.append(value)
            lines.append(index + 1)
    finally:
        book.release_resources()
    table = pa.table(
        {
            **{f"s{i}": pa.array(column, pa.string()) for i, column in enumerate(values)},
            LINE: pa.array(lines, pa.int64()),
        }
    )
    return headers, table
