"""The rows of a campaign run's channel files, as Ibis expressions (one query per file).

Every file starts from the run's ``contact_history`` rows with status ``planned``: held-out,
deferred and dropped customers are never read.  Each planned contact is joined to its customer
record (the representative ``customer_id``) and checked once more, as a last line of defence,
against what makes an address unusable for the channel:

* the address the channel needs is missing (no e-mail, no phone, no postal address);
* an e-mail or phone of the profile (any of its customer records) is on a do-not-contact
  (Robinson) list: the e-mail for ``email``, the phone for ``call`` and ``sms``, either for
  ``mail`` and ``push``; for ``ads`` a listed kind is left out of the audience;
* the profile's newest consent record for the channel (or for ``any`` channel), for some
  purpose, is an opt-out.  Consents are read whatever their date: a withdrawal recorded after
  the run's as-of date is still honoured.

The expression keeps every planned contact with a ``drop_reason`` (null for the ones written) so
that one query gives both the file's rows and the count of what was dropped and why.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.profile._common import (
    REFUND_KINDS,
    REVENUE_KINDS,
    as_of_start,
    transaction_kind,
    with_profile_id,
)
from clientela.profile.sections import ISSUE_KINDS
from clientela.services._summary import summary_for

__all__ = [
    "ADDRESS",
    "CONSENT_CHANNEL",
    "call_essentials",
    "contactable",
    "planned_contacts",
]

# The consent channel of each campaign channel (consents.channel).
CONSENT_CHANNEL = {
    "call": "phone",
    "email": "email",
    "sms": "sms",
    "mail": "mail",
    "push": "push",
    "ads": "ads",
}
# The address each channel needs: the customers column and how the reason names it.
ADDRESS = {
    "call": ("phone", "phone number"),
    "email": ("email", "e-mail address"),
    "sms": ("phone", "phone number"),
}
# How long back the revenue and orders an agent sees are counted.
RECENT_DAYS = 365


def planned_contacts(
    dm: Datamart, run_id: str, campaign: str, channels: tuple[str, ...]
) -> ir.Table:
    """The run's planned contacts on the channel (any spelling in ``channels``)."""
    history = dm.table("contact_history")
    return history.filter(
        history.run_id == run_id,
        history.campaign == campaign,
        history.status == "planned",
        history.channel.lower().isin(list(channels)),
    ).select(
        "contact_id",
        "profile_id",
        "customer_id",
        "offer_id",
        "planned_for",
        "priority",
        "score_decile",
    )


def _blank_to_null(value: ir.StringValue) -> ir.StringValue:
    trimmed: ir.StringValue = value.strip()
    return trimmed.nullif("")


def contactable(dm: Datamart, planned: ir.Table, channel: str) -> ir.Table:
    """``planned`` with the customer's fields and ``drop_reason`` (null: the contact is written).

    Columns added: name, email, phone, address, postal_code, city, region, country, kind,
    consent (``opt_in``, ``opt_out`` or ``no record`` for the channel) and drop_reason.
    """
    customers = dm.table("customers")
    people = customers.select(
        _customer=customers.customer_id,
        name=customers.name,
        kind=customers.kind,
        email=_blank_to_null(customers.email).lower(),
        phone=_blank_to_null(customers.phone),
        address=_blank_to_null(customers.address),
        postal_code=_blank_to_null(customers.postal_code),
        city=_blank_to_null(customers.city),
        region=customers.region,
        country=customers.country,
    )
    joined = planned.left_join(people, planned.customer_id == people._customer).drop("_customer")

    consents = _consent_flags(dm, planned, CONSENT_CHANNEL[channel])
    joined = joined.left_join(consents, joined.profile_id == consents._consent_profile).drop(
        "_consent_profile"
    )
    opted_out = joined._opted_out.fill_null(False)
    consent = ibis.cases(
        (opted_out, "opt_out"),
        (joined._opted_in.fill_null(False), "opt_in"),
        else_="no record",
    )

    listed = _listed_flags(dm, planned)
    joined = joined.left_join(listed, joined.profile_id == listed._listed_profile).drop(
        "_listed_profile"
    )
    email_listed = joined._email_listed.fill_null(False)
    phone_listed = joined._phone_listed.fill_null(False)

    label = "e-mail" if channel == "email" else channel
    cases: list[tuple[ir.BooleanValue, str]] = []
    if channel in ADDRESS:
        column, what = ADDRESS[channel]
        cases.append((joined[column].isnull(), f"no {what}"))
        if column == "email":
            cases.append((email_listed, "e-mail on a do-not-contact list"))
        else:
            cases.append((phone_listed, "phone on a do-not-contact list"))
    elif channel == "mail":
        no_address = joined.address.isnull() | (joined.postal_code.isnull() & joined.city.isnull())
        cases.append((no_address, "no postal address"))
    if channel in ("mail", "push"):
        # The person asked not to be contacted, whichever address the list names.
        cases.append((email_listed | phone_listed, "on a do-not-contact list"))
    if channel == "ads":
        # An ad audience matches on the e-mail or the phone: a listed one is left out of the
        # file; the customer is dropped when neither is left.
        usable_email = joined.email.notnull() & ~email_listed
        usable_phone = joined.phone.notnull() & ~phone_listed
        cases.append(
            (
                joined.email.isnull() & joined.phone.isnull(),
                "no e-mail address or phone number",
            )
        )
        cases.append((~usable_email & ~usable_phone, "e-mail and phone on a do-not-contact list"))
    cases.append((opted_out, f"opted out of {label}"))
    reason = ibis.cases(*cases, else_=ibis.null("string"))
    return joined.mutate(
        consent=consent,
        email_listed=email_listed,
        phone_listed=phone_listed,
        drop_reason=reason,
    ).drop("_opted_out", "_opted_in", "_email_listed", "_phone_listed")


