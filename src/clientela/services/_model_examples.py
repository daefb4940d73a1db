"""The examples a predictive model learns from and scores: the data's time span, the feature
spec chosen at a cut-off, and the point-in-time features (with labels) of a population.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from clientela.datamart import Datamart
from clientela.errors import DataError
from clientela.models._contract_features import CONTRACT_FEATURES, contract_features
from clientela.models._features import (
    FeatureSpec,
    FeatureTables,
    known_profiles,
    point_in_time_features,
)
from clientela.models._labels import Target, labels
from clientela.services._summary import scalar

__all__ = [
    "ValueLimits",
    "as_day",
    "build_examples",
    "check_window",
    "choose_features",
    "data_end",
    "frequent_values_spec",
    "history_end",
    "latest_cutoff",
    "model_tables",
    "scoring_features",
]


def model_tables(dm: Datamart) -> FeatureTables:
    return FeatureTables(
        customers=dm.table("customers"),
        identity=dm.table("identity"),
        transactions=dm.table("transactions"),
        events=dm.table("events"),
        interactions=dm.table("interactions"),
        third_party=dm.table("third_party"),
        social=dm.table("social"),
        consents=dm.table("consents"),
        score_snapshots=dm.table("score_snapshots"),
        contracts=dm.table("contracts"),
    )


# -- the data's time span ----------------------------------------------------------------------
def as_day(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _span(dm: Datamart, tables: Sequence[tuple[str, str]]) -> tuple[dt.date, dt.date] | None:
    firsts, lasts = [], []
    for table, column in tables:
        t = dm.table(table)
        first = as_day(scalar(dm, t[column].min()))
        last = as_day(scalar(dm, t[column].max()))
        if first is not None and last is not None:
            firsts.append(first)
            lasts.append(last)
    return (min(firsts), max(lasts)) if firsts else None


def _outcome_tables(target: Target) -> list[tuple[str, str]]:
    if target.by_contract:
        return [("contracts", "started_at"), ("contracts", "ended_at")]
    if target.kind in ("propensity", "churn"):
        return [("transactions", "occurred_at")]
    if target.kind == "response":
        return [("interactions", "occurred_at")]
    return [("interactions", "occurred_at"), ("transactions", "occurred_at")]


_HISTORY_TABLES = [
    ("transactions", "occurred_at"),
    ("events", "occurred_at"),
    ("interactions", "occurred_at"),
    ("third_party", "as_of"),
    ("social", "occurred_at"),
]


def check_window(dm: Datamart, cutoff: dt.date, target: Target) -> None:
    """DataError when the cut-off is outside the data or the outcome window runs past it."""
    history = _span(dm, _HISTORY_TABLES)
    outcomes = _span(dm, _outcome_tables(target))
    if history is None or outcomes is None:
        what = " and ".join(dict.fromkeys(t for t, _ in _outcome_tables(target)))
        raise DataError(f"the datamart has no {what} to learn the {target.kind} outcome from")
    first = history[0]
    if cutoff <= first:
        raise DataError(
            f"the cut-off {cutoff} is not after the data, which starts on {first}: features "
            "need history before the cut-off",
            value=str(cutoff),
            rule="cutoff",
        )
    if cutoff > outcomes[1]:
        raise DataError(
            f"the cut-off {cutoff} is after the data, which ends on {outcomes[1]}",
            value=str(cutoff),
            rule="cutoff",
        )
    start, end = target.window(cutoff)
    after_data = outcomes[1] + dt.timedelta(days=1)
    if end > after_data:
        latest = after_data - dt.timedelta(days=target.outcome_days)
        raise DataError(
            f"the outcome window {start} to {end - dt.timedelta(days=1)} runs past the data, "
            f"which ends on {outcomes[1]}: choose a cut-off on or before {latest}, or fewer "
            f"outcome days (at most {(after_data - cutoff).days} from {cutoff})",
            value=str(cutoff),
            rule="outcome window",
        )


def data_end(dm: Datamart, target: Target) -> dt.date | None:
    """The last day of the data the target's outcome is read from (None without data)."""
    span = _span(dm, _outcome_tables(target))
    return None if span is None else span[1]


def latest_cutoff(dm: Datamart, target: Target) -> dt.date:
    """The latest cut-off whose outcome window the data covers."""
    end = data_end(dm, target)
    if end is None:
        what = " and ".join(dict.fromkeys(t for t, _ in _outcome_tables(target)))
        raise DataError(f"the datamart has no {what} to learn the {target.kind} outcome from")
    return end + dt.timedelta(days=1) - dt.timedelta(days=target.outcome_days)


