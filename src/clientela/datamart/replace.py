"""Replacing a slice of a large indexed table (a model's scores of one date) with new rows.

A rerun of a date (a corrected rule, a back-fill, a model scored again) replaces what the
earlier run stored. Deleting the old rows and inserting the new ones costs, on DuckDB, the
removal of each row from the table's indexes: about 15 s for a million rows, most of it when
the transaction commits. Columns that no index covers are updated in place, which takes well
under a second, so the slice is replaced by updating the rows both hold, deleting the rows of
keys that are gone and inserting the new keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clientela.datamart.backends import Datamart, quote

__all__ = ["replace_slice"]


def replace_slice(
    dm: Datamart,
    table: str,
    where: Mapping[str, Any],
    rows: str,
    key: str,
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Make the rows of ``table`` where each column of ``where`` equals its value the rows of
    the table ``rows`` (one per ``key``), each given ``where``'s values and ``constants`` (the
    columns the same for every new row; ``rows`` holds the others).  Run it inside the caller's
    transaction."""
    fixed = {**where, **(constants or {})}
    varying = [c for c in dm.table(table).columns if c not in fixed]
    target, source, k = quote(table), quote(rows), quote(key)
    names = ", ".join(quote(c) for c in [*fixed, *varying])
    values = ", ".join(["?"] * len(fixed) + [f"r.{quote(c)}" for c in varying])
    in_slice = " AND ".join(f"{quote(column)} = ?" for column in where)
    if not dm.sql(f"SELECT 1 FROM {target} WHERE {in_slice} LIMIT 1", list(where.values())):
        dm.sql(
            f"INSERT INTO {target} ({names}) SELECT {values} FROM {source} AS r", [*fixed.values()]
        )
        return
    assignments = [f"{quote(c)} = ?" for c in constants or {}]
    assignments += [f"{quote(c)} = r.{quote(c)}" for c in varying if c != key]
    dm.sql(
        f"UPDATE {target} SET {', '.join(assignments)} FROM {source} AS r WHERE "
        + " AND ".join(f"{target}.{quote(column)} = ?" for column in where)
        + f" AND {target}.{k} = r.{k}",
        [*(constants or {}).values(), *where.values()],
    )
    dm.sql(
        f"DELETE FROM {target} WHERE {in_slice} AND {k} NOT IN (SELECT {k} FROM {source})",
        list(where.values()),
    )
    dm.sql(
        f"INSERT INTO {target} ({names}) SELECT {values} FROM {source} AS r "
        f"WHERE NOT EXISTS (SELECT 1 FROM {target} AS s WHERE "
        + " AND ".join(f"s.{quote(column)} = ?" for column in where)
        + f" AND s.{k} = r.{k})",
        [*fixed.values(), *where.values()],
    )
