"""The CDNOW sample loaded once per test process, as `clientela load examples/cdnow_sample` does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from clientela.config import Settings
from clientela.datamart import connect, migrate
from clientela.datamart.ingest import load_folder
from tests.conftest import REPO

# Fader, Hardie and Lee's calibration period: weeks 1-39, 1997-01-01 to 1997-09-30 included.
CALIBRATION_END = dt.date(1997, 9, 30)


@pytest.fixture(scope="session")
def cdnow_db(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A DuckDB datamart holding the 2,357-customer CDNOW sample (read it, do not change it)."""
    settings = Settings(db=str(tmp_path_factory.mktemp("cdnow") / "cdnow.duckdb"))
    with connect(settings) as dm:
        migrate(dm)
        load_folder(dm, settings, REPO / "examples" / "cdnow_sample")
    return settings.db


@pytest.fixture
def cdnow_settings(cdnow_db: str) -> Settings:
    return Settings(db=cdnow_db)
