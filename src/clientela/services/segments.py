"""Segments on the datamart: who is in one, its profile, its look-alikes, behavioural clusters.

The base is every profile known before the as-of date (the day after the newest transaction by
default), described by the point-in-time features of the predictive models
(:mod:`clientela.models._features`: transactions, RFM scores, behaviour, interactions, social
signals, consents, third-party attributes, rule scores) plus the value tier and the RFM segment.
The features are materialised once per call as a temporary table; a profile then needs two
grouped queries, whatever the size of the base.  Look-alikes and clusters read the features into
memory (scikit-learn fits on them).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.errors import DataError
from clientela.segments._matrix import Column, design_matrix
from clientela.segments.clusters import cluster_customers
from clientela.segments.definition import Segment
from clientela.segments.lookalike import lookalike_scores
from clientela.segments.profile import GROUP, GroupProfile, Trait, readable_number
from clientela.services._segment_base import (
    FEATURES_TABLE,
    SegmentBase,
    defining_features,
    group_profiles,
    materialise_base,
    resolve_segment,
    save_segment,
    segment_members,
)
from clientela.services._segment_store import SavedSegment, list_segments, load_segment
from clientela.services._summary import default_as_of

__all__ = [
    "ClusterInfo",
    "ClusterReport",
    "Lookalike",
    "LookalikeReport",
    "SavedSegment",
    "SegmentProfile",
    "cluster_base",
    "find_lookalikes",
    "list_segments",
    "load_segment",
    "profile_segment",
    "resolve_segment",
    "save_segment",
    "segment_members",
]

log = logging.getLogger(__name__)

_GROUPS = "_segment_groups"


# -- profiles --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SegmentProfile:
    segment: str
    definition: str
    as_of: dt.date
    members: int
    base: int
    share: float
    traits: list[Trait]


def _flagged(base: SegmentBase, members: ir.Table) -> ir.Table:
    distinct = members.select(_member=members.profile_id).distinct()
    joined = base.table.left_join(distinct, base.table.profile_id == distinct._member)
    flag = ibis.ifelse(joined._member.notnull(), "segment", "rest")
    return joined.select(*[joined[c] for c in base.table.columns], **{GROUP: flag})


def _check_size(segment: Segment, members: int, base: int, as_of: dt.date) -> None:
    if members == 0:
        raise DataError(
            f"{segment.label} has no members among the {base:,} customers known before "
            f"{as_of}: nothing to compare",
            rule="segment size",
        )
    if members == base:
        raise DataError(
            f"{segment.label} holds all {base:,} customers known before {as_of}: there is no "
            "rest of the base to compare it with",
            rule="segment size",
        )


def profile_segment(
    dm: Datamart,
    settings: Settings,
    segment: Segment,
    as_of: dt.date | None = None,
    *,
    top: int | None = 15,
) -> SegmentProfile:
    """The traits that set the segment apart from the rest of the base, strongest first."""
    as_of = as_of or default_as_of(dm)
    members = segment_members(dm, settings, segment, as_of)
    base = materialise_base(dm, settings, as_of)
    try:
        profiles = group_profiles(
            dm, base, _flagged(base, members), defining_features(segment, base), top
        )
    finally:
        dm.drop_table(FEATURES_TABLE)
    sizes = {group: profile.members for group, profile in profiles.items()}
    _check_size(segment, sizes.get("segment", 0), sum(sizes.values()), as_of)
    mine = profiles["segment"]
    return SegmentProfile(
        segment=segment.label,
        definition=segment.text,
        as_of=as_of,
        members=mine.members,
        base=mine.base,
        share=mine.share,
        traits=mine.traits,
    )


# -- look-alikes -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Lookalike:
    rank: int
    profile_id: str
    score: float
    traits: list[str]


@dataclass(frozen=True)
class LookalikeReport:
    """``separation``: the cross-fitted ROC AUC of members against the rest (0.5: the features
    do not tell them apart; near 1: the segment has clear traits)."""

    segment: str
    as_of: dt.date
    members: int
    candidates: int
    separation: float
    lookalikes: list[Lookalike] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "rank": [x.rank for x in self.lookalikes],
                "profile_id": [x.profile_id for x in self.lookalikes],
                "score": [x.score for x in self.lookalikes],
                "traits": ["; ".join(x.traits) for x in self.lookalikes],
            }
        )


def _member_mask(dm: Datamart, frame: pd.DataFrame, members: ir.Table) -> np.ndarray:
    ids = set(dm.to_pyarrow(members.select("profile_id").distinct()).column(0).to_pylist())
    mask: np.ndarray = frame["profile_id"].isin(ids).to_numpy()
    return mask


def _trait_text(
    column: Column, row: pd.Series, member_means: dict[str, float], base: SegmentBase
) -> str:
    if column.part == "category":
        return base.labeller.value(column.feature, str(column.value))
    label = base.labeller.numeric(column.feature)
    if column.part == "missing":
        return f"no {label.noun}"
    value = readable_number(float(row[column.feature]))
    return f"{label.noun} {value} (members {readable_number(member_means[column.feature])})"


def find_lookalikes(
    dm: Datamart,
    settings: Settings,
    segment: Segment,
    as_of: dt.date | None = None,
    *,
    top: int = 20,
    seed: int = 0,
) -> LookalikeReport:
    """The customers outside the segment that most resemble its members (module
    :mod:`clientela.segments.lookalike`), best first, with the traits that make them so."""
    from sklearn.metrics import roc_auc_score

    as_of = as_of or default_as_of(dm)
    members = segment_members(dm, settings, segment, as_of)
    base = materialise_base(dm, settings, as_of)
    try:
        frame = dm.to_pandas(base.table.order_by("profile_id"))
    finally:
        dm.drop_table(FEATURES_TABLE)
    mask = _member_mask(dm, frame, members)
    _check_size(segment, int(mask.sum()), len(mask), as_of)
    exclude = defining_features(segment, base)
    numeric = [c for c in base.numeric if c not in exclude]
    categorical = [c for c in base.categorical if c not in exclude]
    matrix = design_matrix(frame, numeric, categorical)
    fitted = lookalike_scores(matrix, mask, seed=seed)
    member_means = {c: float(pd.to_numeric(frame.loc[mask, c]).mean()) for c in numeric}
    outside = np.flatnonzero(~mask)
    order = outside[np.argsort(-fitted.scores[outside], kind="stable")][:top]
    lookalikes = [
        Lookalike(
            rank=rank,
            profile_id=str(frame["profile_id"].iloc[i]),
            score=float(fitted.scores[i]),
            traits=[
                _trait_text(matrix.columns[c], frame.iloc[i], member_means, base)
                for c in fitted.reasons[i]
            ],
        )
        for rank, i in enumerate(order, start=1)
    ]
    return LookalikeReport(
        segment=segment.label,
        as_of=as_of,
        members=int(mask.sum()),
        candidates=int((~mask).sum()),
        separation=float(roc_auc_score(mask, fitted.scores)),
        lookalikes=lookalikes,
    )


# -- clusters --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClusterInfo:
    cluster: int
    name: str
    size: int
    share: float
    traits: list[Trait]


@dataclass(frozen=True)
class ClusterReport:
    as_of: dt.date
    k: int
    customers: int
    features: list[str]
    silhouettes: dict[int, float]
    clusters: list[ClusterInfo]


def _cluster_features(base: SegmentBase) -> list[str]:
    """Recency, frequency, monetary value and behaviour (the longest window, or totals)."""
    longest = max(base.spec.windows)
    chosen = ["days_since_last_purchase", "orders", "revenue", "average_order_value"]
    chosen += ["returns", "products", f"social_{longest}d", "days_since_last_interaction"]
    behaviour = [
        c
        for c in base.numeric
        if (c.startswith("events_") and c.endswith(f"_{longest}d"))
        or (c.startswith("interactions_") and not c.endswith("d"))
    ]
    return [c for c in [*chosen, *behaviour] if c in base.numeric]


def _cluster_name(profile: GroupProfile, features: list[str], base: SegmentBase) -> str:
    words = []
    for trait in profile.traits:
        # Means only: "high frequency" must mean more orders, not a larger share with any.
        if trait.feature not in features or trait.kind != "mean":
            continue
        short = base.labeller.numeric(trait.feature).short
        if short in ("recency", "contact recency"):
            word = ("lapsed" if trait.effect > 0 else "recent") + (
                "" if short == "recency" else " contact"
            )
        else:
            word = f"{'high' if trait.effect > 0 else 'low'} {short}"
        if word not in words:
            words.append(word)
        if len(words) == 2:
            break
    return ", ".join(words) or "average"


def cluster_base(
    dm: Datamart,
    settings: Settings,
    as_of: dt.date | None = None,
    *,
    k: int | None = None,
    seed: int = 0,
    top: int | None = 8,
) -> ClusterReport:
    """Behavioural clusters of the base (:mod:`clientela.segments.clusters`), each described
    by its profile against the rest of the base."""
    as_of = as_of or default_as_of(dm)
    base = materialise_base(dm, settings, as_of)
    try:
        frame = dm.to_pandas(base.table.order_by("profile_id"))
        features = _cluster_features(base)
        # Never bought (never contacted): longer ago than anyone who did.
        missing = dict.fromkeys(features, 0.0)
        for column in ("days_since_last_purchase", "days_since_last_interaction"):
            missing[column] = _longest_ago(frame, column)
        matrix = design_matrix(frame, features, missing=missing)
        clustering = cluster_customers(matrix.values, k=k, seed=seed)
        labels = pa.table(
            {
                "_labelled": pa.array(frame["profile_id"].astype(str), pa.string()),
                GROUP: pa.array([str(c) for c in clustering.labels], pa.string()),
            }
        )
        dm.drop_table(_GROUPS)
        dm.create_table(_GROUPS, ibis.schema({"_labelled": "string", GROUP: "string"}), temp=True)
        dm.bulk_insert(_GROUPS, labels)
        groups = dm.temp_table(_GROUPS)
        joined = base.table.inner_join(groups, base.table.profile_id == groups._labelled)
        grouped = joined.select(*[joined[c] for c in base.table.columns], joined[GROUP])
        profiles = group_profiles(dm, base, grouped, set(), None)
    finally:
        dm.drop_table(_GROUPS)
        dm.drop_table(FEATURES_TABLE)
    clusters = []
    for number in range(1, clustering.k + 1):
        profile = profiles[str(number)]
        clusters.append(
            ClusterInfo(
                cluster=number,
                name=_cluster_name(profile, features, base),
                size=profile.members,
                share=profile.share,
                traits=profile.traits[:top] if top else profile.traits,
            )
        )
    return ClusterReport(
        as_of=as_of,
        k=clustering.k,
        customers=len(frame),
        features=[c.feature for c in matrix.columns if c.part == "value"],
        silhouettes=clustering.silhouettes,
        clusters=clusters,
    )


def _longest_ago(frame: pd.DataFrame, column: str) -> float:
    if column not in frame:
        return 0.0
    values = pd.to_numeric(frame[column], errors="coerce")
    return float(values.max()) + 1 if values.notna().any() else 0.0
