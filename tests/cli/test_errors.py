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
