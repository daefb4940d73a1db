"""The segment a request names, and the base it is compared with.

Which segment: a saved name or one option (tier, RFM segment, band, condition), checked against
the datamart with the close match for a misspelt name.  The base: every profile known before the
as-of date with its point-in-time features (see :mod:`clientela.services.segments`),
materialised as a temporary table, and the grouped statistics of a profile over it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis.expr.types as ir

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.errors import ConfigError, NotFoundError, suggest
from clientela.models._features import FeatureSpec, feature_column, point_in_time_features
from clientela.profile.rfm import SEGMENTS
from clientela.profile.tiers import TIERS
from clientela.scoring._facts import CUSTOMER_FIELDS, DERIVED_FIELDS, profile_facts
from clientela.segments._labels import Labeller
from clientela.segments.definition import Segment, parse_segment, parse_segment_text
from clientela.segments.membership import (
    band_members,
    condition_members,
    rfm_members,
    tier_members,
)
from clientela.segments.profile import (
    GroupProfile,
    category_counts,
    describe_groups,
    group_statistics,
)
from clientela.services._model_examples import ValueLimits, frequent_values_spec, model_tables
from clientela.services._score_models import summary_fields
from clientela.services._segment_store import load_segment, store_segment
from clientela.services._summary import default_as_of, summary_for

__all__ = [
    "FEATURES_TABLE",
    "SegmentBase",
    "defining_features",
    "facts_for",
    "group_profiles",
    "materialise_base",
    "resolve_segment",
    "save_segment",
    "segment_members",
]

FEATURES_TABLE = "_segment_features"
_WINDOWS = (30, 90, 365)
# Fewer values than a model's: a profile is read by people.
_LIMITS = ValueLimits(
    event_types=10,
    interaction_kinds=8,
    outcomes=8,
    social_kinds=5,
    consent_channels=5,
    attributes=30,
    score_models=10,
)
# Summary fields that are features under another name.
_FIELD_FEATURES = {"segment": "rfm_segment", "r": "rfm_r", "f": "rfm_f", "m": "rfm_m"}


# -- which segment ---------------------------------------------------------------------------
def resolve_segment(
    dm: Datamart,
    name: str | None = None,
    *,
    tier: str | None = None,
    rfm: str | None = None,
    band: str | None = None,
    where: str | None = None,
) -> Segment:
    """The segment named (saved) or given by one option (``band`` as ``MODEL:BAND``, ``where``
    a condition in YAML, e.g. ``{field: orders, at_least: 3}``)."""
    given = [o for o, v in (("a name", name), ("--tier", tier), ("--rfm", rfm)) if v]
    given += [o for o, v in (("--band", band), ("--where", where)) if v]
    if len(given) != 1:
        raise ConfigError(
            "name a saved segment or give exactly one of --tier, --rfm, --band, --where "
            f"(got {', '.join(given) or 'none'})"
        )
    if name:
        return load_segment(dm, name)
    if tier:
        return parse_segment({"tier": tier})
    if rfm:
        return parse_segment({"rfm": rfm})
    if band:
        model, colon, band_name = band.partition(":")
        if not colon or not model or not band_name:
            raise ConfigError(f"--band takes MODEL:BAND, e.g. engagement:hot; got '{band}'")
        return parse_segment({"band": {"model": model, "band": band_name}})
    import yaml

    assert where is not None
    try:
        parsed = yaml.safe_load(where)
    except yaml.YAMLError as exc:
        raise ConfigError(f"--where is not a YAML condition: {exc}") from None
    return parse_segment_text(yaml.safe_dump({"where": parsed}))


def save_segment(
    dm: Datamart, settings: Settings, name: str, segment: Segment, *, replace: bool = False
) -> bool:
    """Check the segment against the datamart and save it; True when one was replaced."""
    segment_members(dm, settings, segment, default_as_of(dm))
    return store_segment(dm, name, segment, replace=replace)


def segment_members(dm: Datamart, settings: Settings, segment: Segment, as_of: dt.date) -> ir.Table:
    """The members' ``profile_id`` as an expression; NotFoundError or ConfigError naming the
    close match for an unknown tier, RFM segment, model, band, field or attribute."""
    if segment.kind == "tier":
        tier = _known(str(segment.value), TIERS, "value tier")
        return tier_members(summary_for(dm, settings, as_of)[0], tier)
    if segment.kind == "rfm":
        name = _known(str(segment.value), SEGMENTS, "RFM segment")
        return rfm_members(summary_for(dm, settings, as_of)[0], name)
    if segment.kind == "band":
        snapshots = dm.table("score_snapshots")
        models = _distinct(dm, snapshots, "model")
        model = _known(str(segment.model), models, "scored model", "models with scores")
        bands = _distinct(dm, snapshots.filter(snapshots.model == model), "band")
        band = _known(str(segment.value), bands, f"band of {model}", "bands")
        return band_members(snapshots, model, band, as_of)
    assert segment.condition is not None
    _check_condition(dm, segment)
    facts = facts_for(dm, settings, segment.fields(), segment.attributes(), as_of)
    return condition_members(facts, segment.condition)


def facts_for(
    dm: Datamart,
    settings: Settings,
    fields: list[str],
    attributes: list[str],
    as_of: dt.date,
) -> ir.Table:
    """The profile facts a condition reads: the fields (the customer summary only when one of
    them is in it) and the third-party attributes, one row per profile."""
    summary = None
    if any(f in summary_fields() for f in fields):
        summary = summary_for(dm, settings, as_of)[0]
    return profile_facts(
        dm.table("customers"),
        dm.table("identity"),
        dm.table("third_party"),
        summary,
        fields,
        attributes,
        as_of,
    )


def _known(value: str, known: tuple[str, ...] | list[str], what: str, plural: str = "") -> str:
    for candidate in known:
        if candidate.lower() == value.lower():
            return candidate
    listed = ", ".join(known) if known else "none"
    raise NotFoundError(
        f"no {what} '{value}'{suggest(value, known)}; the {plural or what + 's'} are: {listed}"
    )


def _distinct(dm: Datamart, table: ir.Table, column: str) -> list[str]:
    values = dm.to_pyarrow(table.select(column).distinct().order_by(column)).column(0)
    return [str(v) for v in values.to_pylist() if v is not None]


def _check_condition(dm: Datamart, segment: Segment) -> None:
    assert segment.condition is not None
    fields = {*CUSTOMER_FIELDS, *DERIVED_FIELDS, *summary_fields()}
    for leaf in segment.condition.leaves():
        name = str(leaf.subject)
        if leaf.subject_kind == "field" and name not in fields:
            raise ConfigError(
                f"unknown field '{name}'{suggest(name, fields)} in the segment's condition; "
                "fields are the customer's columns, age, email_domain, days_since_signup and "
                "the summary's KPIs (revenue, orders, value_tier, segment, recency_days...)"
            )
        if leaf.subject_kind in ("column", "property"):
            raise ConfigError(
                f"a segment's condition tests a 'field' or an 'attribute' of the profile, not a "
                f"{leaf.subject_kind}"
            )
    attributes = segment.attributes()
    if attributes:
        known = _distinct(dm, dm.table("third_party"), "attribute")
        for name in attributes:
            if name not in known:
                listed = ", ".join(known[:20]) if known else "none"
                raise ConfigError(
                    f"unknown third-party attribute '{name}'{suggest(name, known)} in the "
                    f"segment's condition; the datamart has: {listed}"
                )


# -- the base's features ------------------------------------------------------------------------
@dataclass(frozen=True)
class SegmentBase:
    table: ir.Table
    spec: FeatureSpec
    numeric: list[str]
    categorical: list[str]
    labeller: Labeller


def materialise_base(dm: Datamart, settings: Settings, as_of: dt.date) -> SegmentBase:
    """Materialise the base's features (temporary table) and sort its columns by kind."""
    spec = frequent_values_spec(dm, as_of, _LIMITS, _WINDOWS)
    tables = model_tables(dm)
    features = point_in_time_features(tables, as_of, spec)
    summary = summary_for(dm, settings, as_of)[0]
    summary = summary.select(
        _summary_profile=summary.customer_id,
        value_tier=summary.value_tier,
        rfm_segment=summary.segment,
    )
    joined = features.left_join(summary, features.profile_id == summary._summary_profile)
    table = joined.drop("_summary_profile")
    dm.create_table_as(FEATURES_TABLE, table, temp=True)
    materialised = dm.temp_table(FEATURES_TABLE)
    numeric, categorical = [], []
    for name, dtype in materialised.schema().items():
        if name == "profile_id":
            continue
        if dtype.is_numeric():
            numeric.append(name)
        elif dtype.is_string() or dtype.is_boolean():
            categorical.append(name)
    return SegmentBase(materialised, spec, numeric, categorical, Labeller(spec))


def defining_features(segment: Segment, base: SegmentBase) -> set[str]:
    """The features that restate the definition: left out of its profile and look-alikes."""
    if segment.kind == "tier":
        return {"value_tier"}
    if segment.kind == "rfm":
        return {"rfm_segment"}
    if segment.kind == "band":
        return {feature_column("score", str(segment.model))}
    names = {_FIELD_FEATURES.get(f, f) for f in segment.fields()}
    names |= {feature_column("attr", a) for a in segment.attributes()}
    return names & {*base.numeric, *base.categorical}


def group_profiles(
    dm: Datamart, base: SegmentBase, grouped: ir.Table, exclude: set[str], top: int | None
) -> dict[str, GroupProfile]:
    numeric = [c for c in base.numeric if c not in exclude]
    categorical = [c for c in base.categorical if c not in exclude]
    counts = [c for c in numeric if base.labeller.numeric(c).verb is not None]
    statistics = dm.to_pyarrow(group_statistics(grouped, numeric, counts)).to_pylist()
    categories_expr = category_counts(grouped, categorical)
    categories = dm.to_pyarrow(categories_expr).to_pylist() if categories_expr is not None else []
    return describe_groups(statistics, categories, numeric, counts, base.labeller, top=top)
