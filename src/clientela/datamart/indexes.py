"""Indexes a load defers until it has committed.

A first load into an empty table on DuckDB stages its rows into a table of the datamart that
then takes the target's place (see :func:`clientela.datamart.ingest._merge.swap_in`): the target
and its indexes are dropped.  Created again inside the load's transaction, the indexes are built
when it commits, and that took 50 s for the 1M benchmark's tables; created on the committed
tables they take 20 s, plus the checkpoints that write them (the 50,000,000 events: 7.2 s).  So
the load records the statements in ``pending_indexes``, in its transaction, and builds them once
it has committed, each in its own transaction that also removes it from the list.  A build that
was interrupted (the process killed after the load committed) is finished by the next command:
the CLI runs :func:`build_pending_indexes` before every command on an initialised datamart.
Until then the data is complete and correct; only the lookups of one customer are slower.
"""

from __future__ import annotations

import datetime as dt

from clientela.datamart.backends import Datamart
from clientela.progress import NO_PROGRESS, Progress

__all__ = ["build_pending_indexes", "defer_indexes", "pending_indexes"]

_TABLE = "pending_indexes"


def defer_indexes(dm: Datamart, table: str) -> int:
    """Record the indexes of ``table`` (DuckDB) as pending; the caller then drops the table.

    Returns how many were recorded.  Runs in the caller's transaction.
    """
    rows = dm.sql(
        "SELECT index_name, sql FROM duckdb_indexes() WHERE table_name = ? "
        "AND schema_name = 'main' AND database_name = current_database() ORDER BY index_name",
        [table],
    )
    recorded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for name, sql in rows:
        dm.sql(
            f"INSERT INTO {_TABLE} (index_name, table_name, sql, recorded_at) VALUES (?, ?, ?, ?)",
            [str(name), table, str(sql), recorded_at],
        )
    return len(rows)


def pending_indexes(dm: Datamart) -> list[tuple[str, str]]:
    """(index, table) of every index still to build, in the order they were recorded."""
    if dm.kind != "duckdb" or not dm.has_table(_TABLE):
        return []
    rows = dm.sql(f"SELECT index_name, table_name FROM {_TABLE} ORDER BY recorded_at, index_name")
    return [(str(name), str(table)) for name, table in rows]


def build_pending_indexes(dm: Datamart, progress: Progress = NO_PROGRESS) -> int:
    """Build every pending index, each in its own transaction; returns how many were built.

    Inside a caller's transaction (a load wrapped in a larger one) they are built in it.
    """
    pending = pending_indexes(dm)
    if not pending:
        return 0
    built = 0
    with progress.task("building indexes", len(pending)) as task:
        for name, table in pending:
            with dm.transaction():
                rows = dm.sql(f"SELECT sql FROM {_TABLE} WHERE index_name = ?", [name])
                exists = dm.sql(
                    "SELECT 1 FROM duckdb_indexes() WHERE index_name = ? "
                    "AND schema_name = 'main' AND database_name = current_database()",
                    [name],
                )
                # The statement is DuckDB's own definition of the index it dropped.
                if rows and not exists and dm.has_table(table):
                    dm.sql(str(rows[0][0]))
                    built += 1
                dm.sql(f"DELETE FROM {_TABLE} WHERE index_name = ?", [name])
            task.advance()
    return built
