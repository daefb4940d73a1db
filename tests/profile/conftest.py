from __future__ import annotations

import pandas as pd
import pytest

from clientela.datamart import Datamart
from tests.profile._data import load, make_dataset


@pytest.fixture
def frames() -> dict[str, pd.DataFrame]:
    return make_dataset()


@pytest.fixture
def loaded(datamart: Datamart, frames: dict[str, pd.DataFrame]) -> Datamart:
    """The datamart fixture holding the generated data set."""
    load(datamart, frames)
    return datamart
