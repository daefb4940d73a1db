"""Campaign responses and results on the datamart.

:func:`attribute_responses` matches the campaign's loaded responses to its contacts and writes
the purchases its contacts earned (target and control alike) into ``responses`` with source
``attributed``; running it again with the same data adds nothing.  :func:`campaign_results`
runs the attribution, then compares the target group with the control group overall and by RFM
segment, value tier and score decile.  The aggregation runs in the datamart; only a handful of
numbers per group come back for the statistics (see :mod:`clientela.campaigns._results`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import ibis
import ibis.expr.types as ir

from clientela.campaigns._responses import (
    ATTRIBUTED_SOURCE,
    UNMATCHED_REASONS,
    AttributeBy,
    Attribution,
    attribute_purchases,
    campaign_contacts,
    check_attribution,
    match_responses,
)
from clientela.campaigns._results import (
    CONVERSION_KINDS,
    POSITIVE_KINDS,
    POSITIVE_OUTCOMES,
    GroupCounts,
    GroupResult,
    compare,
    contact_outcomes,
    group_counts,
)
from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.backends import quote
from clientela.datamart.schema import TABLES
from clientela.errors import ConfigError, NotFoundError, suggest
from clientela.progress import NO_PROGRESS, Progress
from clientela.services._summary import default_as_of, summary_for

__all__ = [
    "BREAKDOWNS",
    "AttributionReport",
    "Breakdown",
    "BreakdownRow",
    "CampaignResults",
    "ResultRule",
    "UnmatchedResponse",
    "attribute_responses",
    "campaign_results",
    "results_as_of",
    "rule_from_campaign",
]

log = logging.getLogger(__name__)

Breakdown = Literal["segment", "tier", "decile"]
BREAKDOWNS: tuple[Breakdown, ...] = get_args(Breakdown)
_BREAKDOWN_COLUMNS = {"segment": "segment", "tier": "value_tier", "decile": "score_decile"}
_FRESH = "_clientela_attributed"
_RESPONSE_COLUMNS = tuple(TABLES["responses"].names)


@dataclass(frozen=True)
class ResultRule:
    """How responses are attributed and results counted: from the campaign's definition."""

    window_days: int = 30
    attribution: Attribution = "last"
    attribute_by: AttributeBy = "any"
    offer_products: Mapping[str, str] = field(default_factory=dict)
    cost_per_contact: float = 0.0
    fixed_cost: float = 0.0
    positive_kinds: tuple[str, ...] = POSITIVE_KINDS
    positive_outcomes: tuple[str, ...] = POSITIVE_OUTCOMES
    conversion_kinds: tuple[str, ...] = CONVERSION_KINDS

    def __post_init__(self) -> None:
        check_attribution(self.attribution, self.attribute_by, self.window_days)
        for name in ("cost_per_contact", "fixed_cost"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be 0 or more, got {getattr(self, name)}")


def rule_from_campaign(campaign: Any, **overrides: Any) -> ResultRule:
    """The rule a campaign definition sets (``response_window_days``, ``attribution``,
    ``attribute_by``, ``cost_per_contact``, ``fixed_cost`` and each offer's ``product``);
    ``overrides`` that are not None win."""
    products = {
        str(offer.offer_id): str(offer.product)
        for offer in getattr(campaign, "offers", ()) or ()
        if getattr(offer, "product", None)
    }
    values: dict[str, Any] = {
        "window_days": getattr(campaign, "response_window_days", 30),
        "attribution": getattr(campaign, "attribution", "last"),
        "attribute_by": getattr(campaign, "attribute_by", "any"),
        "offer_products": products,
        "cost_per_contact": float(getattr(campaign, "cost_per_contact", 0.0) or 0.0),
        "fixed_cost": float(getattr(campaign, "fixed_cost", 0.0) or 0.0),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return ResultRule(**values)


# -- attribution -----------------------------------------------------------------------------
@dataclass(frozen=True)
class UnmatchedResponse:
    response_id: str
    customer_id: str
    contact_id: str | None
    responded_at: dt.datetime
    kind: str
    reason: str


@dataclass(frozen=True)
class AttributionReport:
    """What :func:`attribute_responses` found and wrote."""

    campaign: str
    as_of: dt.date
    window_days: int
    attribution: str
    attribute_by: str
    target_contacts: int
    control_contacts: int
    loaded_responses: int
    matched_responses: int
    unmatched_responses: int
    unmatched_by_reason: dict[str, int]
    attributed_purchases: int
    attributed_target: int
    attributed_control: int
    added: int
    removed: int
    unmatched: tuple[UnmatchedResponse, ...] = ()


def _known_campaigns(dm: Datamart) -> list[str]:
    names: set[str] = set()
    for table, column in (("campaigns", "name"), ("contact_history", "campaign")):
        t = dm.table(table)
        names.update(str(v) for v in dm.to_pyarrow(t.select(t[column]).distinct())[0].to_pylist())
    responses = dm.table("responses")
    names.update(
        str(v)
        for v in dm.to_pyarrow(responses.select(responses.campaign).distinct())[0].to_pylist()
        if v is not None
    )
    return sorted(names)


def _require_campaign(dm: Datamart, campaign: str) -> None:
    known = _known_campaigns(dm)
    if campaign not in known:
        listed = ", ".join(known[:20]) if known else "none yet"
        raise NotFoundError(
            f"no campaign '{campaign}' in the datamart{suggest(campaign, known)}; "
            f"the campaigns with contacts or responses are: {listed}"
        )


def _group_sizes(dm: Datamart, contacts: ir.Table) -> dict[str, int]:
    sizes = contacts.group_by("group_name").aggregate(n=contacts.count())
    return {str(r["group_name"]): int(r["n"]) for r in dm.to_pyarrow(sizes).to_pylist()}


def _write_attributed(dm: Datamart, campaign: str, fresh: ir.Table) -> tuple[int, int, int, int]:
    """Replace the campaign's attributed purchases by ``fresh``; (target, control, added,
    removed).  Rows already there stay: a re-run with the same data adds nothing."""
    columns = ", ".join(quote(c) for c in _RESPONSE_COLUMNS)
    with dm.transaction():
        dm.create_table_as(_FRESH, fresh, temp=True)
        try:
            removed = dm.sql(
                f"SELECT count(*) FROM responses r WHERE r.campaign = ? AND r.source = ? "
                f"AND NOT EXISTS (SELECT 1 FROM {_FRESH} f WHERE f.response_id = r.response_id)",
                [campaign, ATTRIBUTED_SOURCE],
            )[0][0]
            dm.sql(
                f"DELETE FROM responses WHERE campaign = ? AND source = ? AND response_id NOT IN "
                f"(SELECT response_id FROM {_FRESH})",
                [campaign, ATTRIBUTED_SOURCE],
            )
            added = dm.sql(
                f"SELECT count(*) FROM {_FRESH} f WHERE NOT EXISTS "
                "(SELECT 1 FROM responses r WHERE r.response_id = f.response_id)"
            )[0][0]
            dm.sql(
                f"INSERT INTO responses ({columns}) SELECT {columns} FROM {_FRESH} f WHERE NOT "
                "EXISTS (SELECT 1 FROM responses r WHERE r.response_id = f.response_id)"
            )
            by_group = dm.sql(
                f"SELECT c.group_name, count(*) FROM {_FRESH} f JOIN contact_history c "
                "ON c.contact_id = f.contact_id AND c.campaign = ? GROUP BY c.group_name",
                [campaign],
            )
        finally:
            dm.drop_table(_FRESH)
    groups = {str(name): int(n) for name, n in by_group}
    return groups.get("target", 0), groups.get("control", 0), int(added), int(removed)


def results_as_of(dm: Datamart, campaign: str) -> dt.date:
    """The default as-of day of a campaign's responses and results: the day after the newest of
    its transactions (:func:`default_as_of`), of the campaign's responses and of its contacts'
    planned days, so that every contact made and every answer loaded counts."""
    day = default_as_of(dm)
    newest = dm.sql(
        "SELECT (SELECT max(planned_for) FROM contact_history WHERE campaign = ?), "
        "(SELECT max(responded_at) FROM responses WHERE campaign = ?)",
        [campaign, campaign],
    )[0]
    for value in newest:
        if value is not None:
            seen = value.date() if isinstance(value, dt.datetime) else value
            day = max(day, seen + dt.timedelta(days=1))
    return day


def attribute_responses(
    dm: Datamart,
    settings: Settings,
    campaign: str,
    *,
    as_of: dt.date | None = None,
    rule: ResultRule | None = None,
    unmatched_limit: int = 0,
    progress: Progress = NO_PROGRESS,
) -> AttributionReport:
    """Match the campaign's responses to its contacts and write the purchases they earned.

    ``as_of`` (default: :func:`results_as_of`) bounds the contacts and the purchases
    considered.  ``unmatched_limit`` lists that many unmatched responses.
    """
    del settings  # the rule and the datamart say everything; kept for the service signature
    rule = rule or ResultRule()
    _require_campaign(dm, campaign)
    as_of = as_of or results_as_of(dm, campaign)
    identity = dm.table("identity")
    contacts = campaign_contacts(
        dm.table("contact_history"), campaign, as_of, dm.table("campaign_runs")
    )
    with progress.task(f"attributing responses of {campaign}", total=3) as task:
        sizes = _group_sizes(dm, contacts)
        task.advance()
        has_contacts = sum(sizes.values()) > 0
        target = control = added = removed = 0
        if has_contacts:
            fresh = attribute_purchases(
                contacts,
                dm.table("transactions"),
                identity,
                campaign=campaign,
                as_of=as_of,
                window_days=rule.window_days,
                attribution=rule.attribution,
                attribute_by=rule.attribute_by,
                offer_products=rule.offer_products,
            )
            target, control, added, removed = _write_attributed(dm, campaign, fresh)
        task.advance()
        matched = match_responses(
            dm.table("responses"), contacts, identity, campaign, has_contacts=has_contacts
        )
        reasons = matched.group_by("unmatched").aggregate(n=matched.count())
        counts = {r["unmatched"]: int(r["n"]) for r in dm.to_pyarrow(reasons).to_pylist()}
        listed: tuple[UnmatchedResponse, ...] = ()
        if unmatched_limit > 0:
            rows = matched.filter(matched.unmatched.notnull()).order_by(
                ["responded_at", "response_id"]
            )
            rows = rows.select(
                "response_id",
                "customer_id",
                "contact_id",
                "responded_at",
                "kind",
                reason=rows.unmatched,
            ).limit(unmatched_limit)
            listed = tuple(UnmatchedResponse(**r) for r in dm.to_pyarrow(rows).to_pylist())
        task.advance()
    unmatched = {k: v for k, v in counts.items() if k is not None}
    report = AttributionReport(
        campaign=campaign,
        as_of=as_of,
        window_days=rule.window_days,
        attribution=rule.attribution,
        attribute_by=rule.attribute_by,
        target_contacts=sizes.get("target", 0),
        control_contacts=sizes.get("control", 0),
        loaded_responses=sum(counts.values()),
        matched_responses=counts.get(None, 0),
        unmatched_responses=sum(unmatched.values()),
        unmatched_by_reason=dict(sorted(unmatched.items())),
        attributed_purchases=target + control,
        attributed_target=target,
        attributed_control=control,
        added=added,
        removed=removed,
        unmatched=listed,
    )
    if report.unmatched_responses:
        log.info(
            "%d responses of %s match no contact: %s",
            report.unmatched_responses,
            campaign,
            ", ".join(f"{n} {UNMATCHED_REASONS[k]}" for k, n in unmatched.items()),
        )
    return report


# -- results ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class BreakdownRow:
    key: str
    target: GroupResult
    control: GroupResult
    uplift: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    incremental_revenue: float | None


@dataclass(frozen=True)
class CampaignResults:
    """Target against control (see :mod:`clientela.campaigns._results` for the definitions)."""

    campaign: str
    as_of: dt.date
    target: GroupResult
    control: GroupResult
    uplift: float | None
    ci_low: float | None
    ci_high: float | None
    interval: str
    z: float | None
    p_value: float | None
    significant: bool | None
    conversion_uplift: float | None
    incremental_responders: float | None
    incremental_revenue: float | None
    incremental_margin: float | None
    contacted: int
    cost: float
    roi: float | None
    positive_kinds: tuple[str, ...]
    attribution: AttributionReport
    breakdowns: dict[str, list[BreakdownRow]] = field(default_factory=dict)


def _counts(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], GroupCounts]:
    found: dict[tuple[str, str], GroupCounts] = {}
    for r in rows:
        key = (str(r["group_name"]), str(r.get("breakdown", "")))
        found[key] = GroupCounts(
            customers=int(r["customers"]),
            responders=int(r["responders"] or 0),
            converters=int(r["converters"] or 0),
            revenue=float(r["revenue"] or 0.0),
            margin=float(r["margin"] or 0.0),
        )
    return found


def _sort_key(key: str) -> tuple[int, Any]:
    if key == "(none)":
        return (2, key)
    return (0, int(key)) if key.isdigit() else (1, key)


def _breakdown(dm: Datamart, outcomes: ir.Table, column: str) -> list[BreakdownRow]:
    found = _counts(dm.to_pyarrow(group_counts(outcomes, column)).to_pylist())
    rows = []
    for key in sorted({k for _, k in found}, key=_sort_key):
        c = compare(
            found.get(("target", key), GroupCounts()), found.get(("control", key), GroupCounts())
        )
        rows.append(
            BreakdownRow(
                key=key,
                target=c.target,
                control=c.control,
                uplift=c.uplift,
                ci_low=c.ci_low,
                ci_high=c.ci_high,
                p_value=c.p_value,
                incremental_revenue=c.incremental_revenue,
            )
        )
    return rows


def campaign_results(
    dm: Datamart,
    settings: Settings,
    campaign: str,
    *,
    as_of: dt.date | None = None,
    rule: ResultRule | None = None,
    by: Sequence[Breakdown] = BREAKDOWNS,
    unmatched_limit: int = 0,
    progress: Progress = NO_PROGRESS,
) -> CampaignResults:
    """Attribute the campaign's responses, then compare its target group with its control."""
    rule = rule or ResultRule()
    for name in by:
        if name not in BREAKDOWNS:
            raise ConfigError(
                f"cannot break results down by '{name}'{suggest(name, BREAKDOWNS)}; "
                f"choose among {', '.join(BREAKDOWNS)}"
            )
    _require_campaign(dm, campaign)
    as_of = as_of or results_as_of(dm, campaign)
    report = attribute_responses(
        dm,
        settings,
        campaign,
        as_of=as_of,
        rule=rule,
        unmatched_limit=unmatched_limit,
        progress=progress,
    )
    if report.target_contacts == 0:
        raise NotFoundError(
            f"campaign '{campaign}' has no contacted customers before {as_of}: execute it "
            "first ('clientela campaign execute') or pass a later --as-of"
        )
    identity = dm.table("identity")
    contacts = campaign_contacts(
        dm.table("contact_history"), campaign, as_of, dm.table("campaign_runs")
    )
    matched = match_responses(dm.table("responses"), contacts, identity, campaign)
    attributed = dm.table("responses")
    attributed = attributed.filter(
        attributed.campaign == campaign, attributed.source == ATTRIBUTED_SOURCE
    ).mutate(matched_contact_id=attributed.contact_id)
    keep = [*_RESPONSE_COLUMNS, "matched_contact_id"]
    everything = ibis.union(matched.select(*keep), attributed.select(*keep), distinct=False)
    outcomes = contact_outcomes(
        contacts,
        everything,
        positive_kinds=rule.positive_kinds,
        positive_outcomes=rule.positive_outcomes,
        conversion_kinds=rule.conversion_kinds,
    )
    with progress.task(f"results of {campaign}", total=1 + len(by)) as task:
        if {"segment", "tier"} & set(by):
            summary, _ = summary_for(dm, settings, as_of)
            described = summary.select(
                _profile=summary.customer_id, segment=summary.segment, value_tier=summary.value_tier
            )
            outcomes = outcomes.left_join(described, outcomes.profile_id == described._profile)
            outcomes = outcomes.drop("_profile")
        dm.create_table_as("_clientela_outcomes", outcomes, temp=True)
        try:
            table = dm.temp_table("_clientela_outcomes")
            overall = _counts(dm.to_pyarrow(group_counts(table)).to_pylist())
            task.advance()
            breakdowns: dict[str, list[BreakdownRow]] = {}
            for name in by:
                breakdowns[name] = _breakdown(dm, table, _BREAKDOWN_COLUMNS[name])
                task.advance()
        finally:
            dm.drop_table("_clientela_outcomes")
    c = compare(
        overall.get(("target", ""), GroupCounts()), overall.get(("control", ""), GroupCounts())
    )
    contacted = report.target_contacts
    cost = rule.cost_per_contact * contacted + rule.fixed_cost
    roi = None
    if cost > 0 and c.incremental_margin is not None:
        roi = (c.incremental_margin - cost) / cost
    return CampaignResults(
        campaign=campaign,
        as_of=as_of,
        target=c.target,
        control=c.control,
        uplift=c.uplift,
        ci_low=c.ci_low,
        ci_high=c.ci_high,
        interval="Newcombe hybrid score, 95%",
        z=c.z,
        p_value=c.p_value,
        significant=c.significant,
        conversion_uplift=c.conversion_uplift,
        incremental_responders=c.incremental_responders,
        incremental_revenue=c.incremental_revenue,
        incremental_margin=c.incremental_margin,
        contacted=contacted,
        cost=cost,
        roi=roi,
        positive_kinds=rule.positive_kinds,
        attribution=report,
        breakdowns=breakdowns,
    )
