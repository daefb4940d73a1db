"""One customer's 360-degree profile, looked up by customer id, e-mail or phone.

A lookup runs a handful of small queries, each filtered by the customer ids unified in the
profile; KPIs, RFM and tier come from ``customer_summary`` when it is built for the as-of date.

Compiling an ibis expression costs tens of milliseconds, far more than running one of these
queries on indexed columns; so every section is compiled once per process and SQL dialect, with
sentinel values where the key, the customer ids and ``as_of`` go, and then run with bound ``?``
parameters (:meth:`Datamart.records`).  Only the number of ids is part of the compiled shape.

A section reads a fact table through a materialised common table expression that selects the
profile's rows by customer id alone, and computes over those few rows: DuckDB answers a scan
with an index only when the indexed column is its sole filter, and would otherwise read every
row of ``events`` to apply the as-of cut-off.  PostgreSQL (12 and later) runs the same SQL.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.backends import quote
from clientela.datamart.ingest.normalize import normalise_email, normalise_phone
from clientela.datamart.schema import TABLES
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
from clientela.services._score_trend import profile_predictions, profile_scores
from clientela.services._summary import default_as_of, summary_row

__all__ = ["get_profile", "resolve_profile"]

log = logging.getLogger(__name__)

_IDENTITY_COLUMNS = (
    "kind", "name", "birth_date", "gender", "address", "postal_code", "city", "region",
    "country", "industry", "company_size", "employees", "account_owner", "created_at",
)  # fmt: skip


# -- sections compiled once, run with parameters ---------------------------------------------
_SENTINEL = "clientela.param."
_PLACEHOLDER = re.compile(r"'clientela\.param\.([a-z0-9_]+)'")


@dataclass(frozen=True)
class _Query:
    """A section compiled for one dialect: SQL with ``?`` and the parameter names in order."""

    sql: str
    params: tuple[str, ...]


def _param(name: str) -> str:
    """The sentinel literal that :func:`_compiled` turns into a ``?`` parameter ``name``."""
    return _SENTINEL + name


def _ids(prefix: str, count: int) -> list[str]:
    return [_param(f"{prefix}{i}") for i in range(count)]


def _as_of() -> ir.DateScalar:
    as_of: ir.DateScalar = ibis.literal(_param("as_of")).cast("date")
    return as_of


def _table(name: str) -> ir.Table:
    # Unbound tables of the datamart schema: the SQL names them as the connection sees them.
    return ibis.table(TABLES[name], name=name)


_PROFILE_ROWS = "_profile_rows_"
_PROFILE_ROWS_NAME = re.compile(r'"_profile_rows_([a-z_]+)"')
# The columns the sections read: an index scan fetches every selected column row by row.
_SECTION_COLUMNS = {
    "events": ("customer_id", "occurred_at", "event_type", "object_id"),
    "transactions": (
        "transaction_id", "customer_id", "occurred_at", "kind", "order_id", "product_name",
        "product_id", "amount", "channel",
    ),
    "interactions": (
        "interaction_id", "customer_id", "occurred_at", "kind", "channel", "status", "description",
    ),
    "social": ("customer_id", "occurred_at", "network", "kind", "sentiment"),
    "consents": (
        "consent_id", "customer_id", "recorded_at", "channel", "purpose", "status", "source",
    ),
    "third_party": ("attribute_id", "customer_id", "source", "as_of", "attribute", "value"),
    "contact_history": (
        "contact_id", "profile_id", "customer_id", "campaign", "channel", "offer_id", "status",
        "group_name", "planned_for", "created_at",
    ),
    "responses": (
        "response_id", "customer_id", "campaign", "responded_at", "kind", "channel", "offer_id",
        "outcome", "revenue", "source",
    ),
}  # fmt: skip


# The indexed column that selects a profile's rows, where it is not customer_id: contacts are
# recorded by profile (a profile's id is one of its customer ids).
_ROW_KEY = {"contact_history": "profile_id"}


def _rows_of(name: str) -> ir.Table:
    """The profile's rows of table ``name`` (a CTE that :func:`_with_profile_rows` adds)."""
    schema = TABLES[name]
    columns = {column: schema[column] for column in _SECTION_COLUMNS[name]}
    return ibis.table(columns, name=_PROFILE_ROWS + name)


