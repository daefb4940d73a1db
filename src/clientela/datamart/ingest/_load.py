"""Loads: a file (or a folder of files) into the datamart, atomically and idempotently."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from clientela.config import Settings
from clientela.datamart.backends import Datamart, quote
from clientela.datamart.indexes import build_pending_indexes
from clientela.datamart.ingest._columns import resolve_origins
from clientela.datamart.ingest._mapping import Located, Mapping, load_mapping, load_sources
from clientela.datamart.ingest._merge import (
    StageContext,
    can_swap_in,
    merge,
    reject_duplicates,
    reject_unknown_customers,
    swap_in,
)
from clientela.datamart.ingest._orders import rebuild_orders, refresh_orders, touched_orders
from clientela.datamart.ingest._raw import fill_raw
from clientela.datamart.ingest._readers import RawSource, open_source
from clientela.datamart.ingest._rules import FAIL_TYPE
from clientela.datamart.ingest._transform import (
    Plan,
    build_plan,
    close_transform_connection,
    register_functions,
    transform_connection,
    unregister_functions,
)
from clientela.datamart.ingest.identity import unify
from clientela.datamart.schema import BOOKKEEPING, TableSpec, spec
from clientela.errors import ConfigError, DataError
from clientela.progress import NO_PROGRESS, Progress, ProgressTask

__all__ = ["LoadReport", "ingest_file", "load_folder"]

log = logging.getLogger(__name__)

MappingArg = Path | str | Mapping | None
_REJECT_COLUMNS = "load_id, file, line, target, column_name, value, rule, reason, action, raw"
# The Arrow bytes a chunk of a file takes in memory while it is typed and checked.
CHUNK_BYTES = 32 << 20
_STAGE_EXTRA = {"__line": "int64", "__row": "int64", "__raw": "string"}


@dataclass(frozen=True)
class LoadReport:
    """What one load did.

    ``rows_read`` = inserted + updated + unchanged + rejected + skipped.  Skipped rows are left
    out on purpose, by the mapping's ``where`` or its ``duplicates: first|last``, and counted by
    reason in ``skipped_by_reason``.
    """

    load_id: str
    file: str
    target: str
    rows_read: int
    rows_inserted: int
    rows_updated: int
    rows_unchanged: int
    rows_rejected: int
    rejects_by_rule: dict[str, int] = field(default_factory=dict)
    ignored_columns: tuple[str, ...] = ()
    values_cleared: int = 0
    placeholders_created: int = 0
    rows_skipped: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _located(mapping: MappingArg, base: Path | None = None) -> Located | None:
    if mapping is None:
        return None
    if isinstance(mapping, Mapping):
        return Located(mapping, None, {})
    path = Path(mapping)
    if base is not None and not path.is_absolute():
        path = base / path
    return load_mapping(path)


def ingest_file(
    dm: Datamart,
    settings: Settings,
    path: Path | str | pa.Table,
    table: str,
    mapping: MappingArg = None,
    *,
    progress: Progress = NO_PROGRESS,
    as_of: dt.datetime | None = None,
) -> LoadReport:
    """Load one file (CSV/TXT, gzip or not, XLSX, Parquet) or Arrow table into ``table``.

    Everything commits together or nothing does.  ``as_of`` (naive UTC, default now) stamps the
    load and bounds plausible birth dates.
    """
    target = spec(table)
    located = _located(mapping)
    load_id = uuid.uuid4().hex
    with dm.transaction():
        report = _load_one(dm, settings, path, target, located, load_id, load_id, progress, as_of)
    build_pending_indexes(dm, progress)
    return report


def load_folder(
    dm: Datamart,
    settings: Settings,
    folder: Path | str,
    *,
    progress: Progress = NO_PROGRESS,
    as_of: dt.datetime | None = None,
) -> list[LoadReport]:
    """Load the files ``folder/sources.yaml`` lists, in order, in one transaction, then register
    the scoring models it lists (in the same transaction)."""
    folder = Path(folder)
    sources = load_sources(folder)
    planned = []
    for index, source in enumerate(sources.sources, start=1):
        where = folder / "sources.yaml"
        try:
            target = spec(source.table)
        except Exception as exc:
            raise ConfigError(f"source {index}: {exc}", file=where) from None
        planned.append((folder / source.file, target, _located(source.mapping, folder)))
    batch_id = uuid.uuid4().hex
    reports = []
    with dm.transaction():
        for path, target, located in planned:
            load_id = uuid.uuid4().hex
            reports.append(
                _load_one(dm, settings, path, target, located, load_id, batch_id, progress, as_of)
            )
        if sources.scoring_models:
            # Imported here: scoring reads the datamart that this package loads.
            from clientela.services._score_models import register_model

            for model_file in sources.scoring_models:
                register_model(dm, folder / model_file)
    build_pending_indexes(dm, progress)
    return reports


def _display(path: Path | str | pa.Table) -> str:
    return "(arrow table)" if isinstance(path, pa.Table) else str(path)


def _sha256(path: Path | str | pa.Table) -> str | None:
    if isinstance(path, pa.Table):
        return None
    with Path(path).open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _load_one(
    dm: Datamart,
    settings: Settings,
    path: Path | str | pa.Table,
    target: TableSpec,
    located: Located | None,
    load_id: str,
    batch_id: str,
    progress: Progress,
    as_of: dt.datetime | None,
) -> LoadReport:
    started = as_of or _utcnow()
    name = _display(path)
    mapping = located.mapping if located is not None else Mapping()

    def reopen() -> RawSource:
        return open_source(
            path if isinstance(path, pa.Table) else Path(path),
            name=name,
            delimiter=mapping.delimiter,
            encoding=mapping.encoding,
            header=mapping.header,
            names=mapping.names,
            sheet=mapping.sheet,
            batch_rows=settings.batch_rows,
        )

    raw = reopen()
    origins = resolve_origins(target, located, raw)
    with progress.task(f"loading {Path(name).name} into {target.name}", raw.total) as task:
        first = next(raw.batches, None)
        if first is None and not raw.invalid_rows:
            raise DataError("the file has no data rows; nothing was loaded", file=name)
        stage = f"_stage_{load_id}"
        stage_schema = {**dict(target.schema.items()), **_STAGE_EXTRA}
        # A first load into an empty table on DuckDB stages into a table of the datamart that
        # then becomes the target (see ``swap_in``): the rows are written once, not twice.
        swap = first is not None and can_swap_in(dm, target)
        dm.create_table(stage, stage_schema, temp=not swap)
        read = cleared = filtered = 0
        if first is not None:
            source = f"_clientela_source_{load_id}"
            plan = build_plan(
                target,
                located,
                origins,
                raw.columns,
                first,
                settings,
                started.date(),
                name,
                source=source if dm.kind == "duckdb" else "src",
            )
            transform = _transform_in_datamart if dm.kind == "duckdb" else _transform_all
            read, cleared, filtered = transform(dm, settings, plan, raw, first, load_id, name, task)
        read += _reject_invalid_rows(dm, raw, load_id, target.name)
        ctx = StageContext(dm, target, stage, load_id, name)
        collapsed = reject_duplicates(ctx, mapping.duplicates)
        policy = (mapping.unknown_customers if located else None) or settings.unknown_customers
        unknown, placeholders = reject_unknown_customers(ctx, policy)
        orders = target.name == "transactions"
        if orders and not swap:
            touched_orders(dm, stage, target.key, f"_orders_{load_id}")
        counts = swap_in(ctx, [*_STAGE_EXTRA, *_FAIL_COLUMNS]) if swap else merge(ctx)
        if orders:
            if swap:
                rebuild_orders(dm)
            else:
                refresh_orders(dm, f"_orders_{load_id}")
        duplicates = collapsed if mapping.duplicates == "reject" else 0
        if first is not None and (duplicates or unknown or counts.rejected):
            fill_raw(dm, reopen(), plan.raw_sql, load_id)
        if not swap:
            dm.drop_table(stage)
    by_rule = {
        str(rule): int(n)
        for rule, n in dm.sql(
            "SELECT rule, count(*) FROM rejects WHERE load_id = ? AND action = 'rejected' "
            "GROUP BY rule ORDER BY count(*) DESC, rule",
            [load_id],
        )
    }
    rejected = sum(by_rule.values())
    skipped = {
        "where" if mapping.unpivot is None else "where or empty value": filtered,
        f"duplicates: {mapping.duplicates}": collapsed,
    }
    skipped = {reason: n for reason, n in skipped.items() if n and reason != "duplicates: reject"}
    report = LoadReport(
        load_id=load_id,
        file=name,
        target=target.name,
        rows_read=read,
        rows_inserted=counts.inserted,
        rows_updated=counts.updated,
        rows_unchanged=counts.unchanged,
        rows_rejected=rejected,
        rejects_by_rule=by_rule,
        ignored_columns=origins.ignored,
        values_cleared=cleared,
        placeholders_created=placeholders,
        rows_skipped=sum(skipped.values()),
        skipped_by_reason=skipped,
    )
    dm.sql(
        "INSERT INTO loads (load_id, batch_id, file, sha256, target, started_at, finished_at, "
        "rows_read, rows_inserted, rows_updated, rows_unchanged, rows_rejected, rows_skipped) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            batch_id,
            name,
            _sha256(path),
            target.name,
            started,
            as_of or _utcnow(),
            report.rows_read,
            report.rows_inserted,
            report.rows_updated,
            report.rows_unchanged,
            report.rows_rejected,
            report.rows_skipped,
        ],
    )
    if target.name == "customers":
        unify(dm, settings, at=as_of, progress=progress)
    log.info(
        "loaded %s into %s: %d read, %d inserted, %d updated, %d unchanged, %d rejected",
        name,
        target.name,
        report.rows_read,
        report.rows_inserted,
        report.rows_updated,
        report.rows_unchanged,
        report.rows_rejected,
    )
    return report


def _transform_all(
    dm: Datamart,
    settings: Settings,
    plan: Plan,
    raw: RawSource,
    first: pa.RecordBatch,
    load_id: str,
    name: str,
    task: ProgressTask,
) -> tuple[int, int, int]:
    """Type and check every batch; valid rows to the stage, failures to rejects.

    Returns (rows read, values cleared, rows left out by the mapping's ``where``).
    """
    con = transform_connection(settings)
    stage = f"_stage_{load_id}"
    targets = ", ".join('"' + c + '"' for c in plan.spec.columns)
    read = cleared = filtered = 0
    offset = 0
    done = 0.0
    try:
        for batch in _coalesced(first, raw.batches, settings.batch_rows):
            rows = pa.array(range(offset, offset + batch.num_rows), pa.int64())
            offset += batch.num_rows
            con.register("src", batch.append_column("__row", rows))
            con.execute(f"CREATE OR REPLACE TEMP TABLE result AS {plan.sql}")
            con.unregister("src")
            counted = con.execute(
                "SELECT count(*), count(*) FILTER (WHERE NOT __keep) FROM result"
            ).fetchone()
            read += int(counted[0]) if counted else 0
            filtered += int(counted[1]) if counted else 0
            valid = con.execute(
                f"SELECT {targets}, __line, __row, __raw FROM result "
                "WHERE __keep AND __fail IS NULL"
            ).to_arrow_table()
            dm.bulk_insert(stage, valid)
            cleared += _write_rejects(con, dm, "result", "__keep", load_id, name, plan.spec.name)
            position = raw.position(read)
            task.advance(position - done)
            done = position
    finally:
        close_transform_connection(con)
    return read, cleared, filtered


_FAIL_COLUMNS = {
    "__fail": FAIL_TYPE,
    "__cleared": f"{FAIL_TYPE}[]",
    "__keep": "BOOLEAN",
}


def _transform_in_datamart(
    dm: Datamart,
    settings: Settings,
    plan: Plan,
    raw: RawSource,
    first: pa.RecordBatch,
    load_id: str,
    name: str,
    task: ProgressTask,
) -> tuple[int, int, int]:
    """On a DuckDB datamart: one query streams the whole file into the stage.

    The reader's batches reach DuckDB as an Arrow stream, so Python holds one block at a time
    and the stage (a temporary table, which DuckDB spills to disk beyond ``memory_limit``)
    holds the rows: nothing else grows with the file.  A Parquet file of plain column types is
    read by DuckDB itself, in parallel.  Failing rows are staged too, then moved to ``rejects``
    in one statement each.  Returns what :func:`_transform_all` returns.
    """
    con = dm.backend.con
    stage = quote(f"_stage_{load_id}")
    source = f"_clientela_source_{load_id}"
    for column, sql_type in _FAIL_COLUMNS.items():
        dm.sql(f"ALTER TABLE {stage} ADD COLUMN {quote(column)} {sql_type}")
    failure: list[BaseException] = []
    numbered_rows = [0]

    def numbered() -> Iterator[pa.RecordBatch]:
        # An error of the reader (a bad byte in the middle of the file) would reach DuckDB as
        # text; it is kept and raised as it was once the query ends.
        offset = 0
        done = 0.0
        try:
            for batch in itertools.chain([first], raw.batches):
                rows = pa.array(range(offset, offset + batch.num_rows), pa.int64())
                offset += batch.num_rows
                numbered_rows[0] = offset
                yield pa.RecordBatch.from_arrays(
                    [*batch.columns, rows], names=[*batch.schema.names, "__row"]
                )
                position = raw.position(offset)
                task.advance(position - done)
                done = position
        except Exception as exc:
            failure.append(exc)

    columns = [*plan.spec.columns, "__line", "__row", "__raw", *_FAIL_COLUMNS]
    listed = ", ".join(quote(c) for c in columns)
    register_functions(con, settings)
    parquet = _parquet_relation(raw, first)
    if parquet is not None:
        # DuckDB reads the file itself, in parallel, without Python in the way.
        close = getattr(raw.batches, "close", None)
        if close is not None:
            close()  # the Arrow reader's file
        dm.sql(f"CREATE TEMPORARY VIEW {quote(source)} AS {parquet}")
        numbered_rows[0] = int(raw.total or 0)
    else:
        schema = first.schema.append(pa.field("__row", pa.int64()))
        reader = pa.RecordBatchReader.from_batches(schema, numbered())
        # The bare C stream, not the reader: DuckDB wraps a reader in a pyarrow scanner that
        # runs ahead of the query (holding much of the file), and a registered Arrow object
        # stays alive until the transaction ends.  The stream is consumed once, a batch at a
        # time.
        con.register(source, reader.__arrow_c_stream__())
    try:
        # Rows the mapping's ``where`` leaves out are only counted.
        kept = dm.sql(
            f"INSERT INTO {stage} ({listed}) SELECT {listed} FROM ({plan.sql}) WHERE __keep"
        )
    except duckdb.Error as exc:
        if parquet is None or isinstance(
            exc, duckdb.OutOfMemoryException | duckdb.InterruptException
        ):
            raise
        # The footer and the first rows were read already: the rest of the file is damaged.
        reason = str(exc).splitlines()[0]
        raise DataError(f"cannot read the Parquet file ({reason})", file=name) from None
    finally:
        if parquet is None:
            con.unregister(source)
        unregister_functions(con)
    if failure:
        raise failure[0]
    if parquet is not None:
        dm.sql(f"DROP VIEW {quote(source)}")
        task.advance(raw.total or 0)
    read = numbered_rows[0] * plan.rows_per_source_row
    filtered = read - int(kept[0][0])
    cleared = _stage_rejects(dm, stage, load_id, name, plan.spec.name)
    dm.sql(f"DELETE FROM {stage} WHERE __fail IS NOT NULL")
    return read, cleared, filtered


def _native_type(dtype: pa.DataType) -> bool:
    """A Parquet column type DuckDB reads as the type Arrow gives it (the plan's view)."""
    if pa.types.is_timestamp(dtype):
        return bool(dtype.unit == "us" and dtype.tz is None)
    return bool(
        pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or dtype in (pa.int32(), pa.int64(), pa.float64(), pa.bool_(), pa.date32())
    )


def _parquet_relation(raw: RawSource, first: pa.RecordBatch) -> str | None:
    """The SQL that reads a Parquet source in DuckDB as the reader would (columns s0, s1, ...,
    ``__line`` and ``__row``), or None when only the Arrow reader reads it faithfully."""
    fields = [f for f in first.schema if f.name != "__line"]
    if raw.kind != "parquet" or raw.path is None or not all(_native_type(f.type) for f in fields):
        return None
    names = ", ".join(quote(f"s{i}") for i in range(len(fields)))
    path = "'" + str(raw.path).replace("'", "''") + "'"
    return (
        "SELECT * EXCLUDE (__file_row), __file_row + 1 AS __line, __file_row AS __row "
        f"FROM read_parquet({path}, file_row_number = true) AS parquet_file({names}, __file_row)"
    )


def _write_rejects(
    con: Any, dm: Datamart, relation: str, kept: str, load_id: str, file: str, target: str
) -> int:
    """Copy the failing rows and the cleared values of ``relation`` (rows where ``kept``) to
    ``rejects``; return how many values were cleared."""
    select = "SELECT __line AS line, f.column_name, f.value, f.rule, f.reason, __raw AS raw FROM "
    failed = con.execute(
        f"{select}(SELECT __line, __raw, __fail AS f FROM {relation} "
        f"WHERE {kept} AND __fail IS NOT NULL)"
    ).to_arrow_table()
    dm.bulk_insert("rejects", _as_rejects(failed, load_id, file, target, "rejected"))
    values = con.execute(
        f"{select}(SELECT __line, __raw, unnest(__cleared) AS f FROM {relation} "
        f"WHERE {kept} AND __fail IS NULL AND len(__cleared) > 0)"
    ).to_arrow_table()
    dm.bulk_insert("rejects", _as_rejects(values, load_id, file, target, "value_cleared"))
    return int(values.num_rows)


def _stage_rejects(dm: Datamart, stage: str, load_id: str, file: str, target: str) -> int:
    """Move the failing rows and the cleared values of a DuckDB stage to ``rejects``, in the
    datamart; return how many values were cleared."""
    failed, cleared = dm.sql(
        "SELECT count(*) FILTER (WHERE __fail IS NOT NULL), "
        f"coalesce(sum(len(__cleared)) FILTER (WHERE __fail IS NULL), 0) FROM {stage}"
    )[0]
    insert = (
        f"INSERT INTO rejects ({_REJECT_COLUMNS}) SELECT ?, ?, __line, ?, f.column_name, "
        "f.value, f.rule, f.reason, ?, __raw FROM "
    )
    # Only inserts that add rows: DuckDB (1.5) loses the rows of a large INSERT ... SELECT that
    # follows an empty one into the same table in the same transaction (a load folder).
    if failed:
        dm.sql(
            f"{insert}(SELECT __line, __raw, __fail AS f FROM {stage} WHERE __fail IS NOT NULL)",
            [load_id, file, target, "rejected"],
        )
    if cleared:
        dm.sql(
            f"{insert}(SELECT __line, __raw, unnest(__cleared) AS f FROM {stage} "
            "WHERE __fail IS NULL AND len(__cleared) > 0)",
            [load_id, file, target, "value_cleared"],
        )
    return int(cleared)


def _coalesced(
    first: pa.RecordBatch, rest: Iterator[pa.RecordBatch], rows: int
) -> Iterator[pa.Table]:
    """Readers' small batches gathered into tables of about ``rows`` rows or
    :data:`CHUNK_BYTES`, whichever comes first.

    Each table costs one planning of the transform query, so few large ones beat many small
    ones; the bounds keep the memory a table takes independent of the file.
    """
    pending = [first]
    size, nbytes = first.num_rows, first.nbytes
    for batch in rest:
        if size and (size + batch.num_rows > rows or nbytes + batch.nbytes > CHUNK_BYTES):
            yield pa.Table.from_batches(pending)
            pending, size, nbytes = [], 0, 0
        pending.append(batch)
        size += batch.num_rows
        nbytes += batch.nbytes
    if pending:
        yield pa.Table.from_batches(pending)


def _as_rejects(table: pa.Table, load_id: str, file: str, target: str, action: str) -> pa.Table:
    n = table.num_rows
    columns = {
        "load_id": pa.array([load_id] * n, pa.string()),
        "file": pa.array([file] * n, pa.string()),
        "line": table.column("line").cast(pa.int64()),
        "target": pa.array([target] * n, pa.string()),
        "column_name": table.column("column_name").cast(pa.string()),
        "value": table.column("value").cast(pa.string()),
        "rule": table.column("rule").cast(pa.string()),
        "reason": table.column("reason").cast(pa.string()),
        "action": pa.array([action] * n, pa.string()),
        "raw": table.column("raw").cast(pa.string()),
    }
    return pa.table(columns, schema=BOOKKEEPING["rejects"].to_pyarrow())


def _reject_invalid_rows(dm: Datamart, raw: RawSource, load_id: str, target: str) -> int:
    """Lines that did not split into the header's columns are rejected (rule 'columns')."""
    if not raw.invalid_rows:
        return 0
    rows = raw.invalid_rows
    table = pa.table(
        {
            "line": pa.array([r.line for r in rows], pa.int64()),
            "column_name": pa.array([None] * len(rows), pa.string()),
            "value": pa.array([r.text[:200] for r in rows], pa.string()),
            "rule": pa.array(["columns"] * len(rows), pa.string()),
            "reason": pa.array(
                [f"expected {r.expected} fields, found {r.actual}" for r in rows], pa.string()
            ),
            "raw": pa.array([json.dumps({"line": r.text}) for r in rows], pa.string()),
        }
    )
    dm.bulk_insert("rejects", _as_rejects(table, load_id, raw.name, target, "rejected"))
    return len(rows)
