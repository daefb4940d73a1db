"""One customer's 360-degree profile, looked up by customer id, e-mail or phone.

A lookup runs a handful of small queries, each filtered by the customer ids unified in the
profile; KPIs, RFM and tier come from ``customer_summary`` when it is built for the as-of date.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.ingest.normalize import normalise_email, normalise_phone
from clientela.errors import DataError, NotFoundError, suggest
from clientela.profile import sections
from clientela.profile.view import (
    Behaviour,
    Consents,
    ConsentStatus,
    CustomerProfile,
    EventCount,
    Identity,
    ObjectCount,
    OpenIssue,
    SocialCount,
    SocialSummary,
    ThirdPartyAttribute,
    Timeline,
    TimelineEntry,
    kpis_from_row,
    rfm_from_row,
)
from clientela.services._summary import default_as_of, scalar, summary_for

__all__ = ["get_profile", "resolve_profile"]

log = logging.getLogger(__name__)

_IDENTITY_COLUMNS = (
    "kind", "name", "birth_date", "gender", "address", "postal_code", "city", "region",
    "country", "industry", "company_size", "employees", "account_owner", "created_at",
)  # fmt: skip


def _rows(dm: Datamart, expr: ir.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = dm.to_pyarrow(expr).to_pylist()
    return rows


def resolve_profile(dm: Datamart, settings: Settings, key: str) -> str:
    """The profile id of a customer id, e-mail or phone; NotFoundError with a close match."""
    key = key.strip()
    customers = dm.table("customers")
    matches = customers.customer_id == key
    try:
        email = normalise_email(key)
    except ValueError:
        email = None
    if email is not None:
        matches |= customers.email == email
    try:
        phone = normalise_phone(key, settings.default_region) if "@" not in key else None
    except ValueError:
        phone = None
    if phone is not None:
        matches |= customers.phone == phone
    found = customers.filter(matches).select("customer_id")
    identity = dm.table("identity")
    linked = found.left_join(identity, found.customer_id == identity.customer_id)
    profiles = linked.select(
        profile_id=ibis.coalesce(linked.profile_id, found.customer_id)
    ).distinct()
    ids = sorted(str(row["profile_id"]) for row in _rows(dm, profiles.limit(10)))
    if len(ids) == 1:
        return ids[0]
    if ids:
        raise DataError(
            f"'{key}' matches customers of {len(ids)} profiles ({', '.join(ids)}); "
            "ask for one of them by customer id",
            value=key,
            rule="a key names one profile",
        )
    prefix = customers.filter(customers.customer_id.startswith(key[:2])).select("customer_id")
    candidates = [str(row["customer_id"]) for row in _rows(dm, prefix.limit(5000))]
    raise NotFoundError(f"no customer with id, e-mail or phone '{key}'{suggest(key, candidates)}")


def get_profile(
    dm: Datamart,
    settings: Settings,
    key: str,
    as_of: dt.date | None = None,
    page: int = 1,
    page_size: int = 20,
) -> CustomerProfile:
    """The 360-degree profile of the customer ``key`` names, as of ``as_of``.

    ``as_of`` defaults to the day after the newest transaction; ``page`` and ``page_size`` choose
    the page of the timeline (newest first).
    """
    for name, value in (("page", page), ("page_size", page_size)):
        if value < 1:
            raise DataError(f"{name} must be 1 or more, got {value}", value=value, rule=">= 1")
    as_of = as_of or default_as_of(dm)
    profile_id = resolve_profile(dm, settings, key)
    identity_table = dm.table("identity")
    members = identity_table.filter(identity_table.profile_id == profile_id).select("customer_id")
    ids = sorted({profile_id, *(str(r["customer_id"]) for r in _rows(dm, members))})

    summary, source = summary_for(dm, settings, as_of)
    summary_rows = _rows(dm, summary.filter(summary.customer_id == profile_id))
    row = summary_rows[0] if summary_rows else None
    tier = str(row["value_tier"]) if row is not None else "D"
    identity = _identity(dm, profile_id, ids, as_of)
    issues = _open_issues(dm, ids, as_of)
    do_not_pitch, reason = _pitch_flag(issues)
    log.info("profile %s (%d customer ids) as of %s from %s", profile_id, len(ids), as_of, source)
    return CustomerProfile(
        customer_id=profile_id,
        as_of=as_of,
        source=source,
        identity=identity,
        kpis=kpis_from_row(row),
        rfm=rfm_from_row(row),
        value_tier=tier,
        service_policy=settings.service_policies[tier].model_dump(),
        third_party=_third_party(dm, ids, as_of),
        behaviour=_behaviour(dm, ids, as_of),
        social=_social(dm, ids, as_of),
        open_issues=issues,
        do_not_pitch=do_not_pitch,
        do_not_pitch_reason=reason,
        consents=_consents(dm, ids, identity, as_of),
        timeline=_timeline(dm, ids, as_of, page, page_size),
    )


def _identity(dm: Datamart, profile_id: str, ids: Sequence[str], as_of: dt.date) -> Identity:
    customers = dm.table("customers")
    rows = _rows(dm, customers.filter(customers.customer_id.isin(list(ids))))
    rows.sort(key=lambda r: (r["customer_id"] != profile_id, r["customer_id"]))
    main: dict[str, Any] = rows[0] if rows else {}
    # The profile's own record first; the others fill what it lacks.
    values = {
        name: next((r[name] for r in rows if r.get(name) is not None), None)
        for name in _IDENTITY_COLUMNS
    }
    birth = values["birth_date"]
    age = None
    if isinstance(birth, dt.date):
        age = as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))
    return Identity(
        customer_id=profile_id,
        customer_ids=tuple(ids),
        emails=tuple(sorted({r["email"] for r in rows if r.get("email")})),
        phones=tuple(sorted({r["phone"] for r in rows if r.get("phone")})),
        age=age,
        **{**values, "kind": values["kind"] or main.get("kind")},
    )


def _third_party(
    dm: Datamart, ids: Sequence[str], as_of: dt.date
) -> tuple[ThirdPartyAttribute, ...]:
    expr = sections.latest_third_party(dm.table("third_party"), ids, as_of)
    return tuple(ThirdPartyAttribute(**row) for row in _rows(dm, expr))


def _behaviour(dm: Datamart, ids: Sequence[str], as_of: dt.date) -> Behaviour:
    events = dm.table("events")
    counts = _rows(dm, sections.event_counts(events, ids, as_of))
    objects = _rows(dm, sections.top_objects(events, ids, as_of))
    last = max((r["last_activity"] for r in counts if r["last_activity"] is not None), default=None)
    return Behaviour(
        events=tuple(
            EventCount(
                event_type=r["event_type"],
                last_7_days=int(r["last_7_days"]),
                last_30_days=int(r["last_30_days"]),
                last_90_days=int(r["last_90_days"]),
            )
            for r in counts
        ),
        last_activity=last,
        top_objects=tuple(ObjectCount(r["object_id"], int(r["events"])) for r in objects),
    )


def _social(dm: Datamart, ids: Sequence[str], as_of: dt.date) -> SocialSummary:
    rows = _rows(dm, sections.social_counts(dm.table("social"), ids, as_of))
    rated = sum(int(r["sentiment_count"]) for r in rows)
    total = sum(float(r["sentiment_sum"] or 0.0) for r in rows)
    return SocialSummary(
        signals=sum(int(r["signals"]) for r in rows),
        mean_sentiment=total / rated if rated else None,
        by_network=tuple(SocialCount(r["network"], r["kind"], int(r["signals"])) for r in rows),
    )


def _open_issues(dm: Datamart, ids: Sequence[str], as_of: dt.date) -> tuple[OpenIssue, ...]:
    rows = _rows(dm, sections.open_issues(dm.table("interactions"), ids, as_of))
    return tuple(OpenIssue(**row) for row in rows)


def _pitch_flag(issues: Sequence[OpenIssue]) -> tuple[bool, str | None]:
    """Sales must not pitch to a customer with an open issue, least of all a pending return."""
    if not issues:
        return False, None
    reasons = []
    for kind in sections.ISSUE_KINDS:
        of_kind = [i for i in issues if i.kind == kind]
        if of_kind:
            since = min(i.occurred_at for i in of_kind).date().isoformat()
            what = "waiting for a return" if kind == "return" else f"open {kind}"
            count = f" ({len(of_kind)})" if len(of_kind) > 1 else ""
            reasons.append(f"{what}{count} since {since}")
    return True, "; ".join(reasons)


def _consents(dm: Datamart, ids: Sequence[str], identity: Identity, as_of: dt.date) -> Consents:
    rows = _rows(dm, sections.latest_consents(dm.table("consents"), ids, as_of))
    listed: list[dict[str, Any]] = []
    if identity.emails or identity.phones:
        dnc = dm.table("do_not_contact")
        on_list = ((dnc.kind == "email") & dnc.value.isin(list(identity.emails) or [""])) | (
            (dnc.kind == "phone") & dnc.value.isin(list(identity.phones) or [""])
        )
        listed = _rows(dm, dnc.filter(on_list).select("kind", "list_name"))
    return Consents(
        statuses=tuple(ConsentStatus(**row) for row in rows),
        email_do_not_contact=any(r["kind"] == "email" for r in listed),
        phone_do_not_contact=any(r["kind"] == "phone" for r in listed),
        do_not_contact_lists=tuple(sorted({str(r["list_name"] or "") for r in listed})),
    )


def _timeline(
    dm: Datamart, ids: Sequence[str], as_of: dt.date, page: int, page_size: int
) -> Timeline:
    expr = sections.timeline(dm.table("transactions"), dm.table("interactions"), ids, as_of)
    total = int(scalar(dm, expr.count()))
    rows = _rows(dm, expr.limit(page_size, offset=(page - 1) * page_size))
    entries = tuple(
        TimelineEntry(**{k: v for k, v in row.items() if k != "entry_id"}) for row in rows
    )
    return Timeline(page=page, page_size=page_size, total=total, entries=entries)
