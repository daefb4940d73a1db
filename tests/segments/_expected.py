"""Independent computations of a profile's numbers with pandas, from the features frame."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from clientela.datamart import Datamart
from clientela.models._features import FeatureSpec, point_in_time_features
from clientela.services._model_examples import model_tables
from clientela.services._summary import default_as_of


def features_frame(dm: Datamart) -> tuple[pd.DataFrame, dt.date]:
    """The base with the features whose names do not depend on the data (windows 30/90/365)."""
    as_of = default_as_of(dm)
    tables = model_tables(dm)
    frame = dm.to_pandas(point_in_time_features(tables, as_of, FeatureSpec()))
    return frame.set_index("profile_id"), as_of


def mean_effect(values: pd.Series, members: pd.Series) -> tuple[float, float, float]:
    """(members' mean, the rest's mean, Cohen's d with the pooled sample deviation)."""
    inside = values[members].dropna().astype(float)
    outside = values[~members].dropna().astype(float)
    pooled = ((len(inside) - 1) * inside.var(ddof=1) + (len(outside) - 1) * outside.var(ddof=1)) / (
        len(inside) + len(outside) - 2
    )
    return inside.mean(), outside.mean(), (inside.mean() - outside.mean()) / math.sqrt(pooled)


def share_effect(flags: pd.Series, members: pd.Series) -> tuple[float, float, float]:
    """(members' share, the rest's share, Cohen's h)."""
    inside = float(np.mean(flags[members]))
    outside = float(np.mean(flags[~members]))
    h = 2 * math.asin(math.sqrt(inside)) - 2 * math.asin(math.sqrt(outside))
    return inside, outside, h
