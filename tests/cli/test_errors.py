"""User errors: exit code 2, one line on stderr, no traceback."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import CliResult


def _one_line_error(result: CliResult) -> str:
    assert result.code == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_postgres_server_down(cli) -> None:  # type: ignore[no-untyped-def]
    line = _one_line_error(cli("--db", "postgresql://postgres@127.0.0.1:1/test", "status"))
    assert "cannot connect to PostgreSQL at 127.0.0.1:1" in line
    assert "refused" in line


def test_datamart_missing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    line = _one_line_error(cli("--db", tmp_path / "nothing.duckdb", "status"))
    assert "there is no datamart" in line and "clientela init" in line
    assert not (tmp_path / "nothing.duckdb").exists()


def test_unknown_option(cli) -> None:  # type: ignore[no-untyped-def]
    line = _one_line_error(cli("status", "--nope"))
    assert "--nope" in line


def test_config_file_with_misspelt_key(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "clientela.yaml"
    config.write_text("default_region: ES\nunknown_customer: placeholder\n")
    line = _one_line_error(cli("--config", config, "status"))
    assert f"{config}, line 2" in line
    assert "unknown key 'unknown_customer'" in line
    assert "did you mean 'unknown_customers'" in line


def test_datamart_locked_by_another_process(tmp_path: Path) -> None:
    db = tmp_path / "locked.duckdb"
    subprocess.run(
        [sys.executable, "-m", "clientela", "--db", str(db), "init"],
        check=True,
        capture_output=True,
    )
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys
                con = duckdb.connect({str(db)!r})
                print("ready", flush=True)
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        result = subprocess.run(
            [sys.executable, "-m", "clientela", "--db", str(db), "status"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        holder.communicate("", timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "in use by another process" in result.stderr
    assert f"process {holder.pid}" in result.stderr


def test_datamart_out_of_memory(cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rows = [
        f"S{i},C{i % 100},x,like,0.5,2024-01-01 00:00:00,lorem ipsum {i}" for i in range(300_000)
    ]
    csv = tmp_path / "signals.csv"
    csv.write_text(
        "signal_id,customer_id,network,kind,sentiment,occurred_at,content\n" + "\n".join(rows)
    )
    db = tmp_path / "small.duckdb"
    assert cli("--db", db, "init").code == 0
    monkeypatch.setenv("CLIENTELA_DUCKDB_MEMORY_LIMIT", "16MB")
    monkeypatch.setenv("CLIENTELA_UNKNOWN_CUSTOMERS", "placeholder")
    line = _one_line_error(cli("--db", db, "ingest", csv, "--into", "social"))
    assert "ran out of memory" in line and "duckdb_memory_limit" in line