def _with_profile_rows(sql: str, dialect: str, count: int) -> str:
    """``sql`` with a materialised CTE of the profile's rows for every table it reads them of."""
    names = dict.fromkeys(_PROFILE_ROWS_NAME.findall(sql))
    if not names:
        return sql
    ctes = []
    for name in names:
        table = _table(name)
        key = table[_ROW_KEY.get(name, "customer_id")]
        rows = table.filter(key.isin(_ids("id", count))).select(*_SECTION_COLUMNS[name])
        cte = ibis.to_sql(rows, dialect=dialect)
        ctes.append(f"{quote(_PROFILE_ROWS + name)} AS MATERIALIZED ({cte})")
    body = sql.lstrip()
    if body[:5].upper() == "WITH ":  # ibis' own CTEs follow ours
        return "WITH " + ", ".join(ctes) + ", " + body[5:]
    return "WITH " + ", ".join(ctes) + " " + body


def _matching_customers(email: int, phone: int) -> ir.Table:
    """Customers whose id (or e-mail, or phone, when the key can be one) is the key.

    One OR over the three columns would scan the table; a union of equalities uses the indexes.
    """
    customers = _table("customers")
    columns = ["customer_id", *(["email"] if email else []), *(["phone"] if phone else [])]
    lookups = [
        customers.filter(customers[column] == _param(column)).select("customer_id")
        for column in columns
    ]
    return ibis.union(*lookups, distinct=True) if len(lookups) > 1 else lookups[0]


def _profiles_of(count: int) -> ir.Table:
    identity = _table("identity")
    return identity.filter(identity.customer_id.isin(_ids("id", count))).select(
        "customer_id", "profile_id"
    )


def _members() -> ir.Table:
    identity = _table("identity")
    return identity.filter(identity.profile_id == _param("profile_id")).select("customer_id")


def _customer_rows(count: int) -> ir.Table:
    customers = _table("customers")
    return customers.filter(customers.customer_id.isin(_ids("id", count)))


def _do_not_contact(emails: int, phones: int) -> ir.Table:
    dnc = _table("do_not_contact")
    listed = [
        (dnc.kind == kind) & dnc.value.isin(_ids(kind, count))
        for kind, count in (("email", emails), ("phone", phones))
        if count
    ]
    return dnc.filter(functools.reduce(operator.or_, listed)).select("kind", "list_name")


def _timeline_page(count: int) -> ir.Table:
    first: ir.IntegerScalar = ibis.literal(_param("first")).cast("int64")
    last: ir.IntegerScalar = ibis.literal(_param("last")).cast("int64")
    return sections.timeline_page(
        _rows_of("transactions"),
        _rows_of("interactions"),
        _ids("id", count),
        _as_of(),
        first,
        last,
        contacts=_rows_of("contact_history"),
        responses=_rows_of("responses"),
    )


def _timeline_total(count: int) -> ir.Table:
    entries = sections.timeline(
        _rows_of("transactions"),
        _rows_of("interactions"),
        _ids("id", count),
        _as_of(),
        contacts=_rows_of("contact_history"),
        responses=_rows_of("responses"),
    )
    return entries.aggregate(total=entries.count())


def _of_rows(
    section: Callable[[ir.Table, Sequence[str], sections.AsOf], ir.Table], table: str
) -> Callable[[int], ir.Table]:
    """A one-table section over the profile's rows of ``table``."""
    return lambda count: section(_rows_of(table), _ids("id", count), _as_of())


