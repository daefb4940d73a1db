"""Point-in-time features: one row per profile, from the data before a cut-off date only.

Backend-free: the functions take ibis tables and return an expression.  Everything counts only
when it happened strictly before the cut-off (midnight starting ``as_of``, naive UTC), as in the
rest of clientela; third-party attributes are the newest value dated before ``as_of`` (undated
ones count, and the leakage check names them), and an interaction's outcome counts only when it
was closed before the cut-off (or carries no closing time).  The customer record itself is read as
stored: the datamart keeps no history of it (``docs/models.md`` says what that means).

Feature families (names in brackets; ``W`` each window of :attr:`FeatureSpec.windows` days):

* demographics [``kind``, ``gender``, ``country``, ``region``, ``city``, ``industry``,
  ``company_size``, ``employees``, ``age``, ``tenure_days`` since ``created_at``];
* transactions [``orders``, ``revenue``, ``margin``, ``returned_amount``, ``returns``,
  ``products``, ``categories``, ``days_since_last_purchase``, ``days_since_first_purchase``,
  ``average_order_value``, ``orders_Wd``, ``revenue_Wd``, the RFM scores ``rfm_r``, ``rfm_f``,
  ``rfm_m``; with a target product or category ``target_orders`` and
  ``days_since_target_purchase``];
* behaviour per event type [``events_<type>_Wd``, ``days_since_<type>``];
* interactions [``interactions_<kind>``, ``interactions_<kind>_<largest W>d``,
  ``outcome_<outcome>``, ``open_issues``, ``days_since_last_interaction``];
* social signals [``social_<kind>``, ``social_<largest W>d``, ``social_sentiment``];
* consents [``consent_<channel>``: the newest status];
* third-party attributes [``attr_<name>``];
* rule scores [``score_<model>``: the newest snapshot dated on or before ``as_of``].
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from clientela.datamart.ingest.identity import with_profile
from clientela.profile._common import REFUND_KINDS, REVENUE_KINDS, transaction_kind
from clientela.profile.rfm import rfm

__all__ = [
    "DEMOGRAPHIC_FIELDS",
    "FeatureSpec",
    "FeatureTables",
    "attribute_dates",
    "cutoff_instant",
    "feature_column",
    "known_profiles",
    "point_in_time_features",
]

DEMOGRAPHIC_FIELDS: tuple[str, ...] = (
    "kind",
    "gender",
    "country",
    "region",
    "city",
    "industry",
    "company_size",
    "employees",
)
ISSUE_KINDS: tuple[str, ...] = ("complaint", "incident", "return")
# PostgreSQL truncates longer identifiers.
_MAX_NAME = 63


@dataclass(frozen=True)
class FeatureTables:
    """The datamart tables features are built from (ibis tables of one connection)."""

    customers: ir.Table
    identity: ir.Table
    transactions: ir.Table
    events: ir.Table
    interactions: ir.Table
    third_party: ir.Table
    social: ir.Table
    consents: ir.Table
    score_snapshots: ir.Table | None = None
    contracts: ir.Table | None = None


@dataclass(frozen=True)
class FeatureSpec:
    """Which features to build.  The lists of values (event types, attributes...) are chosen by
    the caller, usually the most frequent values in the data before the cut-off."""

    windows: tuple[int, ...] = (30, 90, 365)
    event_types: tuple[str, ...] = ()
    interaction_kinds: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    social_kinds: tuple[str, ...] = ()
    consent_channels: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    score_models: tuple[str, ...] = ()
    product: str | None = None
    category: str | None = None


def feature_column(prefix: str, name: str) -> str:
    """``<prefix>_<name>``: lower case, non-alphanumerics as ``_`` for generated names; at most
    63 characters (a hash of the full name ends a shortened one)."""
    slug = re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_") or "blank"
    column = f"{prefix}_{slug}"
    if len(column) <= _MAX_NAME:
        return column
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{column[: _MAX_NAME - 9]}_{digest}"


def cutoff_instant(as_of: dt.date, days_before: int = 0) -> ir.TimestampScalar:
    moment = dt.datetime.combine(as_of - dt.timedelta(days=days_before), dt.time())
    return ibis.literal(moment, type="timestamp")


def _days_since(as_of: dt.date, moment: ir.Value) -> ir.IntegerValue:
    days: ir.IntegerValue = ibis.literal(as_of, type="date").delta(moment.date(), unit="day")
    return days.cast("int64")


def known_profiles(customers: ir.Table, identity: ir.Table, as_of: dt.date) -> ir.Table:
    """Every profile known before the cut-off once, with the record that represents it."""
    known = customers.filter(
        customers.created_at.isnull() | (customers.created_at < cutoff_instant(as_of))
    )
    linked = with_profile(known, identity)
    own_first = ibis.row_number().over(
        group_by=linked.profile_id,
        order_by=[ibis.ifelse(linked.customer_id == linked.profile_id, 0, 1), linked.customer_id],
    )
    return linked.mutate(_rank=own_first).filter(lambda t: t._rank == 0).drop("_rank")


def _demographics(base: ir.Table, as_of: dt.date) -> dict[str, ir.Value]:
    born = base.birth_date
    before_birthday = (born.month() * 100 + born.day()) > (as_of.month * 100 + as_of.day)
    return {
        **{name: base[name] for name in DEMOGRAPHIC_FIELDS},
        "age": (ibis.literal(as_of.year) - born.year() - ibis.ifelse(before_birthday, 1, 0)).cast(
            "int64"
        ),
        "tenure_days": _days_since(as_of, base.created_at),
    }


def _transactions(tables: FeatureTables, as_of: dt.date, spec: FeatureSpec) -> tuple[ir.Table, ...]:
    tx = tables.transactions.filter(tables.transactions.occurred_at < cutoff_instant(as_of))
    tx = with_profile(tx.mutate(_kind=transaction_kind(tx)), tables.identity)
    is_sale = tx._kind == "sale"
    is_refund = tx._kind.isin(REFUND_KINDS)
    measures: dict[str, ir.Value] = {
        "orders": tx.order_id.nunique(where=~is_refund),
        "revenue": tx.amount.sum(where=tx._kind.isin(REVENUE_KINDS)),
        "margin": tx.margin.sum(),
        "returned_amount": (-tx.amount).sum(where=is_refund),
        "returns": tx.order_id.nunique(where=is_refund),
        "products": tx.product_id.nunique(where=is_sale),
        "categories": tx.category.nunique(where=is_sale),
        "_first": tx.occurred_at.min(where=is_sale),
        "_last": tx.occurred_at.max(where=is_sale),
    }
    for window in spec.windows:
        recent = tx.occurred_at >= cutoff_instant(as_of, window)
        measures[f"orders_{window}d"] = tx.order_id.nunique(where=recent & ~is_refund)
        measures[f"revenue_{window}d"] = tx.amount.sum(where=recent & tx._kind.isin(REVENUE_KINDS))
    target = None
    if spec.product is not None:
        target = is_sale & (tx.product_id == spec.product)
    elif spec.category is not None:
        target = is_sale & (tx.category == spec.category)
    if target is not None:
        measures["target_orders"] = tx.order_id.nunique(where=target)
        measures["_target_last"] = tx.occurred_at.max(where=target)
    per_profile = tx.group_by("profile_id").aggregate(**measures)
    derived: dict[str, ir.Value] = {
        "days_since_last_purchase": _days_since(as_of, per_profile._last),
        "days_since_first_purchase": _days_since(as_of, per_profile._first),
        "average_order_value": per_profile.revenue / per_profile.orders.nullif(0),
    }
    if target is not None:
        derived["days_since_target_purchase"] = _days_since(as_of, per_profile._target_last)
    summary = per_profile.mutate(**derived).drop(
        *[c for c in ("_first", "_last", "_target_last") if c in per_profile.columns]
    )
    scores = rfm(tables.transactions, tables.identity, as_of)
    scores = scores.select(
        profile_id=scores.customer_id, rfm_r=scores.r, rfm_f=scores.f, rfm_m=scores.m
    )
    return summary, scores


def _events(tables: FeatureTables, as_of: dt.date, spec: FeatureSpec) -> ir.Table | None:
    if not spec.event_types:
        return None
    events = tables.events.filter(
        tables.events.customer_id.notnull()
        & (tables.events.occurred_at < cutoff_instant(as_of))
        & tables.events.event_type.isin(spec.event_types)
    )
    # Counted per customer and type first (a handful of measures over every event), then
    # spread over the types per profile: the identity join and the per-type measures see one
    # row per customer and type instead of every event.
    per_type = events.group_by(["customer_id", "event_type"]).aggregate(
        _last=events.occurred_at.max(),
        **{
            f"_n_{window}": events.count(where=events.occurred_at >= cutoff_instant(as_of, window))
            for window in spec.windows
        },
    )
    per_type = with_profile(per_type, tables.identity)
    measures: dict[str, ir.Value] = {}
    for event_type in spec.event_types:
        is_type = per_type.event_type == event_type
        for window in spec.windows:
            name = feature_column("events", f"{event_type}_{window}d")
            counted = per_type[f"_n_{window}"].cast("float64").sum(where=is_type)
            measures[name] = counted.fill_null(0).cast("int64")
        measures[feature_column("_last", event_type)] = per_type._last.max(where=is_type)
    per_profile = per_type.group_by("profile_id").aggregate(**measures)
    return per_profile.select(
        "profile_id",
        **{
            (
                feature_column("days_since", name[len("_last_") :])
                if name.startswith("_last_")
                else name
            ): (
                _days_since(as_of, per_profile[name])
                if name.startswith("_last_")
                else per_profile[name]
            )
            for name in measures
        },
    )


def _interactions(tables: FeatureTables, as_of: dt.date, spec: FeatureSpec) -> ir.Table:
    cutoff = cutoff_instant(as_of)
    rows = tables.interactions.filter(tables.interactions.occurred_at < cutoff)
    rows = with_profile(rows, tables.identity)
    longest = max(spec.windows) if spec.windows else None
    measures: dict[str, ir.Value] = {"_last": rows.occurred_at.max()}
    for kind in spec.interaction_kinds:
        is_kind = rows.kind == kind
        measures[feature_column("interactions", kind)] = rows.count(where=is_kind)
        if longest is not None:
            recent = rows.occurred_at >= cutoff_instant(as_of, longest)
            name = feature_column("interactions", f"{kind}_{longest}d")
            measures[name] = rows.count(where=is_kind & recent)
    known_outcome = rows.closed_at.isnull() | (rows.closed_at < cutoff)
    for outcome in spec.outcomes:
        measures[feature_column("outcome", outcome)] = rows.count(
            where=known_outcome & (rows.outcome == outcome)
        )
    still_open = (rows.closed_at >= cutoff) | (
        rows.closed_at.isnull() & (rows.status.fill_null("open") != "closed")
    )
    measures["open_issues"] = rows.count(where=rows.kind.isin(ISSUE_KINDS) & still_open)
    per_profile = rows.group_by("profile_id").aggregate(**measures)
    return per_profile.mutate(
        days_since_last_interaction=_days_since(as_of, per_profile._last)
    ).drop("_last")


def _social(tables: FeatureTables, as_of: dt.date, spec: FeatureSpec) -> ir.Table:
    rows = tables.social.filter(tables.social.occurred_at < cutoff_instant(as_of))
    rows = with_profile(rows, tables.identity)
    measures: dict[str, ir.Value] = {
        feature_column("social", kind): rows.count(where=rows.kind == kind)
        for kind in spec.social_kinds
    }
    if spec.windows:
        longest = max(spec.windows)
        measures[f"social_{longest}d"] = rows.count(
            where=rows.occurred_at >= cutoff_instant(as_of, longest)
        )
    measures["social_sentiment"] = rows.sentiment.mean()
    return rows.group_by("profile_id").aggregate(**measures)


def _newest_per_profile(rows: ir.Table, key: str, order: ir.Value, tie: ir.Value) -> ir.Table:
    newest = ibis.row_number().over(
        group_by=[rows.profile_id, rows[key]], order_by=[ibis.desc(order), ibis.desc(tie)]
    )
    return rows.mutate(_rank=newest).filter(lambda t: t._rank == 0)


def _consents(tables: FeatureTables, as_of: dt.date, spec: FeatureSpec) -> ir.Table | None:
    if not spec.consent_channels:
        return None
    rows = tables.consents.filter(
        (tables.consents.recorded_at < cutoff_instant(as_of))
        & tables.consents.channel.isin(spec.consent_channels)
    )
    rows = with_profile(rows, tables.identity)
    latest = _newest_per_profile(rows, "channel", rows.recorded_at, rows.consent_id)
    return latest.group_by("profile_id").aggregate(
        **{
            feature_column("consent", channel): latest.status.max(where=latest.channel == channel)
            for channel in spec.consent_channels
        }
    )


def _attribute_rows(third_party: ir.Table, as_of: dt.date, names: tuple[str, ...]) -> ir.Table:
    return third_party.filter(
        third_party.attribute.isin(names)
        & (third_party.as_of.isnull() | (third_party.as_of < ibis.literal(as_of, type="date")))
    )


def _attributes(tables: FeatureTables, as_of: dt.date, spec: FeatureSpec) -> ir.Table | None:
    if not spec.attributes:
        return None
    rows = with_profile(
        _attribute_rows(tables.third_party, as_of, spec.attributes), tables.identity
    )
    latest = _newest_per_profile(rows, "attribute", rows.as_of, rows.attribute_id)
    return latest.group_by("profile_id").aggregate(
        **{
            feature_column("attr", name): latest.value.max(where=latest.attribute == name)
            for name in spec.attributes
        }
    )


def attribute_dates(third_party: ir.Table, as_of: dt.date, names: tuple[str, ...]) -> ir.Table:
    """Per attribute used: the newest ``as_of`` of its rows and how many rows are undated."""
    rows = _attribute_rows(third_party, as_of, names)
    return rows.group_by("attribute").aggregate(
        newest=rows.as_of.max(), undated=rows.count(where=rows.as_of.isnull())
    )


def _scores(tables: FeatureTables, as_of: dt.date, spec: FeatureSpec) -> ir.Table | None:
    if not spec.score_models or tables.score_snapshots is None:
        return None
    snapshots = tables.score_snapshots
    # A snapshot as of a day was computed from the data before that day.
    rows = snapshots.filter(
        snapshots.model.isin(spec.score_models)
        & (snapshots.as_of <= ibis.literal(as_of, type="date"))
    )
    latest = _newest_per_profile(rows, "model", rows.as_of, rows.version)
    return latest.group_by("profile_id").aggregate(
        **{
            feature_column("score", model): latest.score.max(where=latest.model == model)
            for model in spec.score_models
        }
    )


def point_in_time_features(tables: FeatureTables, as_of: dt.date, spec: FeatureSpec) -> ir.Table:
    """One row per profile known before ``as_of``: ``profile_id`` and the features of the
    module docstring.  Counts are 0, not missing, for a profile without the rows counted."""
    base = known_profiles(tables.customers, tables.identity, as_of)
    features = base.select(profile_id=base.profile_id, **_demographics(base, as_of))
    counted: list[str] = []
    parts = [
        *_transactions(tables, as_of, spec),
        _events(tables, as_of, spec),
        _interactions(tables, as_of, spec),
        _social(tables, as_of, spec),
        _consents(tables, as_of, spec),
        _attributes(tables, as_of, spec),
        _scores(tables, as_of, spec),
    ]
    for part in parts:
        if part is None:
            continue
        renamed = part.rename(_part_profile="profile_id")
        joined = features.left_join(renamed, features.profile_id == renamed._part_profile)
        added = [c for c in part.columns if c != "profile_id"]
        counted += [c for c in added if _is_count(c)]
        features = joined.select(*[joined[c] for c in features.columns], *added)
    return features.mutate(**{c: features[c].fill_null(0) for c in counted})


def _is_count(column: str) -> bool:
    """Counts and sums: 0 for a profile without the rows counted (days since: missing)."""
    if column == "social_sentiment":
        return False
    prefixes: tuple[str, ...] = ("orders", "revenue", "margin", "returned_amount", "returns")
    prefixes += ("products", "categories", "events_", "interactions_", "outcome_", "social_")
    return column.startswith(prefixes) or column in ("open_issues", "target_orders")
