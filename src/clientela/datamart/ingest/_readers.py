"""Readers: files (CSV/TXT, gzip or not, XLSX, Parquet) or Arrow tables as record batches.

Every reader yields Arrow record batches whose columns are the source columns, renamed
positionally ``s0, s1, ...`` (headers may repeat or hold any character), plus ``__line``: the
physical line of a text file (the header is line 1), the sheet row of a workbook, the row number
of a Parquet file.  Text and workbook values stay raw text; Parquet values keep their types.
Memory stays bounded: files are streamed a block at a time.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.csv as pacsv

from clientela.errors import DataError, suggest

__all__ = ["InvalidRow", "RawSource", "open_source"]

log = logging.getLogger(__name__)

LINE = "__line"
SAMPLE_BYTES = 1 << 20
# Arrow's CSV reader reads up to 32 blocks ahead of the consumer, so the block size bounds the
# memory a text file takes while it loads (32 MB), whatever its size.
BLOCK_BYTES = 1 << 20
DELIMITERS = (",", ";", "\t", "|")
FALLBACK_ENCODINGS = ["cp1252", "latin_1", "cp1251"]


@dataclass(frozen=True)
class InvalidRow:
    """A line that could not be split into the header's columns."""

    line: int | None
    text: str
    expected: int
    actual: int


@dataclass
class RawSource:
    """An open source: its column names, its batches and what was learnt reading it."""

    name: str
    columns: list[str]
    batches: Iterator[pa.RecordBatch]
    kind: str  # "text", "xlsx", "parquet" or "arrow"
    delimiter: str | None = None
    detected_delimiter: str | None = None
    encoding: str | None = None
    total: float | None = None  # for progress: bytes of a text file, rows otherwise
    invalid_rows: list[InvalidRow] = field(default_factory=list)
    path: Path | None = None  # the file, for a reader that can read it itself (Parquet)
    _position: Any = None

    def position(self, rows_so_far: int) -> float:
        """Progress so far, in the unit of ``total``."""
        if self._position is not None:
            return float(self._position())
        return float(rows_so_far)


def positional(n: int) -> list[str]:
    return [f"s{i}" for i in range(n)]


def open_source(
    source: Path | pa.Table,
    *,
    name: str,
    delimiter: str | None,
    encoding: str | None,
    header: bool,
    names: list[str] | None,
    sheet: str | None,
    batch_rows: int,
) -> RawSource:
    """Open a file or an Arrow table for reading."""
    if isinstance(source, pa.Table):
        return _arrow(source, name, batch_rows)
    path = source
    if not path.exists():
        raise DataError("file not found", file=name)
    if path.is_dir():
        raise DataError("is a folder, not a file", file=name)
    if path.stat().st_size == 0:
        raise DataError("the file is empty; nothing was loaded", file=name)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".parquet", ".pq"):
        return _parquet(path, name, batch_rows)
    if suffixes and suffixes[-1] in (".xlsx", ".xlsm"):
        return _xlsx(path, name, sheet, header, names, batch_rows)
    return _text(path, name, delimiter, encoding, header, names, batch_rows)


# -- text ---------------------------------------------------------------------------------
def _is_gzip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _sample(path: Path, compressed: bool) -> bytes:
    opener: Any = gzip.open if compressed else open
    try:
        with opener(path, "rb") as f:
            data: bytes = f.read(SAMPLE_BYTES)
            return data
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read the file: {exc}", file=str(path)) from None


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when the sample decodes, else the likeliest 8-bit code page."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3:  # a character cut by the end of the sample
            return "utf-8"
    return _likely_8bit(sample)


def _likely_8bit(sample: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=FALLBACK_ENCODINGS).best()
    encoding = best.encoding if best is not None else "cp1252"
    return "cp1252" if encoding in ("latin_1", "iso8859_1") else str(encoding)


def _split_lines(text: str, limit: int = 50) -> list[str]:
    lines = text.splitlines()
    if len(lines) > 1:
        lines = lines[:-1]  # the last one may be cut by the end of the sample
    return [line for line in lines[:limit] if line.strip()]


def detect_delimiter(lines: list[str]) -> str:
    """The delimiter that splits the first lines into the most, consistent, columns."""
    best, best_score = ",", (False, 1)
    for candidate in DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=candidate)]
        if not counts:
            continue
        consistent = all(c == counts[0] for c in counts)
        score = (consistent, counts[0])
        if counts[0] > 1 and score > best_score:
            best, best_score = candidate, score
    if best_score[1] <= 1:
        counts = [len(line.split()) for line in lines]
        if counts and counts[0] > 1 and all(c == counts[0] for c in counts):
            return "whitespace"
    return best