# -- examples ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ValueLimits:
    """How many of the most frequent values of each kind become features."""

    event_types: int
    interaction_kinds: int
    outcomes: int
    social_kinds: int
    consent_channels: int
    attributes: int
    score_models: int


_MODEL_LIMITS = ValueLimits(
    event_types=20,
    interaction_kinds=20,
    outcomes=20,
    social_kinds=10,
    consent_channels=10,
    attributes=100,
    score_models=10,
)


def _top_values(
    dm: Datamart, table: ir.Table, column: str, moment: ir.Value, limit: int
) -> tuple[str, ...]:
    rows = table.filter(moment & table[column].notnull())
    counted = rows.group_by(column).aggregate(_n=rows.count())
    ordered = counted.order_by([counted._n.desc(), counted[column]]).limit(limit)
    return tuple(str(v) for v in dm.to_pyarrow(ordered).column(column).to_pylist())


def frequent_values_spec(
    dm: Datamart,
    cutoff: dt.date,
    limits: ValueLimits,
    windows: tuple[int, ...],
    *,
    product: str | None = None,
    category: str | None = None,
) -> FeatureSpec:
    """A feature spec whose values are the most frequent ones seen before the cut-off."""
    moment = ibis.literal(dt.datetime.combine(cutoff, dt.time()), type="timestamp")
    day = ibis.literal(cutoff, type="date")
    t = model_tables(dm)
    return FeatureSpec(
        windows=windows,
        event_types=_top_values(
            dm, t.events, "event_type", t.events.occurred_at < moment, limits.event_types
        ),
        interaction_kinds=_top_values(
            dm,
            t.interactions,
            "kind",
            t.interactions.occurred_at < moment,
            limits.interaction_kinds,
        ),
        outcomes=_top_values(
            dm, t.interactions, "outcome", t.interactions.occurred_at < moment, limits.outcomes
        ),
        social_kinds=_top_values(
            dm, t.social, "kind", t.social.occurred_at < moment, limits.social_kinds
        ),
        consent_channels=_top_values(
            dm, t.consents, "channel", t.consents.recorded_at < moment, limits.consent_channels
        ),
        attributes=_top_values(
            dm,
            t.third_party,
            "attribute",
            t.third_party.as_of.isnull() | (t.third_party.as_of < day),
            limits.attributes,
        ),
        score_models=_top_values(
            dm, t.score_snapshots, "model", t.score_snapshots.as_of <= day, limits.score_models
        )
        if t.score_snapshots is not None
        else (),
        product=product,
        category=category,
    )


def choose_features(
    dm: Datamart, cutoff: dt.date, target: Target, windows: tuple[int, ...] = (30, 90, 365)
) -> FeatureSpec:
    """The feature spec of a model: the most frequent values seen before the cut-off."""
    return frequent_values_spec(
        dm, cutoff, _MODEL_LIMITS, windows, product=target.product, category=target.category
    )


def build_examples(
    dm: Datamart, cutoff: dt.date, target: Target, spec: FeatureSpec, *, with_labels: bool = True
) -> pd.DataFrame:
    """The examples at ``cutoff``: ``profile_id``, the features and (with labels) ``label``.

    Without labels, the population is the target's (for ``response``: every known profile).
    """
    tables = model_tables(dm)
    features = point_in_time_features(tables, cutoff, spec)
    if target.by_contract and tables.contracts is not None:
        held = contract_features(tables.contracts, tables.identity, cutoff)
        held = held.rename(_holder="profile_id")
        joined_held = features.left_join(held, features.profile_id == held._holder)
        features = joined_held.select(*features.columns, *CONTRACT_FEATURES)
    if with_labels or target.kind != "response":
        population = labels(tables, cutoff, target)
    else:
        population = known_profiles(tables.customers, tables.identity, cutoff).select("profile_id")
    keep = population.rename(_example="profile_id")
    joined = keep.inner_join(features, keep._example == features.profile_id)
    extra = ["label"] if with_labels else []
    expression = joined.select(*features.columns, *extra).order_by("profile_id")
    frame = dm.to_pandas(expression)
    return frame.set_index("profile_id")


def scoring_features(
    dm: Datamart, as_of: dt.date, target: Target, spec: FeatureSpec, features: Sequence[str]
) -> pd.DataFrame:
    """The population to score as of ``as_of``, with exactly the model's ``features``."""
    frame = build_examples(dm, as_of, target, spec, with_labels=False)
    for column in features:
        if column not in frame.columns:  # a value not seen before the new as-of date: no rows
            frame[column] = np.nan
    return frame.loc[:, list(features)]


def history_end(dm: Datamart) -> dt.date | None:
    """The last day of any dated history (transactions, events, interactions...)."""
    span = _span(dm, _HISTORY_TABLES)
    return None if span is None else span[1]
