"""The raw text of rows rejected by a check of the whole file, read again from the file.

A row that fails a row rule keeps its raw text (the source row as JSON) from the transform
query.  The other rows are staged without it, since writing it for every row cost as much as
typing and checking them; the few that a check of the whole file then rejects (a duplicate
key, an unknown customer, a conflict with a loaded row) get it here, from a second reading of
the file that keeps only their lines.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from clientela.datamart.backends import Datamart, quote
from clientela.datamart.ingest._readers import LINE, RawSource

__all__ = ["fill_raw"]


def fill_raw(dm: Datamart, source: RawSource, raw_sql: str, load_id: str) -> int:
    """Set the raw text of the load's rejects that lack it; return how many lines were read.

    ``source`` is the file opened again; ``raw_sql`` turns its columns into the raw text.
    """
    missing = dm.sql(
        "SELECT DISTINCT line FROM rejects WHERE load_id = ? AND raw IS NULL AND line IS NOT NULL",
        [load_id],
    )
    if not missing:
        return 0
    wanted = pa.array(sorted(int(row[0]) for row in missing), pa.int64())
    kept = [
        batch.filter(pc.is_in(batch.column(LINE), value_set=wanted)) for batch in source.batches
    ]
    kept = [batch for batch in kept if batch.num_rows]
    if not kept:
        return 0
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("src", pa.Table.from_batches(kept))
        found = con.execute(f"SELECT {LINE} AS line, {raw_sql} AS raw FROM src").to_arrow_table()
    finally:
        con.close()
    lines = f"_raw_lines_{load_id}"
    dm.create_table(lines, {"line": "int64", "raw": "string"}, temp=True)
    dm.bulk_insert(lines, found)
    dm.sql(
        f"UPDATE rejects SET raw = w.raw FROM {quote(lines)} w "
        "WHERE rejects.load_id = ? AND rejects.line = w.line AND rejects.raw IS NULL",
        [load_id],
    )
    dm.drop_table(lines)
    return int(found.num_rows)