_SECTIONS: dict[str, Callable[..., ir.Table]] = {
    "matching_customers": _matching_customers,
    "profiles_of": _profiles_of,
    "members": _members,
    "customers": _customer_rows,
    "third_party": _of_rows(sections.latest_third_party, "third_party"),
    "event_counts": _of_rows(sections.event_counts, "events"),
    "top_objects": _of_rows(sections.top_objects, "events"),
    "social": _of_rows(sections.social_counts, "social"),
    "open_issues": _of_rows(sections.open_issues, "interactions"),
    "consents": _of_rows(sections.latest_consents, "consents"),
    "do_not_contact": _do_not_contact,
    "timeline_page": _timeline_page,
    "timeline_total": _timeline_total,
}


@functools.lru_cache(maxsize=512)
def _compiled(dialect: str, section: str, shape: tuple[int, ...]) -> _Query:
    sql = str(ibis.to_sql(_SECTIONS[section](*shape), dialect=dialect))
    sql = _with_profile_rows(sql, dialect, shape[0] if shape else 0)
    return _Query(_PLACEHOLDER.sub("?", sql), tuple(_PLACEHOLDER.findall(sql)))


def _run(
    dm: Datamart, section: str, values: Mapping[str, Any], *shape: int
) -> list[dict[str, Any]]:
    """The rows of one section for the parameter ``values`` (compiled on first use)."""
    query = _compiled(dm.kind, section, shape)
    return dm.records(query.sql, [values[name] for name in query.params])


def _submit(
    dm: Datamart, section: str, values: Mapping[str, Any], *shape: int
) -> Future[list[dict[str, Any]]]:
    """:func:`_run`, started on a cursor of its own (see :meth:`Datamart.submit_records`)."""
    query = _compiled(dm.kind, section, shape)
    return dm.submit_records(query.sql, [values[name] for name in query.params])


def _id_values(prefix: str, ids: Sequence[str]) -> dict[str, str]:
    return {f"{prefix}{i}": value for i, value in enumerate(ids)}


# -- the lookup ------------------------------------------------------------------------------
def resolve_profile(dm: Datamart, settings: Settings, key: str) -> str:
    """The profile id of a customer id, e-mail or phone; NotFoundError with a close match."""
    key = key.strip()
    try:
        email = normalise_email(key)
    except ValueError:
        email = None
    try:
        phone = normalise_phone(key, settings.default_region) if "@" not in key else None
    except ValueError:
        phone = None
    found = sorted(
        str(row["customer_id"])
        for row in _run(
            dm,
            "matching_customers",
            {"customer_id": key, "email": email, "phone": phone},
            email is not None,
            phone is not None,
        )
    )
    if found:
        linked = _run(dm, "profiles_of", _id_values("id", found), len(found))
        # A customer absent from identity is its own profile.
        profile_of = {
            **{c: c for c in found},
            **{r["customer_id"]: r["profile_id"] for r in linked},
        }
        ids = sorted({str(p) for p in profile_of.values()})
        if len(ids) == 1:
            return ids[0]
        shown = ids[:10]
        raise DataError(
            f"'{key}' matches customers of {len(shown)} profiles ({', '.join(shown)}); "
            "ask for one of them by customer id",
            value=key,
            rule="a key names one profile",
        )
    customers = dm.table("customers")
    prefix = customers.filter(customers.customer_id.startswith(key[:2])).select("customer_id")
    candidates = [str(row["customer_id"]) for row in dm.to_pyarrow(prefix.limit(5000)).to_pylist()]
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
    members = _run(dm, "members", {"profile_id": profile_id})
    ids = sorted({profile_id, *(str(r["customer_id"]) for r in members)})
    values = {"as_of": as_of, **_id_values("id", ids)}
    n = len(ids)
    first = (page - 1) * page_size + 1
    bounds = {"first": first, "last": page * page_size}
    # The sections are independent: they run at the same time, the slowest started first,
    # while this connection reads the summary and the scores.  The customers' rows come next:
    # the do-not-contact lists need their e-mails and phones, and so start before the last
    # sections end instead of after them.
    timeline_page = _submit(dm, "timeline_page", {**values, **bounds}, n)
    customers = _submit(dm, "customers", values, n)
    started = {
        name: _submit(dm, name, values, n)
        for name in (
            "event_counts", "consents", "third_party", "top_objects", "open_issues", "social",
        )
    }  # fmt: skip
    row, source = summary_row(dm, settings, profile_id, as_of)
    scores = profile_scores(dm, profile_id, as_of)
    predictions = profile_predictions(dm, profile_id, as_of)
    identity = _identity(profile_id, ids, customers.result(), as_of)
    listed = _do_not_contact_lists(dm, identity)
    section = {name: future.result() for name, future in started.items()}

    tier = str(row["value_tier"]) if row is not None else "D"
    issues = tuple(OpenIssue(**r) for r in section["open_issues"])
    do_not_pitch, reason = _pitch_flag(issues)
    log.info("profile %s (%d customer ids) as of %s from %s", profile_id, n, as_of, source)
    return CustomerProfile(
        customer_id=profile_id,
        as_of=as_of,
        source=source,
        identity=identity,
        kpis=kpis_from_row(row),
        rfm=rfm_from_row(row),
        value_tier=tier,
        service_policy=settings.service_policies[tier].model_dump(),
        third_party=tuple(ThirdPartyAttribute(**r) for r in section["third_party"]),
        behaviour=_behaviour(section["event_counts"], section["top_objects"]),
        social=_social(section["social"]),
        open_issues=issues,
        do_not_pitch=do_not_pitch,
        do_not_pitch_reason=reason,
        consents=_consents(section["consents"], listed.result()),
        timeline=_timeline(dm, values, n, timeline_page.result(), page, page_size),
        scores=scores,
        predictions=predictions,
    )


