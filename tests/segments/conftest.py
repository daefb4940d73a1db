"""The demo company and Online Retail, each loaded once per test process (read them, do not
change them: tests that save segments copy the demo first)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clientela.config import Settings
from clientela.datamart import connect, migrate
from clientela.datamart.ingest import load_folder
from clientela.demo import build_demo
from tests.conftest import REPO

DEMO_CUSTOMERS = 1500


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A DuckDB datamart holding the demo company (built: customer_summary is there)."""
    settings = Settings(db=str(tmp_path_factory.mktemp("demo") / "demo.duckdb"))
    with connect(settings) as dm:
        build_demo(dm, settings, customers=DEMO_CUSTOMERS, seed=7)
    return settings.db


@pytest.fixture
def demo_settings(demo_db: str) -> Settings:
    return Settings(db=demo_db)


@pytest.fixture
def demo_copy(demo_db: str, tmp_path: Path) -> str:
    """A copy of the demo datamart that a test may change."""
    target = tmp_path / "demo.duckdb"
    target.write_bytes(Path(demo_db).read_bytes())
    return str(target)


@pytest.fixture(scope="session")
def retail_db(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A DuckDB datamart holding Online Retail (`clientela load examples/online_retail`)."""
    settings = Settings(db=str(tmp_path_factory.mktemp("retail") / "retail.duckdb"))
    with connect(settings) as dm:
        migrate(dm)
        load_folder(dm, settings, REPO / "examples" / "online_retail")
    return settings.db