def _listed_flags(dm: Datamart, planned: ir.Table) -> ir.Table:
    """Per profile of ``planned``: whether an e-mail, or a phone, of any of its customer
    records is on a do-not-contact list (the person asked not to be contacted)."""
    profiles = planned.select(_planned_profile=planned.profile_id).distinct()
    customers = with_profile_id(dm.table("customers"), dm.table("identity"))
    members = customers.filter(customers.profile_id.isin(profiles._planned_profile))
    dnc = dm.table("do_not_contact")
    emails = dnc.filter(dnc.kind == "email").select(_value=dnc.value.strip().lower())
    phones = dnc.filter(dnc.kind == "phone").select(_value=dnc.value.strip())
    flagged = members.select(
        _listed_profile=members.profile_id,
        _email=members.email.strip().lower().isin(emails._value).fill_null(False),
        _phone=members.phone.strip().isin(phones._value).fill_null(False),
    )
    return flagged.group_by("_listed_profile").aggregate(
        _email_listed=flagged._email.any(), _phone_listed=flagged._phone.any()
    )


def _consent_flags(dm: Datamart, planned: ir.Table, consent_channel: str) -> ir.Table:
    """Per profile of ``planned``: whether its newest record of a channel and purpose is an
    opt-out (or an opt-in) for ``consent_channel`` or ``any`` channel."""
    consents = with_profile_id(dm.table("consents"), dm.table("identity"))
    profiles = planned.select(_planned_profile=planned.profile_id).distinct()
    rows = consents.filter(consents.channel.isin([consent_channel, "any"])).semi_join(
        profiles, consents.profile_id == profiles._planned_profile
    )
    newest_first = ibis.row_number().over(
        group_by=[rows.profile_id, rows.channel, rows.purpose],
        order_by=[ibis.desc(rows.recorded_at), ibis.desc(rows.consent_id)],
    )
    ranked = rows.mutate(_n=newest_first)
    newest = ranked.filter(ranked._n == 0)
    return newest.group_by(_consent_profile=newest.profile_id).aggregate(
        _opted_out=(newest.status == "opt_out").any(),
        _opted_in=(newest.status == "opt_in").any(),
    )


def _of_profiles(table: ir.Table, column: str, profiles: ir.Table) -> ir.Table:
    """The rows of ``table`` whose ``column`` is a profile of ``profiles`` (``_profile``)."""
    return table.filter(table[column].isin(profiles._profile))


