"""A file larger than the memory a load may use is streamed: memory does not grow with the file.

Two files of the same shape, one four times the size of the other (82 MB and 327 MB), are loaded
in fresh processes with DuckDB limited to 128 MB.  The peak resident memory of the second load
must stay close to the first's: a load that held the file (or its rows) in memory would need
over 300 MB more for the larger one.

Both loads must be past what DuckDB itself holds however well the load streams, or the test
would measure DuckDB instead: it caches what it writes until it reaches ``memory_limit``, and
it builds a table's rows a row group (122,880 rows) at a time.  A plain ``INSERT INTO social
SELECT * FROM read_csv(...)``, without clientela, peaks about 240 MB higher for a 163 MB file
than for a 41 MB one with a 256 MB limit.  Hence the smaller file's 160,000 rows (over one row
group, and a staging table larger than the limit).
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

ROW = "S{i},C{c},x,like,0.5,2024-01-01 00:00:00,{text}\n"
TEXT = "lorem ipsum dolor sit amet " * 17


def _write(path: Path, rows: int) -> int:
    with path.open("w") as f:
        f.write("signal_id,customer_id,network,kind,sentiment,occurred_at,content\n")
        chunk = 20_000
        for start in range(0, rows, chunk):
            f.write(
                "".join(
                    ROW.format(i=i, c=i % 1000, text=f"{i} {TEXT}")
                    for i in range(start, min(start + chunk, rows))
                )
            )
    return path.stat().st_size


def _peak_after_load(tmp_path: Path, csv: Path, rows: int) -> int:
    """Load ``csv`` in a new process; the largest peak RSS of any child so far, in bytes."""
    db = tmp_path / f"{csv.stem}.duckdb"
    env = {
        "CLIENTELA_DUCKDB_MEMORY_LIMIT": "128MB",
        # One thread: the peak then does not depend on how many batches the machine's other
        # work lets DuckDB keep in flight at once.
        "CLIENTELA_DUCKDB_THREADS": "1",
        "CLIENTELA_UNKNOWN_CUSTOMERS": "placeholder",
        "PATH": "",
    }
    run = [sys.executable, "-m", "clientela", "--db", str(db)]
    subprocess.run([*run, "init"], check=True, capture_output=True, env=env)
    result = subprocess.run(
        [*run, "ingest", str(csv), "--into", "social", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert f'"rows_inserted": {rows}' in result.stdout
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


@pytest.mark.slow
def test_a_large_file_loads_with_bounded_memory(tmp_path: Path) -> None:
    small_rows, large_rows = 160_000, 640_000
    small = _write(tmp_path / "small.csv", small_rows)
    large = _write(tmp_path / "large.csv", large_rows)
    assert large - small > 220 * 1024 * 1024
    peak_small = _peak_after_load(tmp_path, tmp_path / "small.csv", small_rows)
    peak_large = _peak_after_load(tmp_path, tmp_path / "large.csv", large_rows)
    growth = peak_large - peak_small
    assert growth < 0.25 * (large - small), (peak_small, peak_large, small, large)