def _identity(
    profile_id: str, ids: Sequence[str], rows: list[dict[str, Any]], as_of: dt.date
) -> Identity:
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


def _behaviour(counts: list[dict[str, Any]], objects: list[dict[str, Any]]) -> Behaviour:
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


def _social(rows: list[dict[str, Any]]) -> SocialSummary:
    rated = sum(int(r["sentiment_count"]) for r in rows)
    total = sum(float(r["sentiment_sum"] or 0.0) for r in rows)
    return SocialSummary(
        signals=sum(int(r["signals"]) for r in rows),
        mean_sentiment=total / rated if rated else None,
        by_network=tuple(SocialCount(r["network"], r["kind"], int(r["signals"])) for r in rows),
    )


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


def _do_not_contact_lists(dm: Datamart, identity: Identity) -> Future[list[dict[str, Any]]]:
    """The do-not-contact entries of the profile's e-mails and phones, started on a cursor."""
    if not (identity.emails or identity.phones):
        none: Future[list[dict[str, Any]]] = Future()
        none.set_result([])
        return none
    values = {**_id_values("email", identity.emails), **_id_values("phone", identity.phones)}
    return _submit(dm, "do_not_contact", values, len(identity.emails), len(identity.phones))


def _consents(rows: list[dict[str, Any]], listed: list[dict[str, Any]]) -> Consents:
    return Consents(
        statuses=tuple(ConsentStatus(**row) for row in rows),
        email_do_not_contact=any(r["kind"] == "email" for r in listed),
        phone_do_not_contact=any(r["kind"] == "phone" for r in listed),
        do_not_contact_lists=tuple(sorted({str(r["list_name"] or "") for r in listed})),
    )


def _timeline(
    dm: Datamart,
    values: Mapping[str, Any],
    count: int,
    rows: list[dict[str, Any]],
    page: int,
    page_size: int,
) -> Timeline:
    """The timeline from the rows of its page (``timeline_page``)."""
    first = (page - 1) * page_size + 1
    if rows:
        total = int(rows[0]["total"])
    elif first == 1:
        total = 0
    else:  # a page past the end says nothing of how many entries there are
        total = int(_run(dm, "timeline_total", values, count)[0]["total"])
    skipped = {"entry_id", "position", "total"}
    entries = tuple(
        TimelineEntry(**{k: v for k, v in row.items() if k not in skipped}) for row in rows
    )
    return Timeline(page=page, page_size=page_size, total=total, entries=entries)
