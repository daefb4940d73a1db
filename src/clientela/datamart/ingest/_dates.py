"""Detecting the date format of a column from a sample of its values."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from clientela.datamart.ingest._expr import sql_literal
from clientela.errors import ConfigError, DataError

__all__ = ["DATE_FORMATS", "detect_format"]

_DAYS: tuple[str, ...] = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y")
_DAYS += ("%d-%m-%Y", "%m-%d-%Y", "%d/%m/%y", "%m/%d/%y")
_TIMES = ("", " %H:%M:%S", " %H:%M", "T%H:%M:%S", " %H:%M:%S.%f", "T%H:%M:%S.%f", "T%H:%M")
DATE_FORMATS = tuple(day + time for day in _DAYS for time in _TIMES)
SAMPLE = 500


def _day_first(fmt: str) -> bool:
    return fmt.startswith("%d")


def _month_first(fmt: str) -> bool:
    return fmt.startswith("%m")


def detect_format(
    batch: pa.RecordBatch, source_sql: str, value_sql: str, column: str, file: str
) -> str | None:
    """The one common format that reads every sampled value; None when the sample is empty.

    Values that fit day-first and month-first alike are ambiguous: ConfigError asking for
    ``date_format``.  Values that fit no format: DataError naming the first one.
    """
    con = duckdb.connect()
    try:
        con.register("src", batch)
        sample = (
            f"SELECT DISTINCT trim({value_sql}) AS v, min(__line) AS line FROM src "
            f"WHERE {value_sql} IS NOT NULL GROUP BY 1 ORDER BY 2 LIMIT {SAMPLE}"
        )
        con.execute(f"CREATE TEMP TABLE sample AS {sample}")
        total = con.execute("SELECT count(*) FROM sample").fetchone()
        if not total or not total[0]:
            return None
        counts = ", ".join(
            f"count(try_strptime(v, {sql_literal(fmt)})) AS f{i}"
            for i, fmt in enumerate(DATE_FORMATS)
        )
        fits = con.execute(f"SELECT {counts} FROM sample").fetchone()
        assert fits is not None
        best = max(fits)
        if best == 0:
            first = con.execute("SELECT v, line FROM sample ORDER BY line LIMIT 1").fetchone()
            assert first is not None
            raise DataError(
                f"'{first[0]}' is in no known date format; set 'format' for the column (or "
                "'date_format' / 'timestamp_format') in the mapping, e.g. format: \"%d/%m/%Y\"",
                file=file,
                line=int(first[1]),
                column=column,
                value=first[0],
                rule="date_format",
            )
        winners = [fmt for fmt, n in zip(DATE_FORMATS, fits, strict=True) if n == best]
        if any(map(_day_first, winners)) and any(map(_month_first, winners)):
            examples = con.execute("SELECT v FROM sample ORDER BY line LIMIT 3").fetchall()
            shown = ", ".join(repr(v[0]) for v in examples)
            options = " or ".join(
                repr(f)
                for f in (next(filter(_day_first, winners)), next(filter(_month_first, winners)))
            )
            raise ConfigError(
                f"file {file}, column '{column}': the dates ({shown}) read both day-first and "
                f"month-first; set 'format' for the column (or 'date_format') to {options}"
            )
        return winners[0]
    finally:
        con.close()
