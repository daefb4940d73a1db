"""Response attribution, backend-free: which contact each response answers, and which purchases
a campaign earned.

A campaign's *contacts* are its rows of ``contact_history`` that count for results: the target
group's contacts handed to a channel (status ``planned`` or ``contacted``) and the control
group's held-out customers (group ``control``, status ``held_out``).  Both are attributed by the
same rule, so that target and control are compared on equal terms.

* :func:`match_responses` ties each loaded response to a contact: by its ``contact_id`` when the
  file names one, otherwise by the customer's profile (the latest contact of the profile in that
  campaign planned on or before the response day).  A response that matches nothing is kept and
  carries the reason in ``unmatched``.
* :func:`attribute_purchases` finds the sales that follow a contact within the response window:
  from the contact's day (``planned_for``) to ``window_days`` days after it, both included, and
  before ``as_of``.  A sale that follows two contacts of the same profile goes to the latest one;
  ``attribution`` keeps the first, the last or every sale of a contact; ``attribute_by`` keeps
  any product, the products of the campaign's offers, or the product of the very offer the
  contact got.

Nothing here connects or executes: the functions take and return Ibis expressions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Literal, get_args

import ibis
import ibis.expr.types as ir

from clientela.datamart.ingest.identity import with_profile
from clientela.errors import ConfigError, suggest
from clientela.profile._common import as_of_start, transaction_kind

__all__ = [
    "ATTRIBUTED_SOURCE",
    "UNMATCHED_REASONS",
    "AttributeBy",
    "Attribution",
    "attribute_purchases",
    "campaign_contacts",
    "check_attribution",
    "match_responses",
]

Attribution = Literal["first", "last", "every"]
AttributeBy = Literal["any", "offer", "product"]

ATTRIBUTED_SOURCE = "attributed"
"""``responses.source`` of the purchases written by the attribution."""

UNMATCHED_REASONS = {
    "unknown_contact": "names a contact_id that is not in the campaign's contact history",
    "no_contacts": "the campaign has no contacts in the contact history",
    "not_contacted": "the customer has no contact in this campaign",
    "before_contact": "responded before the customer's first contact in this campaign",
}


def check_attribution(attribution: str, attribute_by: str, window_days: int) -> None:
    """ConfigError naming the value and the allowed ones when a parameter is wrong."""
    for field, value, allowed in (
        ("attribution", attribution, get_args(Attribution)),
        ("attribute_by", attribute_by, get_args(AttributeBy)),
    ):
        if value not in allowed:
            raise ConfigError(
                f"{field} '{value}' is not one of {', '.join(allowed)}{suggest(value, allowed)}"
            )
    if window_days < 0:
        raise ConfigError(f"response_window_days must be 0 or more, got {window_days}")


def campaign_contacts(
    contact_history: ir.Table,
    campaign: str,
    as_of: dt.date,
    runs: ir.Table | None = None,
) -> ir.Table:
    """The campaign's contacts that count for results, planned before ``as_of``.

    Columns: contact_id, profile_id, customer_id, channel, offer_id, planned_for, score_decile
    and ``group_name`` (``target`` or ``control``).  A held-out customer has no day of its own
    when the execution left ``planned_for`` empty: it takes its run's ``as_of`` from ``runs``
    (``campaign_runs``), the day its contact would have started.
    """
    ch = contact_history
    contacted = ch.status.isin(["planned", "contacted"]) & (ch.group_name == "target")
    held_out = (ch.status == "held_out") & (ch.group_name == "control")
    rows = ch.filter(ch.campaign == campaign, contacted | held_out)
    day: ir.DateValue = rows.planned_for
    if runs is not None:
        started = runs.filter(runs.campaign == campaign).select(
            _run=runs.run_id, _run_day=runs.as_of
        )
        rows = rows.left_join(started, rows.run_id == started._run)
        day = ibis.coalesce(rows.planned_for, rows._run_day)
    rows = rows.select(
        "contact_id",
        "profile_id",
        "customer_id",
        "channel",
        "offer_id",
        "score_decile",
        "group_name",
        planned_for=day,
    )
    return rows.filter(rows.planned_for < ibis.literal(as_of))


def _day_start(day: ir.DateValue) -> ir.TimestampValue:
    start: ir.TimestampValue = day.cast("timestamp")
    return start


def match_responses(
    responses: ir.Table,
    contacts: ir.Table,
    identity: ir.Table,
    campaign: str,
    *,
    has_contacts: bool = True,
) -> ir.Table:
    """The campaign's loaded responses, each with the contact it answers (or why none).

    Attributed purchases (``source = 'attributed'``) are left out: they are matched by
    construction.  Columns: the response's own columns, ``profile_id``, ``matched_contact_id``,
    ``group_name``, ``score_decile`` and ``unmatched`` (null when matched, else a key of
    :data:`UNMATCHED_REASONS`).  ``has_contacts`` False says the campaign has no contacts at
    all (the service knows it from one count), so that every response is unmatched for that
    reason.
    """
    own = responses.filter(
        responses.campaign == campaign,
        responses.source.isnull() | (responses.source != ATTRIBUTED_SOURCE),
    )
    own = with_profile(own, identity)
    # Each join gets its own projection of the contacts (ibis would find a self-join ambiguous).
    ci = contacts.select(
        _i_id=contacts.contact_id, _i_group=contacts.group_name, _i_decile=contacts.score_decile
    )
    c = contacts.select(
        _c_id=contacts.contact_id,
        _c_profile=contacts.profile_id,
        _c_day=contacts.planned_for,
        _c_group=contacts.group_name,
        _c_decile=contacts.score_decile,
    ).view()
    # By contact_id, when the file names one.
    by_id = own.left_join(ci, own.contact_id == ci._i_id).select(
        *[own[name] for name in own.columns],
        _id_contact=ci._i_id,
        _id_group=ci._i_group,
        _id_decile=ci._i_decile,
    )
    by_id = by_id.view()
    # Otherwise by profile: the latest contact planned on or before the response day.
    by_profile = by_id.left_join(
        c,
        (by_id.profile_id == c._c_profile)
        & (_day_start(c._c_day) <= by_id.responded_at)
        & by_id.contact_id.isnull(),
    )
    latest = ibis.row_number().over(
        group_by=by_profile.response_id,
        order_by=[ibis.desc(by_profile._c_day), ibis.desc(by_profile._c_id)],
    )
    ranked = by_profile.mutate(_rank=latest)
    best = ranked.filter(ranked._rank == 0)
    profiles_contacted = contacts.select(_p=contacts.profile_id).distinct()
    has_any = best.left_join(profiles_contacted, best.profile_id == profiles_contacted._p)
    matched_id = ibis.coalesce(has_any._id_contact, has_any._c_id)
    unmatched = ibis.cases(
        (matched_id.notnull(), ibis.null("string")),
        (ibis.literal(not has_contacts), "no_contacts"),
        (has_any.contact_id.notnull(), "unknown_contact"),
        (has_any._p.isnull(), "not_contacted"),
        else_="before_contact",
    )
    return has_any.select(
        *[has_any[name] for name in own.columns],
        matched_contact_id=matched_id,
        group_name=ibis.coalesce(has_any._id_group, has_any._c_group),
        score_decile=ibis.coalesce(has_any._id_decile, has_any._c_decile),
        unmatched=unmatched,
    )


def attribute_purchases(
    contacts: ir.Table,
    transactions: ir.Table,
    identity: ir.Table,
    *,
    campaign: str,
    as_of: dt.date,
    window_days: int,
    attribution: Attribution = "last",
    attribute_by: AttributeBy = "any",
    offer_products: Mapping[str, str] | None = None,
) -> ir.Table:
    """The purchases each contact earned, as rows of the ``responses`` table.

    ``offer_products`` maps each offer_id of the campaign to its product (a ``product_id`` or a
    ``category`` of ``transactions``); ``attribute_by`` other than ``any`` needs it.  The
    ``response_id`` is ``attributed:<contact_id>:<transaction_id>``: the same contact and sale
    always give the same row, so writing them again adds nothing.
    """
    check_attribution(attribution, attribute_by, window_days)
    products = dict(offer_products or {})
    if attribute_by != "any" and not products:
        raise ConfigError(
            f"attribute_by '{attribute_by}' needs offers with a product in campaign '{campaign}'; "
            "give each offer a 'product' or use attribute_by: any"
        )
    tx = transactions.filter(
        transaction_kind(transactions) == "sale",
        transactions.amount > 0,
        transactions.occurred_at < as_of_start(as_of),
    )
    tx = with_profile(tx, identity)
    tx = tx.select(
        _t_id=tx.transaction_id,
        _t_customer=tx.customer_id,
        _t_profile=tx.profile_id,
        _t_at=tx.occurred_at,
        _t_product=tx.product_id,
        _t_category=tx.category,
        _t_amount=tx.amount,
        _t_margin=ibis.coalesce(tx.margin, tx.amount - tx.cost),
    )
    start = _day_start(contacts.planned_for)
    end = _day_start(contacts.planned_for + ibis.interval(days=window_days + 1))
    joined = contacts.join(
        tx,
        (contacts.profile_id == tx._t_profile) & (tx._t_at >= start) & (tx._t_at < end),
    )
    if attribute_by == "product":
        wanted = sorted(set(products.values()))
        joined = joined.filter(joined._t_product.isin(wanted) | joined._t_category.isin(wanted))
    elif attribute_by == "offer":
        offer_product = joined.offer_id.substitute(products, else_=ibis.null("string"))
        joined = joined.filter(
            (joined._t_product == offer_product) | (joined._t_category == offer_product)
        )
    # A sale that follows two contacts of the profile belongs to the latest of them.
    to_latest = ibis.row_number().over(
        group_by=joined._t_id,
        order_by=[ibis.desc(joined.planned_for), ibis.desc(joined.contact_id)],
    )
    joined = joined.mutate(_owner=to_latest)
    joined = joined.filter(joined._owner == 0)
    if attribution != "every":
        order = [joined._t_at, joined._t_id]
        if attribution == "last":
            order = [ibis.desc(joined._t_at), ibis.desc(joined._t_id)]
        rank = ibis.row_number().over(group_by=joined.contact_id, order_by=order)
        joined = joined.mutate(_nth=rank)
        joined = joined.filter(joined._nth == 0)
    return joined.select(
        response_id=ibis.literal(f"{ATTRIBUTED_SOURCE}:")
        + joined.contact_id
        + ibis.literal(":")
        + joined._t_id,
        campaign=ibis.literal(campaign),
        customer_id=joined._t_customer,
        contact_id=joined.contact_id,
        responded_at=joined._t_at,
        kind=ibis.literal("purchase"),
        channel=joined.channel,
        offer_id=joined.offer_id,
        outcome=joined._t_product,
        revenue=joined._t_amount.cast("float64"),
        margin=joined._t_margin.cast("float64"),
        source=ibis.literal(ATTRIBUTED_SOURCE),
    )
