"""Writing small test files in every supported format from Python values."""

from __future__ import annotations

import csv
import gzip
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

Rows = Sequence[Sequence[Any]]


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Rows,
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    newline: str = "\n",
) -> Path:
    lines = []
    for row in [header, *rows]:
        text = _line([("" if v is None else str(v)) for v in row], delimiter)
        lines.append(text + newline)
    data = "".join(lines).encode(encoding)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def _line(values: list[str], delimiter: str) -> str:
    import io

    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="").writerow(values)
    return buffer.getvalue()


def write_xlsx(path: Path, header: Sequence[str], rows: Rows, sheet: str = "Sheet1") -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    worksheet = workbook.active
    assert worksheet is not None
    worksheet.title = sheet
    worksheet.append(list(header))
    for row in rows:
        worksheet.append(list(row))
    workbook.save(path)
    return path


def write_parquet(path: Path, header: Sequence[str], rows: Rows) -> Path:
    columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    pq.write_table(pa.table(columns), path)
    return path


def write(fmt: str, folder: Path, stem: str, header: Sequence[str], rows: Rows) -> Path:
    if fmt == "csv":
        return write_csv(folder / f"{stem}.csv", header, rows)
    if fmt == "csv.gz":
        return write_csv(folder / f"{stem}.csv.gz", header, rows)
    if fmt == "xlsx":
        return write_xlsx(folder / f"{stem}.xlsx", header, rows)
    if fmt == "parquet":
        return write_parquet(folder / f"{stem}.parquet", header, rows)
    raise ValueError(fmt)
