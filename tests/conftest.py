"""Shared fixtures: a fresh datamart on every backend, the CLI in-process, the real data sets.

The ``datamart`` fixture runs each test on DuckDB, and on PostgreSQL when
``CLIENTELA_TEST_POSTGRES_URL`` is set (CI sets it); every test gets its own DuckDB file or its own
PostgreSQL schema.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from clientela.config import Settings
from clientela.datamart import Datamart, connect, migrate

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
POSTGRES_URL = os.environ.get("CLIENTELA_TEST_POSTGRES_URL")

BACKENDS = ["duckdb", "postgres"]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's own CLIENTELA_* variables must not leak into tests."""
    for name in list(os.environ):
        if name.startswith("CLIENTELA_") and name != "CLIENTELA_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A postgresql:// URL whose search_path is a new, empty schema (dropped afterwards)."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need CLIENTELA_TEST_POSTGRES_URL (CI sets it)")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}schema={schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for a fresh, empty datamart on each backend."""
    if request.param == "duckdb":
        return Settings(db=str(tmp_path / "datamart.duckdb"))
    url = request.getfixturevalue("postgres_schema_url")
    return Settings(db=url)


@pytest.fixture
def datamart(settings: Settings) -> Iterator[Datamart]:
    """An initialised, empty datamart on each backend."""
    dm = connect(settings)
    migrate(dm)
    try:
        yield dm
    finally:
        dm.close()


@pytest.fixture
def duckdb_settings(tmp_path: Path) -> Settings:
    """Settings for a fresh DuckDB datamart only (CLI and file-handling tests)."""
    return Settings(db=str(tmp_path / "datamart.duckdb"))


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``clientela ARGS...`` in-process; returns the exit code and captured output."""
    from clientela.cli import main

    def run(*args: str | Path) -> CliResult:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data sets (../shared/data); tests that need them skip without them."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared data sets are not beside the repository ({SHARED_DATA})")
    return SHARED_DATA
