"""Connecting to the datamart: an embedded DuckDB file, or PostgreSQL.

:class:`Datamart` is the narrow interface the rest of clientela uses for I/O: ibis tables to build
expressions on, execution of expressions, transactions, raw statements and bulk inserts.  What one
backend needs differently (locking, COPY, transactions) is decided here, by capability, and
nowhere else.
"""

from __future__ import annotations

import contextlib
import io
import logging
import queue
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, unquote, urlparse

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.csv as pacsv

from clientela.config import Settings
from clientela.datamart._json import json_text_reader
from clientela.errors import BackendError, NotFoundError, suggest

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Datamart", "PostgresTarget", "connect", "quote"]

log = logging.getLogger(__name__)

BackendKind = Literal["duckdb", "postgres"]

# Cursors (connections of their own to the same DuckDB database) that submit_records runs
# queries on at the same time.
_CURSORS = 3

# Statements that only read: they leave Datamart.generation as it is.
_READ_ONLY = re.compile(r"\s*(SELECT|WITH|EXPLAIN|SHOW|DESCRIBE|PRAGMA)\b", re.IGNORECASE)


def quote(identifier: str) -> str:
    """Quote an SQL identifier the same way on every backend."""
    return '"' + identifier.replace('"', '""') + '"'


@dataclass(frozen=True)
class PostgresTarget:
    """The parts of a postgresql:// URL."""

    host: str
    port: int
    user: str | None
    password: str | None
    database: str
    schema: str | None

    @classmethod
    def parse(cls, url: str) -> PostgresTarget:
        parsed = urlparse(url)
        query = parse_qs(parsed.query)
        database = unquote(parsed.path.lstrip("/")) or "postgres"
        try:
            port = parsed.port or 5432
        except ValueError:
            raise BackendError(f"invalid port in database URL {redact(url)}") from None
        return cls(
            host=parsed.hostname or "localhost",
            port=port,
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            database=database,
            schema=query.get("schema", [None])[0],
        )