def _text(
    path: Path,
    name: str,
    delimiter: str | None,
    encoding: str | None,
    header: bool,
    names: list[str] | None,
    batch_rows: int,
) -> RawSource:
    compressed = _is_gzip(path)
    sample = _sample(path, compressed)
    if not sample.strip():
        raise DataError("the file is empty; nothing was loaded", file=name)
    used_encoding = _python_encoding(encoding) if encoding else detect_encoding(sample)
    declared = encoding is not None
    try:
        text = sample.decode(used_encoding, errors="strict" if declared else "replace")
    except UnicodeDecodeError:
        text = ""
    except LookupError:
        raise DataError(f"unknown encoding '{encoding}'", file=name, rule="encoding") from None
    if declared and not text:
        raise _encoding_error(path, name, compressed, used_encoding)
    text = text.removeprefix("\ufeff")
    lines = _split_lines(text)
    detected = detect_delimiter(lines) if lines else ","
    used = delimiter or detected
    if used == "whitespace":
        columns = lines[0].split() if header and lines else []
    else:
        first = next(csv.reader(lines[:1], delimiter=used), []) if lines else []
        columns = list(first) if header else []
    if not header:
        columns = list(names or [])
    opened: list[IO[bytes]] = []
    source = RawSource(
        name=name,
        columns=columns,
        batches=iter(()),
        kind="text",
        delimiter=used,
        detected_delimiter=detected,
        encoding=used_encoding,
        total=float(path.stat().st_size),
        _position=lambda: opened[0].tell() if opened and not opened[0].closed else 0,
    )

    def batches() -> Iterator[pa.RecordBatch]:
        # The file opens when reading starts, so a header error leaves nothing open.
        with path.open("rb") as raw:
            opened.append(raw)
            stream: Any = raw
            if compressed:
                stream = pa.CompressedInputStream(pa.PythonFile(raw, mode="r"), "gzip")
            if used == "whitespace":
                yield from _whitespace_batches(
                    stream, used_encoding, len(columns), header, batch_rows, source
                )
            else:
                yield from _csv_batches(stream, path, name, compressed, header, source)

    source.batches = batches()
    return source


def _python_encoding(encoding: str) -> str:
    lowered = encoding.lower().replace("_", "-")
    return {"utf-8-sig": "utf-8", "utf8": "utf-8", "latin1": "latin-1"}.get(lowered, lowered)


def _csv_batches(
    stream: Any,
    path: Path,
    name: str,
    compressed: bool,
    header: bool,
    source: RawSource,
) -> Iterator[pa.RecordBatch]:
    width = len(source.columns)
    cols = positional(width)
    first_line = 2 if header else 1

    def on_invalid(row: Any) -> str:
        line = None if row.number is None else int(row.number)
        source.invalid_rows.append(
            InvalidRow(line, str(row.text), int(row.expected_columns), int(row.actual_columns))
        )
        return "skip"

    encoding = source.encoding or "utf-8"
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                column_names=cols,
                skip_rows=1 if header else 0,
                encoding="utf8" if encoding == "utf-8" else encoding,
                block_size=BLOCK_BYTES,
                use_threads=True,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=source.delimiter or ",",
                invalid_row_handler=on_invalid,
                newlines_in_values=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(cols, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        line = first_line
        for batch in reader:
            numbers = pa.array(range(line, line + batch.num_rows), pa.int64())
            line += batch.num_rows
            yield pa.RecordBatch.from_arrays([*batch.columns, numbers], names=[*cols, LINE])
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc) or "decode" in str(exc).lower():
            raise _encoding_error(path, name, compressed, encoding) from None
        if "Empty CSV file" in str(exc):
            return
        raise DataError(f"cannot read the file as CSV: {exc}", file=name) from None
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read the file: {exc}", file=name) from None


def _encoding_error(path: Path, name: str, compressed: bool, encoding: str) -> DataError:
    """A DataError at the first line that does not decode, naming the likely encoding."""
    opener: Any = gzip.open if compressed else open
    with opener(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                line.decode(encoding)
            except UnicodeDecodeError as exc:
                byte = line[exc.start : exc.start + 1].hex().upper()
                likely = _likely_8bit(_sample(path, compressed))
                return DataError(
                    f"byte 0x{byte} at position {exc.start + 1} is not valid {encoding}; "
                    f"the file looks {likely}-encoded: set 'encoding: {likely}' in the mapping "
                    "(or leave it out to detect it)",
                    file=name,
                    line=number,
                    rule="encoding",
                )
    return DataError(f"the file is not valid {encoding} text", file=name, rule="encoding")


def _whitespace_batches(
    stream: Any,
    encoding: str,
    width: int,
    header: bool,
    batch_rows: int,
    source: RawSource,
) -> Iterator[pa.RecordBatch]:
    """Runs of blanks separate columns (the CDNOW files); split in chunks of lines."""
    binary: Any = stream if isinstance(stream, io.IOBase) else _Readable(stream)
    handle = io.TextIOWrapper(
        binary, encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline=None
    )
    try:
        values: list[list[str]] = [[] for _ in range(width)]
        lines: list[int] = []
        number = 0
        for text in handle:
            number += 1
            if number == 1 and header:
                continue
            fields = text.split()
            if not fields:
                continue
            if len(fields) != width:
                source.invalid_rows.append(InvalidRow(number, text.rstrip(), width, len(fields)))
                continue
            for column, value in zip(values, fields, strict=True):
                column.append(value)
            lines.append(number)
            if len(lines) >= batch_rows:
                yield _string_batch(values, lines)
                values, lines = [[] for _ in range(width)], []
        if lines:
            yield _string_batch(values, lines)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"the file is not valid {encoding} text ({exc.reason}); set 'encoding' in the mapping",
            file=source.name,
            rule="encoding",
        ) from None
    finally:
        handle.detach()


