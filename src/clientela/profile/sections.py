"""The expressions behind the sections of one profile, filtered by its customer ids.

Each function takes datamart tables, the customer ids unified in the profile and ``as_of``, and
returns an expression small enough to run per lookup: every one filters on ``customer_id`` first.

``as_of`` may also be a date expression instead of a date (and ``first``/``last`` of
:func:`timeline_page` integer expressions), so that a service can compile a section once and run
it with bound query parameters for every lookup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TypeAlias

import ibis
import ibis.expr.types as ir

from clientela.profile._common import as_of_start

__all__ = [
    "BEHAVIOUR_WINDOWS",
    "ISSUE_KINDS",
    "AsOf",
    "event_counts",
    "latest_consents",
    "latest_third_party",
    "open_issues",
    "social_counts",
    "timeline",
    "timeline_page",
    "top_objects",
]

BEHAVIOUR_WINDOWS = (7, 30, 90)
# Interactions that, while open, are an issue the customer waits on.
ISSUE_KINDS = ("complaint", "incident", "return")

AsOf: TypeAlias = dt.date | ir.DateScalar
"""An as-of date: a Python date, or a date expression (such as a query parameter)."""


def _as_of_date(as_of: AsOf) -> ir.DateScalar:
    if isinstance(as_of, dt.date):
        return ibis.literal(as_of, type="date")
    return as_of


def _cutoff(as_of: AsOf) -> ir.TimestampScalar:
    """Midnight at the start of ``as_of``: the first instant that no longer counts."""
    if isinstance(as_of, dt.date):
        return as_of_start(as_of)
    cutoff: ir.TimestampScalar = as_of.cast("timestamp")
    return cutoff


def latest_third_party(third_party: ir.Table, customer_ids: Sequence[str], as_of: AsOf) -> ir.Table:
    """The latest value of every source + attribute (undated values count as oldest)."""
    rows = third_party.filter(
        third_party.customer_id.isin(list(customer_ids)),
        third_party.as_of.isnull() | (third_party.as_of < _as_of_date(as_of)),
    )
    newest_first = ibis.row_number().over(
        group_by=[rows.source, rows.attribute],
        order_by=[ibis.desc(rows.as_of), ibis.desc(rows.attribute_id)],
    )
    latest = rows.mutate(_n=newest_first)
    return (
        latest.filter(latest._n == 0)
        .select("source", "attribute", "value", "as_of")
        .order_by(["source", "attribute"])
    )


def _recent_events(events: ir.Table, customer_ids: Sequence[str], as_of: AsOf) -> ir.Table:
    return events.filter(
        events.customer_id.isin(list(customer_ids)), events.occurred_at < _cutoff(as_of)
    )


def event_counts(events: ir.Table, customer_ids: Sequence[str], as_of: AsOf) -> ir.Table:
    """Per event type: events in the last 7, 30 and 90 days and the last one ever."""
    rows = _recent_events(events, customer_ids, as_of)
    cutoff = _cutoff(as_of)
    windows = {
        f"last_{days}_days": rows.count(where=rows.occurred_at >= cutoff - ibis.interval(days=days))
        for days in BEHAVIOUR_WINDOWS
    }
    return (
        rows.group_by(event_type=rows.event_type.fill_null("unknown"))
        .aggregate(**windows, last_activity=rows.occurred_at.max())
        .order_by("event_type")
    )


def top_objects(
    events: ir.Table, customer_ids: Sequence[str], as_of: AsOf, limit: int = 5
) -> ir.Table:
    """The objects (pages, products, e-mails) with most events in the last 90 days."""
    rows = _recent_events(events, customer_ids, as_of)
    since = _cutoff(as_of) - ibis.interval(days=max(BEHAVIOUR_WINDOWS))
    rows = rows.filter(rows.occurred_at >= since, rows.object_id.notnull())
    return (
        rows.group_by("object_id")
        .aggregate(events=rows.count())
        .order_by([ibis.desc("events"), "object_id"])
        .limit(limit)
    )


def social_counts(social: ir.Table, customer_ids: Sequence[str], as_of: AsOf) -> ir.Table:
    """Signals per network and kind with their sentiment sum and count (to average overall)."""
    rows = social.filter(
        social.customer_id.isin(list(customer_ids)), social.occurred_at < _cutoff(as_of)
    )
    return (
        rows.group_by("network", "kind")
        .aggregate(
            signals=rows.count(),
            sentiment_sum=rows.sentiment.sum(),
            sentiment_count=rows.sentiment.count(),
        )
        .order_by(["network", "kind"])
    )


def open_issues(interactions: ir.Table, customer_ids: Sequence[str], as_of: AsOf) -> ir.Table:
    """Open complaints, incidents and returns, oldest first."""
    rows = interactions.filter(
        interactions.customer_id.isin(list(customer_ids)),
        interactions.occurred_at < _cutoff(as_of),
        interactions.kind.isin(ISSUE_KINDS),
        interactions.status == "open",
    )
    return rows.select(
        "interaction_id", "customer_id", "kind", "occurred_at", "channel", "description"
    ).order_by(["occurred_at", "interaction_id"])


def latest_consents(consents: ir.Table, customer_ids: Sequence[str], as_of: AsOf) -> ir.Table:
    """The newest consent record per channel and purpose."""
    rows = consents.filter(
        consents.customer_id.isin(list(customer_ids)), consents.recorded_at < _cutoff(as_of)
    )
    newest_first = ibis.row_number().over(
        group_by=[rows.channel, rows.purpose],
        order_by=[ibis.desc(rows.recorded_at), ibis.desc(rows.consent_id)],
    )
    latest = rows.mutate(_n=newest_first)
    return (
        latest.filter(latest._n == 0)
        .select("channel", "purpose", "status", "recorded_at", "source")
        .order_by(["channel", "purpose"])
    )


def timeline(
    transactions: ir.Table,
    interactions: ir.Table,
    customer_ids: Sequence[str],
    as_of: AsOf,
    contacts: ir.Table | None = None,
    responses: ir.Table | None = None,
) -> ir.Table:
    """Every transaction and interaction before ``as_of``, newest first (key: ``entry_id``).

    With ``contacts`` (``contact_history``) and ``responses``, the campaign contacts (source
    ``contact``: kind is the contact's status, status its group) and the responses (source
    ``response``) are entries too.
    """
    ids = list(customer_ids)
    cutoff = _cutoff(as_of)
    tx = transactions.filter(transactions.customer_id.isin(ids), transactions.occurred_at < cutoff)
    tx_rows = tx.select(
        occurred_at=tx.occurred_at,
        source=ibis.literal("transaction"),
        kind=tx.kind.fill_null("sale"),
        customer_id=tx.customer_id,
        reference=tx.order_id,
        description=tx.product_name.fill_null(tx.product_id),
        amount=tx.amount,
        channel=tx.channel,
        status=ibis.null("string"),
        entry_id=tx.transaction_id,
    )
    it = interactions.filter(interactions.customer_id.isin(ids), interactions.occurred_at < cutoff)
    it_rows = it.select(
        occurred_at=it.occurred_at,
        source=ibis.literal("interaction"),
        kind=it.kind,
        customer_id=it.customer_id,
        reference=it.interaction_id,
        description=it.description,
        amount=ibis.null("float64"),
        channel=it.channel,
        status=it.status,
        entry_id=it.interaction_id,
    )
    parts = [tx_rows, it_rows]
    if contacts is not None:
        parts.append(_contact_rows(contacts, ids, cutoff))
    if responses is not None:
        parts.append(_response_rows(responses, ids, cutoff))
    both = ibis.union(*parts, distinct=False)
    return both.order_by([ibis.desc("occurred_at"), ibis.desc("source"), ibis.desc("entry_id")])


def _contact_rows(contacts: ir.Table, ids: list[str], cutoff: ir.TimestampScalar) -> ir.Table:
    """Campaign contacts: the day planned (held-out ones: when they were recorded)."""
    when = ibis.coalesce(contacts.planned_for.cast("timestamp"), contacts.created_at)
    # By profile_id: contacts are recorded by profile (its id is one of its customer ids).
    rows = contacts.filter(contacts.profile_id.isin(ids)).mutate(_when=when)
    rows = rows.filter(rows._when < cutoff)
    return rows.select(
        occurred_at=rows._when,
        source=ibis.literal("contact"),
        kind=rows.status,
        customer_id=rows.customer_id,
        reference=rows.campaign,
        description=rows.offer_id,
        amount=ibis.null("float64"),
        channel=rows.channel,
        status=rows.group_name,
        entry_id=rows.contact_id,
    )


def _response_rows(responses: ir.Table, ids: list[str], cutoff: ir.TimestampScalar) -> ir.Table:
    """Responses to campaigns, attributed purchases included (amount: the revenue)."""
    rows = responses.filter(responses.customer_id.isin(ids), responses.responded_at < cutoff)
    return rows.select(
        occurred_at=rows.responded_at,
        source=ibis.literal("response"),
        kind=rows.kind,
        customer_id=rows.customer_id,
        reference=rows.campaign,
        description=ibis.coalesce(rows.outcome, rows.offer_id),
        amount=rows.revenue,
        channel=rows.channel,
        status=rows.source,
        entry_id=rows.response_id,
    )


def timeline_page(
    transactions: ir.Table,
    interactions: ir.Table,
    customer_ids: Sequence[str],
    as_of: AsOf,
    first: int | ir.IntegerScalar,
    last: int | ir.IntegerScalar,
    contacts: ir.Table | None = None,
    responses: ir.Table | None = None,
) -> ir.Table:
    """Entries ``first`` to ``last`` (1-based, inclusive) of :func:`timeline`, newest first.

    Every row also carries ``position`` and ``total``, the number of entries on all pages.
    """
    rows = timeline(transactions, interactions, customer_ids, as_of, contacts, responses)
    newest_first = [ibis.desc("occurred_at"), ibis.desc("source"), ibis.desc("entry_id")]
    numbered = rows.mutate(
        position=ibis.row_number().over(order_by=newest_first) + 1,
        total=rows.entry_id.count().over(),
    )
    page = numbered.filter(numbered.position >= first, numbered.position <= last)
    return page.order_by("position")