def redact(url: str) -> str:
    """A URL with its password hidden, for messages and logs."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


class Datamart:
    """An open datamart.  Use :func:`connect` (or ``Datamart.connect``) to get one."""

    def __init__(self, backend: Any, kind: BackendKind, url: str):
        self.backend = backend
        self.kind: BackendKind = kind
        self.url = url
        self._in_transaction = False
        # ibis tables by name: looking a table up costs a catalogue query, and a profile lookup
        # asks for a dozen.  Anything that creates or drops a table forgets the cache.
        self._tables: dict[str, ir.Table] = {}
        # Counts the statements that may have changed data through this connection, so that a
        # value derived from the data (the newest transaction) can be kept until the next write.
        self.generation = 0
        # submit_records' threads and the DuckDB cursors they run on, made on first use.
        self._pool: ThreadPoolExecutor | None = None
        self._idle_cursors: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def json_text(self, document: ir.StringValue, keys: Sequence[str]) -> ir.ArrayValue:
        """The values of ``keys`` in the JSON object ``document`` (text), as an array of text."""
        return json_text_reader(self.kind)(document, keys)

    # -- opening and closing -------------------------------------------------------------
    @classmethod
    def connect(cls, settings: Settings) -> Datamart:
        return connect(settings)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
            while not self._idle_cursors.empty():
                with contextlib.suppress(Exception):
                    self._idle_cursors.get().close()
        with contextlib.suppress(Exception):
            self.backend.disconnect()

    def __enter__(self) -> Datamart:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Datamart({self.kind}, {redact(self.url)!r})"

    # -- tables and expressions ----------------------------------------------------------
    def list_tables(self) -> list[str]:
        return list(self.backend.list_tables())

    def has_table(self, name: str) -> bool:
        return name in self.list_tables()

    def table(self, name: str) -> ir.Table:
        """An ibis table of the datamart; NotFoundError with the close match if absent."""
        cached = self._tables.get(name)
        if cached is not None:
            return cached
        tables = self.list_tables()
        if name not in tables:
            hint = suggest(name, tables)
            if not tables or "schema_migrations" not in tables:
                raise BackendError(
                    f"the datamart {redact(self.url)} is not initialised: run 'clientela init'"
                )
            raise NotFoundError(f"no table '{name}' in the datamart{hint}")
        table: ir.Table = self.backend.table(name)
        self._tables[name] = table
        return table

    def temp_table(self, name: str) -> ir.Table:
        """A temporary table this connection created (not listed among the datamart's tables)."""
        table: ir.Table = self.backend.table(name)
        return table

    def forget_tables(self) -> None:
        """Drop cached table handles (after DDL run outside this class)."""
        self._tables.clear()

    @property
    def sole_writer(self) -> bool:
        """True when no other process can change the data while this connection is open.

        A DuckDB file is locked by the process that opens it; a PostgreSQL database is not.
        """
        return self.kind == "duckdb"

    def to_pyarrow(self, expr: ir.Expr) -> pa.Table:
        result: pa.Table = self.backend.to_pyarrow(expr)
        return result

    def to_pandas(self, expr: ir.Table) -> pd.DataFrame:
        # Through Arrow: ibis' own pandas conversion trips pandas 3 deprecation warnings.
        frame: pd.DataFrame = self.to_pyarrow(expr).to_pandas()
        return frame

    def scalar(self, expr: ir.Scalar) -> Any:
        return self.backend.execute(expr)

    def compile(self, expr: ir.Expr) -> str:
        return str(ibis.to_sql(expr, dialect=self.backend.name))

    # -- raw statements and transactions -------------------------------------------------
    def sql(self, statement: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one statement on the datamart's connection; return its rows (if any).

        Parameters use ``?`` placeholders on every backend.
        """
        if statement.lstrip()[:6].upper() in ("CREATE", "DROP T", "ALTER "):
            self._tables.clear()
        self._note_write(statement)
        if self.kind == "duckdb":
            cursor = self.backend.con.execute(statement, list(params or []))
            try:
                return [tuple(row) for row in cursor.fetchall()]
            except Exception:  # statements without a result set
                return []
        pg_statement = statement.replace("%", "%%").replace("?", "%s") if params else statement
        with self.backend.con.cursor() as cur:
            cur.execute(pg_statement, list(params) if params else None)
            if cur.description is None:
                return []
            return [tuple(row) for row in cur.fetchall()]

    def records(self, query: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Run one query with ``?`` parameters; its rows as dictionaries by column name.

        For queries compiled once and run many times with different values (a profile lookup):
        no expression is compiled per call, and DuckDB still turns ``col IN (?, ?)`` on an
        indexed column into an index scan.
        """
        self._note_write(query)
        if self.kind == "duckdb":
            cursor = self.backend.con.execute(query, list(params or []))
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        pg_query = query.replace("%", "%%").replace("?", "%s") if params else query
        with self.backend.con.cursor() as cur:
            cur.execute(pg_query, list(params) if params else None)
            names = [column.name for column in cur.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def submit_records(
        self, query: str, params: Sequence[Any] | None = None
    ) -> Future[list[dict[str, Any]]]:
        """:meth:`records` of a read-only query, started while the caller goes on.

        On DuckDB the query runs on a cursor of its own (a connection to the same database, which
        runs queries in parallel with this one), so that independent small queries, such as the
        sections of a profile, overlap instead of waiting on one another.  PostgreSQL, a query
        that may write, and a query inside :meth:`transaction` (whose uncommitted rows another
        connection does not see) run here and now, on this connection.
        """
        values = list(params or [])
        if self.kind != "duckdb" or self._in_transaction or not _READ_ONLY.match(query):
            done: Future[list[dict[str, Any]]] = Future()
            try:
                done.set_result(self.records(query, values))
            except Exception as exc:
                done.set_exception(exc)
            return done
        if self._pool is None:
            for _ in range(_CURSORS):
                cursor = self.backend.con.cursor()
                cursor.execute("SET enable_progress_bar = false")
                self._idle_cursors.put(cursor)
            self._pool = ThreadPoolExecutor(_CURSORS, thread_name_prefix="clientela-cursor")
        return self._pool.submit(self._records_on_cursor, query, values)

    def _records_on_cursor(self, query: str, params: list[Any]) -> list[dict[str, Any]]:
        cursor = self._idle_cursors.get()
        try:
            result = cursor.execute(query, params)
            names = [column[0] for column in result.description]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
        finally:
            self._idle_cursors.put(cursor)

    def _note_write(self, statement: str) -> None:
        if not _READ_ONLY.match(statement):
            self.generation += 1

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Datamart]:
        """All statements inside commit together, or none does.  Nested calls join the outer."""
        if self._in_transaction:
            yield self
            return
        self._in_transaction = True
        try:
            if self.kind == "duckdb":
                con = self.backend.con
                con.execute("BEGIN TRANSACTION")
                try:
                    yield self
                except BaseException:
                    con.execute("ROLLBACK")
                    self.generation += 1
                    raise
                con.execute("COMMIT")
            else:
                try:
                    with self.backend.con.transaction():
                        yield self
                except BaseException:
                    self.generation += 1
                    raise
        finally:
            self._in_transaction = False

    # -- writing -------------------------------------------------------------------------
    def create_table(self, name: str, schema: Any, *, temp: bool = False) -> None:
        """Create an empty table from an ibis schema (no-op if it exists and is not temp)."""
        columns = ", ".join(
            f"{quote(col)} {self._sql_type(dtype)}" for col, dtype in ibis.schema(schema).items()
        )
        kind = "TEMPORARY TABLE" if temp else "TABLE"
        self.sql(f"CREATE {kind} IF NOT EXISTS {quote(name)} ({columns})")

    def create_table_as(self, name: str, expr: ir.Table, *, temp: bool = False) -> None:
        """Materialise an expression as a (replaced) table, inside the current transaction."""
        self.sql(f"DROP TABLE IF EXISTS {quote(name)}")
        kind = "TEMPORARY TABLE" if temp else "TABLE"
        self.sql(f"CREATE {kind} {quote(name)} AS {self.compile(expr)}")

    def drop_table(self, name: str) -> None:
        self.sql(f"DROP TABLE IF EXISTS {quote(name)}")

    def _sql_type(self, dtype: Any) -> str:
        if dtype.is_string():
            return "TEXT"
        if dtype.is_int64():
            return "BIGINT"
        if dtype.is_int32():
            return "INTEGER"
        if dtype.is_int16():
            return "SMALLINT"
        if dtype.is_float64():
            return "DOUBLE PRECISION" if self.kind == "postgres" else "DOUBLE"
        if dtype.is_boolean():
            return "BOOLEAN"
        if dtype.is_timestamp():
            return "TIMESTAMP"
        if dtype.is_date():
            return "DATE"
        raise BackendError(f"unsupported column type {dtype}")

    def bulk_insert(self, name: str, data: pa.Table | pa.RecordBatch) -> int:
        """Append Arrow data to a table, matching columns by name.  Returns the row count."""
        self.generation += 1
        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data])
        if data.num_rows == 0:
            return 0
        if name == "transactions" and "orders" in self.list_tables():
            # The orders table follows the lines whoever appends them (see ingest._orders).
            from clientela.datamart.ingest._orders import refresh_inserted

            with self.transaction():
                inserted = self._append(name, data)
                refresh_inserted(self, data)
            return inserted
        return self._append(name, data)

    def _append(self, name: str, data: pa.Table) -> int:
        columns = ", ".join(quote(c) for c in data.column_names)
        if self.kind == "duckdb":
            view = f"_clientela_arrow_{id(data)}"
            con = self.backend.con
            # The bare C stream: a registered Arrow table would stay alive until the
            # transaction ends, and a load's transaction inserts many.
            con.register(view, data.__arrow_c_stream__())
            try:
                con.execute(f"INSERT INTO {quote(name)} ({columns}) SELECT * FROM {quote(view)}")
            finally:
                con.unregister(view)
            return int(data.num_rows)
        # PostgreSQL: COPY in CSV; unquoted empty fields are NULL, quoted "" is an empty string.
        buffer = io.BytesIO()
        pacsv.write_csv(
            data,
            buffer,
            write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"),
        )
        payload = buffer.getbuffer()
        with (
            self.backend.con.cursor() as cur,
            cur.copy(f"COPY {quote(name)} ({columns}) FROM STDIN (FORMAT csv)") as copy,
        ):
            step = 1 << 20
            for start in range(0, len(payload), step):
                copy.write(payload[start : start + step])
        return int(data.num_rows)