class _Readable(io.RawIOBase):
    """A file-like view of an Arrow input stream (for TextIOWrapper)."""

    def __init__(self, stream: Any):
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _string_batch(values: list[list[Any]], lines: list[int]) -> pa.RecordBatch:
    arrays = [pa.array(column, pa.string()) for column in values]
    arrays.append(pa.array(lines, pa.int64()))
    return pa.RecordBatch.from_arrays(arrays, names=[*positional(len(values)), LINE])


# -- workbooks ----------------------------------------------------------------------------
def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


def _xlsx(
    path: Path,
    name: str,
    sheet: str | None,
    header: bool,
    names: list[str] | None,
    batch_rows: int,
) -> RawSource:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise DataError(
            f"not a readable XLSX workbook ({type(exc).__name__}: {exc})", file=name
        ) from None
    except Exception as exc:  # openpyxl raises its own InvalidFileException and others
        raise DataError(f"not a readable XLSX workbook ({exc})", file=name) from None
    if sheet is not None and sheet not in workbook.sheetnames:
        hint = suggest(sheet, workbook.sheetnames)
        workbook.close()
        raise DataError(
            f"no sheet '{sheet}'{hint}; the sheets are: {', '.join(workbook.sheetnames)}",
            file=name,
        )
    worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
    rows = worksheet.iter_rows(values_only=True)
    columns: list[str] = list(names or [])
    if header:
        first = next(rows, None)
        if first is None:
            workbook.close()
            raise DataError("the sheet is empty; nothing was loaded", file=name)
        columns = [str(v) if v is not None else f"column_{i + 1}" for i, v in enumerate(first)]
        while columns and columns[-1].startswith("column_"):
            columns.pop()

    def batches() -> Iterator[pa.RecordBatch]:
        width = len(columns)
        values: list[list[Any]] = [[] for _ in range(width)]
        lines: list[int] = []
        try:
            for number, row in enumerate(rows, start=2 if header else 1):
                cells = [_cell_text(v) for v in row[:width]]
                if all(c is None for c in cells):
                    continue
                cells += [None] * (width - len(cells))
                for column, value in zip(values, cells, strict=True):
                    column.append(value)
                lines.append(number)
                if len(lines) >= batch_rows:
                    yield _string_batch(values, lines)
                    values, lines = [[] for _ in range(width)], []
            if lines:
                yield _string_batch(values, lines)
        finally:
            workbook.close()

    return RawSource(name=name, columns=columns, batches=batches(), kind="xlsx")


# -- Parquet and Arrow --------------------------------------------------------------------
def _numbered(batch: pa.RecordBatch, start: int) -> pa.RecordBatch:
    numbers = pa.array(range(start, start + batch.num_rows), pa.int64())
    width = batch.num_columns
    return pa.RecordBatch.from_arrays([*batch.columns, numbers], names=[*positional(width), LINE])


def _parquet(path: Path, name: str, batch_rows: int) -> RawSource:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"not a readable Parquet file ({exc})", file=name) from None
    columns = list(parquet.schema_arrow.names)

    def batches() -> Iterator[pa.RecordBatch]:
        line = 1
        try:
            for batch in parquet.iter_batches(batch_size=batch_rows):
                yield _numbered(batch, line)
                line += batch.num_rows
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"cannot read the Parquet file ({exc})", file=name) from None
        finally:
            parquet.close()

    return RawSource(
        name=name,
        columns=columns,
        batches=batches(),
        kind="parquet",
        total=float(parquet.metadata.num_rows),
        path=path,
    )


def _arrow(table: pa.Table, name: str, batch_rows: int) -> RawSource:
    def batches() -> Iterator[pa.RecordBatch]:
        line = 1
        for batch in table.to_batches(max_chunksize=batch_rows):
            yield _numbered(batch, line)
            line += batch.num_rows

    return RawSource(
        name=name,
        columns=list(table.column_names),
        batches=batches(),
        kind="arrow",
        total=float(table.num_rows),
    )
