"""Typing and row validation: one generated DuckDB query per batch.

The batch is registered in a private in-memory DuckDB connection (never the datamart) as ``src``
and one SELECT, built once per file, types every column (TRY_CAST, try_strptime, value maps),
computes the expressions and table rules, and returns, per row, the typed table columns plus
``__fail`` (the first rule broken, or NULL) and ``__cleared`` (values set to NULL because the
mapping says ``on_invalid: null``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from clientela.config import Settings
from clientela.datamart.ingest._columns import Origins
from clientela.datamart.ingest._dates import detect_format
from clientela.datamart.ingest._expr import ExprError, compile_expr, one_of, sql_literal
from clientela.datamart.ingest._mapping import DEFAULT_NULL_VALUES, Located, Mapping
from clientela.datamart.ingest._phones import LoadPhones
from clientela.datamart.ingest.normalize import normalise_emails
from clientela.datamart.schema import TableSpec
from clientela.errors import ConfigError

__all__ = [
    "Plan",
    "build_plan",
    "close_transform_connection",
    "register_functions",
    "transform_connection",
    "unregister_functions",
]

_SQL_TYPE = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "float64": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


def transform_connection(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The private DuckDB connection that types and checks batches; close it with
    :func:`close_transform_connection`."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    # Its working set is one batch; the datamart's memory_limit is for the datamart.
    register_functions(con, settings)
    return con


def close_transform_connection(con: duckdb.DuckDBPyConnection) -> None:
    unregister_functions(con)
    con.close()


FUNCTIONS = ("clientela_email", "clientela_phone")

# The phone pools of the connections whose functions are registered (see unregister_functions).
_POOLS: dict[int, LoadPhones] = {}


def register_functions(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """The normalisers the query calls, as (vectorised) functions of ``con``; remove them with
    :func:`unregister_functions` (which also stops the phone workers)."""
    region = settings.default_region
    normalise = LoadPhones(region)
    _POOLS[id(con)] = normalise

    def emails(values: pa.Array) -> pa.Array:
        return pa.array(normalise_emails(values.to_pylist())[0], pa.string())

    def phones(values: pa.Array) -> pa.Array:
        return pa.array(normalise(values.to_pylist()), pa.string())

    # Arrow UDFs get whole vectors: the normalisers cache repeated values.
    udf: Any = con.create_function
    udf("clientela_email", emails, ["VARCHAR"], "VARCHAR", type="arrow", null_handling="special")
    udf("clientela_phone", phones, ["VARCHAR"], "VARCHAR", type="arrow", null_handling="special")


def unregister_functions(con: duckdb.DuckDBPyConnection) -> None:
    for name in FUNCTIONS:
        with contextlib.suppress(duckdb.Error):
            con.remove_function(name)
    normalise = _POOLS.pop(id(con), None)
    if normalise is not None:
        normalise.close()


def _kind(dtype: Any) -> str:
    for name in _SQL_TYPE:
        if str(dtype) == name:
            return name
    raise TypeError(f"unsupported column type {dtype}")


@dataclass(frozen=True)
class Plan:
    """The query that types and checks the batches of one file."""

    spec: TableSpec
    sql: str
    ignored_columns: tuple[str, ...]
    rows_per_source_row: int = 1  # an unpivoted file makes a row of each unpivoted column
    # A source row as JSON (header names to values), over the reader's columns s0, s1, ...
    raw_sql: str = "NULL"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(sql: str) -> str:
    return f"CAST({sql} AS VARCHAR)"


def _fail(column: str, value_sql: str, rule: str, reason_sql: str) -> str:
    return (
        "{'column_name': " + sql_literal(column) + ", 'value': " + _text(value_sql) + ", 'rule': "
        f"{sql_literal(rule)}, 'reason': coalesce({reason_sql}, {sql_literal(rule)})" + "}"
    )


def _quoted_value(value_sql: str) -> str:
    return f"('''' || {_text(value_sql)} || '''')"


class _Builder:
    def __init__(
        self,
        spec: TableSpec,
        located: Located | None,
        origins: Origins,
        raw_types: dict[str, pa.DataType],
        first_batch: pa.RecordBatch,
        settings: Settings,
        as_of: dt.date,
        file: str,
        header: list[str],
    ):
        self.header = header
        self.spec = spec
        self.located = located
        self.mapping = located.mapping if located is not None else Mapping()
        self.origins = origins
        self.raw_types = raw_types
        self.first_batch = first_batch
        self.settings = settings
        self.as_of = as_of
        self.file = file
        self.types = {c: _kind(t) for c, t in spec.schema.items()}
        self.formats: dict[str, str] = {}
        self.source = "src"
        self._nulls: dict[str, str] = {}

    # -- values ---------------------------------------------------------------------------
    def _is_text(self, column_sql: str) -> bool:
        dtype = self.raw_types.get(column_sql, pa.string())
        return bool(pa.types.is_string(dtype) or pa.types.is_large_string(dtype))

    def _nulled(self, column_sql: str) -> str:
        if not self._is_text(column_sql):
            return column_sql
        nulls = self.mapping.null_values if self.located is not None else DEFAULT_NULL_VALUES
        if not nulls:
            return column_sql
        return f"(CASE WHEN {one_of(f'trim({column_sql})', nulls)} THEN NULL ELSE {column_sql} END)"

    def _parse(self, target: str, value: str, text: bool) -> tuple[str, str]:
        """(typed SQL, reason SQL when the value does not parse)."""
        kind = self.types[target]
        shown = _quoted_value(value)
        if kind == "string":
            return (value if text else _text(value)), "NULL"
        if not text:
            typed = f"TRY_CAST({value} AS {_SQL_TYPE[kind]})"
            return typed, f"{shown} || ' is not a {kind}'"
        if kind in ("float64", "int64"):
            number = f"trim({value})"
            if self.mapping.thousands:
                number = f"replace({number}, {sql_literal(self.mapping.thousands)}, '')"
            if self.mapping.decimal == ",":
                number = f"replace({number}, ',', '.')"
            double = f"TRY_CAST({number} AS DOUBLE)"
            if kind == "float64":
                return double, f"{shown} || ' is not a number'"
            typed = f"(CASE WHEN {double} = floor({double}) THEN CAST({double} AS BIGINT) END)"
            return typed, f"{shown} || ' is not a whole number'"
        if kind == "boolean":
            low = f"lower(trim({value}))"
            typed = (
                f"(CASE WHEN {one_of(low, _TRUE)} THEN TRUE "
                f"WHEN {one_of(low, _FALSE)} THEN FALSE END)"
            )
            return typed, f"{shown} || ' is not true or false'"
        fmt = self.formats[target]
        parsed = f"coalesce(try_strptime(trim({value}), {sql_literal(fmt)}), "
        parsed += f"TRY_CAST(trim({value}) AS TIMESTAMP))"
        typed = f"CAST({parsed} AS DATE)" if kind == "date" else parsed
        return typed, f"{shown} || ' is not a {kind} in the format {fmt}'"

    def _format_for(self, target: str, source_sql: str | None, given: str | None) -> None:
        kind = self.types[target]
        if kind not in ("date", "timestamp"):
            return
        default = self.mapping.date_format if kind == "date" else self.mapping.timestamp_format
        fmt = given or default or (self.mapping.date_format if kind == "timestamp" else None)
        if fmt is None and source_sql is not None and self._is_text(source_sql):
            fmt = detect_format(
                self.first_batch, source_sql, self._nulled(source_sql), target, self.file
            )
        self.formats[target] = fmt or "%Y-%m-%d %H:%M:%S"

    # -- the query ------------------------------------------------------------------------
    # Each layer computes a value once and later layers refer to it by name: DuckDB evaluates
    # a repeated expression as many times as it is written.  The per-row cost is what a load
    # pays on every row, so the happy path stays a few cheap comparisons; reason strings and
    # the row's raw JSON are only built for rows that fail (inside CASE branches).
    def build(self) -> Plan:
        spec, origins = self.spec, self.origins
        layers: list[str] = []
        current = self.source
        raw_json = source_json = self._raw_json()
        if origins.unpivoted:
            # The unpivoted columns leave the row: its raw JSON is taken before.
            layers.append(f"base AS (SELECT *, {raw_json} AS __raw FROM {current})")
            raw_json = "__raw"
            attributes = [self._header_name(s) for s in origins.unpivoted]
            values = ", ".join(_text(s) for s in origins.unpivoted)
            names = ", ".join(sql_literal(a) for a in attributes)
            excluded = ", ".join(origins.unpivoted)
            layers.append(
                f"unpivoted AS (SELECT * EXCLUDE ({excluded}), unnest([{names}]) AS u_attribute, "
                f"unnest([{values}]) AS u_value, unnest(range({len(attributes)})) AS u_index "
                "FROM base)"
            )
            current = "unpivoted"
        current = self._null_layers(layers, current)

        row = f"(__row * {len(origins.unpivoted)} + u_index)" if origins.unpivoted else "__row"
        values_selects: list[str] = []
        typed_selects: list[str] = []
        bad_selects: list[str] = []
        expr_columns: list[str] = []
        for target in spec.columns:
            column = origins.columns.get(target)
            kind = self.types[target]
            typed, raw = f"CAST(NULL AS {_SQL_TYPE[kind]})", "NULL"
            if column is not None and column.expr is not None:
                expr_columns.append(target)
                self._format_for(target, None, column.format)
                bad_selects.append(f"CAST(NULL AS VARCHAR) AS {_q(target + '__bad')}")
            elif column is not None:
                if column.source is not None:
                    source_sql = origins.sources[column.source]
                    value, text = self._value(source_sql), self._is_text(source_sql)
                    raw = source_sql
                else:
                    constant = column.value if column.is_constant else column.default
                    source_sql, value, text = None, _as_sql_text(constant), True
                    raw = value
                if column.map is not None:
                    cases = " ".join(
                        f"WHEN {sql_literal(k)} THEN {_as_sql_text(v)}"
                        for k, v in column.map.items()
                    )
                    other = _as_sql_text(column.default) if column.default is not None else value
                    value, text = f"(CASE {_text(value)} {cases} ELSE {other} END)", True
                elif column.default is not None and column.source is not None:
                    value = f"coalesce({_text(value)}, {_as_sql_text(column.default)})"
                    text = True
                self._format_for(target, source_sql, column.format)
                held = _q(target + "__v")
                values_selects.append(f"{value} AS {held}")
                typed, reason = self._parse(target, held, text)
                if reason != "NULL" and not self._same_type(source_sql, value, text, kind):
                    bad_selects.append(
                        f"CASE WHEN {held} IS NOT NULL AND {_q(target)} IS NULL "
                        f"THEN {reason} END AS {_q(target + '__bad')}"
                    )
                else:
                    bad_selects.append(f"CAST(NULL AS VARCHAR) AS {_q(target + '__bad')}")
            else:
                bad_selects.append(f"CAST(NULL AS VARCHAR) AS {_q(target + '__bad')}")
            # The raw value is kept as it came; it becomes text only in a failing row's message.
            typed_selects.append(f"{typed} AS {_q(target)}")
            typed_selects.append(f"{raw} AS {_q(target + '__raw')}")
        if values_selects:
            layers.append(f"held AS (SELECT *, {', '.join(values_selects)} FROM {current})")
            current = "held"
        layers.append(
            f"typed AS (SELECT * EXCLUDE (__row), {row} AS __row, {', '.join(typed_selects)} "
            f"FROM {current})"
        )
        layers.append(f"bad AS (SELECT *, {', '.join(bad_selects)} FROM typed)")
        current = "bad"
        for index, target in enumerate(self._expr_order(expr_columns)):
            compiled = self._compile(target)
            kind = _SQL_TYPE[self.types[target]]
            held = _q(target + "__e")
            layers.append(f"expr_{index}_value AS (SELECT *, {compiled} AS {held} FROM {current})")
            name = f"expr_{index}"
            reason = f"{_quoted_value(held)} || ' is not a {self.types[target]}'"
            layers.append(
                f"{name} AS (SELECT * EXCLUDE ({held}) REPLACE (TRY_CAST({held} AS {kind}) AS "
                f"{_q(target)}, {held} AS {_q(target + '__raw')}, CASE WHEN {held} IS NOT "
                f"NULL AND TRY_CAST({held} AS {kind}) IS NULL THEN {reason} END AS "
                f"{_q(target + '__bad')}) FROM expr_{index}_value)"
            )
            current = name
        from clientela.datamart.ingest._rules import derived_layer, rule_layers

        derived = derived_layer(spec, origins, current)
        if derived:
            layers.append(derived)
            current = "derived"
        key_hash = self._key_sql()
        if key_hash:
            layers.append(
                f"keyed AS (SELECT * REPLACE ({key_hash} AS {_q(spec.key)}) FROM {current})"
            )
            current = "keyed"
        on_invalid: dict[str, str] = {t: c.on_invalid for t, c in origins.columns.items()}
        layers += rule_layers(spec, current, on_invalid, self.settings, self.as_of)
        targets = ", ".join(_q(c) for c in spec.columns)
        keeps = []
        if self.mapping.where is not None:
            keeps.append(f"coalesce(CAST(({self._compile_where()}) AS BOOLEAN), FALSE)")
        if self.mapping.unpivot is not None:
            # A wide file's empty cell is no attribute: the unpivoted row is skipped (counted).
            keeps.append(f"{_q(self.mapping.unpivot.value)} IS NOT NULL")
        keep = " AND ".join(keeps) or "TRUE"
        # Only a failing row keeps its raw text: writing it for every row cost as much as the
        # rest of the query.  Rows that later fail a check of the whole file get theirs from a
        # second reading (see raw_sql).
        raw = f"CASE WHEN __fail IS NOT NULL OR len(__cleared) > 0 THEN {raw_json} END"
        sql = (
            "WITH "
            + ",\n".join(layers)
            + f"\nSELECT {targets}, __line, __row, {raw} AS __raw, __fail, __cleared, "
            f"{keep} AS __keep FROM checked"
        )
        return Plan(spec, sql, origins.ignored, max(1, len(origins.unpivoted)), source_json)

    def _raw_json(self) -> str:
        pairs = ", ".join(f"{sql_literal(n)}: {s}" for n, s in self._header_names())
        return f"to_json({{{pairs}}})"

    def _null_layers(self, layers: list[str], current: str) -> str:
        """A layer with each text source NULL when, trimmed, it is a null value."""
        nulls = self.mapping.null_values if self.located is not None else DEFAULT_NULL_VALUES
        texts = [s for s in self._working_columns() if self._is_text(s)]
        if not nulls or not texts:
            return current
        # Most values are longer than every null value and not padded with spaces: they are
        # kept after three cheap tests, without trimming (which copies the string).
        longest = max(len(v.encode()) for v in nulls)
        nulled = ", ".join(
            f"CASE WHEN strlen({s}) > {longest} AND NOT starts_with({s}, ' ') "
            f"AND NOT ends_with({s}, ' ') THEN {s} "
            f"WHEN {one_of(f'trim({s})', nulls)} THEN NULL ELSE {s} END AS {_q('n:' + s)}"
            for s in texts
        )
        layers.append(f"nulled AS (SELECT *, {nulled} FROM {current})")
        self._nulls = {s: _q("n:" + s) for s in texts}
        return "nulled"

    def _value(self, column_sql: str) -> str:
        """A source column with null values as NULL (after the null layers)."""
        return self._nulls.get(column_sql, column_sql)

    def _same_type(self, source_sql: str | None, value: str, text: bool, kind: str) -> bool:
        """A typed source column already of the target type: it cannot fail to parse."""
        if text or source_sql is None or value != source_sql:
            return False
        dtype = self.raw_types.get(source_sql)
        expected = {
            "int64": pa.int64(),
            "float64": pa.float64(),
            "boolean": pa.bool_(),
            "date": pa.date32(),
        }.get(kind)
        if kind == "timestamp":
            return dtype is not None and pa.types.is_timestamp(dtype) and dtype.tz is None
        return expected is not None and dtype == expected

    def _header_names(self) -> list[tuple[str, str]]:
        return [(name, f"s{i}") for i, name in enumerate(self.header)]

    def _header_name(self, positional: str) -> str:
        return self.header[int(positional[1:])]

    def _working_columns(self) -> list[str]:
        return list(dict.fromkeys(self.origins.sources.values()))

    def _compile(self, target: str) -> str:
        column = self.origins.columns[target]
        assert column.expr is not None
        sources = self.origins.sources
        try:
            compiled = compile_expr(
                column.expr,
                target=lambda n: _q(n) if n in self.spec.columns and n != target else None,
                source=lambda n: self._value(sources[n]) if n in sources else None,
                target_names=[c for c in self.spec.columns if c != target],
                source_names=list(sources),
                line_sql="__line",
            )
        except ExprError as exc:
            if self.located is not None:
                raise self.located.error(f"column '{target}': {exc}", target) from None
            raise ConfigError(f"column '{target}': {exc}") from None
        return compiled.sql

    def _compile_where(self) -> str:
        """The mapping's ``where`` condition over the typed columns (and source columns)."""
        assert self.mapping.where is not None
        sources = self.origins.sources
        try:
            compiled = compile_expr(
                self.mapping.where,
                target=lambda n: _q(n) if n in self.spec.columns else None,
                source=lambda n: self._value(sources[n]) if n in sources else None,
                target_names=list(self.spec.columns),
                source_names=list(sources),
                line_sql="__line",
            )
        except ExprError as exc:
            message = f"where: {exc}"
            raise (self.located.error(message) if self.located else ConfigError(message)) from None
        return compiled.sql

    def _expr_order(self, expr_columns: list[str]) -> list[str]:
        """Expressions that read other expressions come after them."""
        import re

        reads = {
            t: {
                o
                for o in expr_columns
                if o != t and re.search(rf"\b{re.escape(o)}\b", self.origins.columns[t].expr or "")
            }
            for t in expr_columns
        }
        ordered: list[str] = []
        pending = list(expr_columns)
        while pending:
            ready = [t for t in pending if reads[t] <= set(ordered)]
            if not ready:
                cycle = ", ".join(pending)
                message = f"the expressions of {cycle} read each other in a cycle"
                raise (self.located.error(message) if self.located else ConfigError(message))
            ordered += ready
            pending = [t for t in pending if t not in ready]
        return ordered

    def _key_sql(self) -> str | None:
        spec = self.spec
        if spec.key in self.origins.columns or not spec.key_from:
            return None
        parts = ", ".join(f"coalesce(CAST({_q(c)} AS VARCHAR), '\\N')" for c in spec.key_from)
        return f"md5(concat_ws('|', {parts}))"


def _as_sql_text(value: Any) -> str:
    if value is None:
        return "CAST(NULL AS VARCHAR)"
    if isinstance(value, bool):
        return sql_literal("true" if value else "false")
    if isinstance(value, dt.datetime):
        return sql_literal(value.isoformat(sep=" "))
    return sql_literal(str(value))


def build_plan(
    spec: TableSpec,
    located: Located | None,
    origins: Origins,
    raw_columns: list[str],
    first_batch: pa.RecordBatch,
    settings: Settings,
    as_of: dt.date,
    file: str,
    *,
    source: str = "src",
) -> Plan:
    """The query for a file, knowing its header and first batch (to detect date formats).

    The query reads the relation ``source``: the source columns ``s0, s1, ...``, ``__line`` and
    ``__row`` (the row's position in the file, from 0).
    """
    raw_types = {f.name: f.type for f in first_batch.schema}
    from clientela.datamart.ingest._columns import unique_names

    header = unique_names(raw_columns)
    builder = _Builder(
        spec, located, origins, raw_types, first_batch, settings, as_of, file, header
    )
    builder.source = source
    return builder.build()