def connect(settings: Settings, *, create: bool = True) -> Datamart:
    """Open the datamart that ``settings.db`` names: a DuckDB file or a postgresql:// URL.

    With ``create=False`` a DuckDB file that does not exist is an error instead of being created.
    """
    if settings.is_postgres:
        return _connect_postgres(settings.db)
    return _connect_duckdb(settings, create=create)


def _connect_duckdb(settings: Settings, *, create: bool) -> Datamart:
    import duckdb

    path = Path(settings.db)
    if not create and not path.exists():
        raise BackendError(f"there is no datamart at {path}: create it with 'clientela init'")
    if path.is_dir():
        raise BackendError(f"the datamart path {path} is a folder, not a DuckDB file")
    if not path.parent.exists():
        raise BackendError(f"the folder of the datamart file {path} does not exist")
    config: dict[str, Any] = {}
    if settings.duckdb_memory_limit:
        config["memory_limit"] = settings.duckdb_memory_limit
    if settings.duckdb_threads:
        config["threads"] = settings.duckdb_threads
    try:
        backend = ibis.duckdb.connect(str(path), **config)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            holder = re.search(r"PID (\d+)", text)
            who = f" (process {holder.group(1)})" if holder else ""
            raise BackendError(
                f"the datamart file {path} is in use by another process{who}; "
                "close it or wait for it to finish, then try again"
            ) from None
        raise BackendError(f"cannot open the datamart file {path}: {text}") from None
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise BackendError(f"cannot open {path} as a DuckDB datamart: {first}") from None
    # DuckDB draws its own progress bar on long queries, into our JSON and tables: off.  The
    # CLI shows Rich progress bars for what a user waits on.
    backend.con.execute("SET enable_progress_bar = false")
    return Datamart(backend, "duckdb", str(path))


def _connect_postgres(url: str) -> Datamart:
    import psycopg

    target = PostgresTarget.parse(url)
    try:
        backend = ibis.postgres.connect(
            host=target.host,
            port=target.port,
            user=target.user,
            password=target.password,
            database=target.database,
            schema=target.schema,
            connect_timeout=10,
        )
    except psycopg.OperationalError as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        reason = text.rsplit(" failed: ", 1)[-1].replace("FATAL: ", "")
        raise BackendError(
            f"cannot connect to PostgreSQL at {target.host}:{target.port}, database "
            f"'{target.database}': {reason.rstrip('.')}."
        ) from None
    return Datamart(backend, "postgres", url)