def call_essentials(
    dm: Datamart, settings: Settings, contacts: ir.Table, planned: ir.Table, as_of: dt.date
) -> ir.Table:
    """``contacts`` with what an agent needs: value tier, RFM segment, last purchase, revenue
    and orders over the last 12 months, open issues, the newest predictive score with its
    reasons (JSON, formatted later) and the newest rule score and band.

    ``planned`` (the run's planned contacts) limits every part to the run's profiles.
    """
    identity = dm.table("identity")
    profiles = planned.select(_profile=planned.profile_id).distinct()

    summary, _ = summary_for(dm, settings, as_of)
    summary = summary.select(
        _summary_profile=summary.customer_id,
        value_tier=summary.value_tier,
        rfm_segment=summary.segment,
        last_purchase=summary.last_purchase.date(),
    )

    cutoff = as_of_start(as_of)
    since = ibis.literal(
        dt.datetime.combine(as_of - dt.timedelta(days=RECENT_DAYS), dt.time()), type="timestamp"
    )
    transactions = dm.table("transactions")
    tx = transactions.filter(transactions.occurred_at >= since, transactions.occurred_at < cutoff)
    tx = with_profile_id(tx, identity).pipe(_of_profiles, "profile_id", profiles)
    kind = transaction_kind(tx)
    recent = tx.group_by(_recent_profile=tx.profile_id).aggregate(
        revenue_12m=tx.amount.sum(where=kind.isin(REVENUE_KINDS)),
        orders_12m=tx.order_id.nunique(where=~kind.isin(REFUND_KINDS)),
    )

    interactions = dm.table("interactions")
    issues = interactions.filter(
        interactions.kind.isin(ISSUE_KINDS),
        interactions.status == "open",
        interactions.occurred_at < cutoff,
    )
    issues = with_profile_id(issues, identity).pipe(_of_profiles, "profile_id", profiles)
    newest_issue = ibis.row_number().over(
        group_by=issues.profile_id,
        order_by=[ibis.desc(issues.occurred_at), ibis.desc(issues.interaction_id)],
    )
    ranked_issues = issues.mutate(
        _n=newest_issue,
        _count=issues.interaction_id.count().over(group_by=issues.profile_id),
    )
    open_issues = ranked_issues.filter(ranked_issues._n == 0).select(
        _issue_profile=ranked_issues.profile_id,
        open_issues=ranked_issues._count,
        newest_issue=ibis.coalesce(
            ranked_issues.kind
            + ibis.literal(" since ")
            + ranked_issues.occurred_at.date().cast("string")
            + ibis.literal(": ")
            + ranked_issues.description.fill_null(""),
            ranked_issues.kind,
        ),
    )

    predictions = dm.table("predictive_scores")
    predictions = predictions.filter(predictions.as_of <= ibis.literal(as_of, type="date")).pipe(
        _of_profiles, "profile_id", profiles
    )
    newest_prediction = ibis.row_number().over(
        group_by=predictions.profile_id,
        order_by=[ibis.desc(predictions.as_of), predictions.model, ibis.desc(predictions.version)],
    )
    ranked_predictions = predictions.mutate(_n=newest_prediction)
    prediction = ranked_predictions.filter(ranked_predictions._n == 0).select(
        _prediction_profile=ranked_predictions.profile_id,
        predictive_model=ranked_predictions.model,
        probability=ranked_predictions.probability,
        decile=ranked_predictions.decile,
        reasons_json=ranked_predictions.reasons,
    )

    snapshots = dm.table("score_snapshots")
    snapshots = snapshots.filter(snapshots.as_of <= ibis.literal(as_of, type="date")).pipe(
        _of_profiles, "profile_id", profiles
    )
    newest_snapshot = ibis.row_number().over(
        group_by=snapshots.profile_id,
        order_by=[ibis.desc(snapshots.as_of), snapshots.model],
    )
    ranked_snapshots = snapshots.mutate(_n=newest_snapshot)
    rule_score = ranked_snapshots.filter(ranked_snapshots._n == 0).select(
        _rule_profile=ranked_snapshots.profile_id,
        rule_model=ranked_snapshots.model,
        rule_score=ranked_snapshots.score,
        rule_band=ranked_snapshots.band,
    )

    joined = contacts
    for part, key in (
        (summary, "_summary_profile"),
        (recent, "_recent_profile"),
        (open_issues, "_issue_profile"),
        (prediction, "_prediction_profile"),
        (rule_score, "_rule_profile"),
    ):
        joined = joined.left_join(part, joined.profile_id == part[key]).drop(key)
    return joined.mutate(
        revenue_12m=joined.revenue_12m.fill_null(0.0).round(2),
        orders_12m=joined.orders_12m.fill_null(0),
        open_issues=joined.open_issues.fill_null(0),
    )
