"""Exclusion rules as Ibis expressions: which profiles each rule removes.

Backend-free: every function takes datamart tables and returns a table of ``profile_id`` (one
row per profile removed).  A profile is what a campaign contacts; its *representative* customer
(the profile's own customer record, which carries the address the channel files use) decides
consent and address, while an opt-out, a do-not-contact entry or an open issue on any of the
profile's customer records removes the whole profile.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from clientela.config import DEFAULT_REQUIRE_OPT_IN

__all__ = [
    "CONSENT_CHANNEL",
    "DEFAULT_REQUIRE_OPT_IN",
    "address_missing",
    "do_not_contact_matches",
    "in_global_holdout",
    "no_consent",
    "open_issues",
    "representatives",
    "under_age",
]

# The consent channel that governs each campaign channel.
CONSENT_CHANNEL: dict[str, str] = {
    "call": "phone",
    "email": "email",
    "sms": "sms",
    "mail": "mail",
    "ads": "ads",
    "push": "push",
}
# The do-not-contact kinds that block each channel (mail and push: any, conservatively).
_DNC_KINDS: dict[str, tuple[str, ...]] = {
    "email": ("email",),
    "call": ("phone",),
    "sms": ("phone",),
    "ads": ("email", "phone"),
    "mail": ("email", "phone"),
    "push": ("email", "phone"),
}


def representatives(identity: ir.Table) -> ir.Table:
    """``profile_id`` and its representative ``customer_id`` (the profile's own record when the
    profile id is a customer id, else the smallest customer id)."""
    own = ibis.ifelse(identity.customer_id == identity.profile_id, identity.customer_id, None)
    grouped = identity.group_by("profile_id").aggregate(
        own=own.max(), smallest=identity.customer_id.min()
    )
    return grouped.select("profile_id", customer_id=grouped.own.coalesce(grouped.smallest))


def _of_profiles(identity: ir.Table, customer_ids: ir.Table) -> ir.Table:
    """Profiles of a table of ``customer_id``."""
    joined = identity.inner_join(customer_ids, identity.customer_id == customer_ids.customer_id)
    return joined.select(joined.profile_id).distinct()


def no_consent(
    identity: ir.Table,
    reps: ir.Table,
    consents: ir.Table,
    channel: str,
    purpose: str,
    require_opt_in: Mapping[str, bool],
) -> ir.Table:
    """Profiles with an opt-out for the channel (or ``any``) and purpose on any of their
    customer records, or (when the channel requires an opt-in) whose representative has none.

    The newest record per customer, channel and purpose counts, whatever its date: an opt-out
    recorded after the as-of date is still honoured (the law knows no as-of date); a record
    without a purpose applies to every purpose.
    """
    consent_channel = CONSENT_CHANNEL[channel]
    relevant = consents.filter(
        consents.channel.isin([consent_channel, "any"]),
        consents.purpose.isnull() | (consents.purpose == purpose),
    )
    newest = relevant.mutate(
        _rank=ibis.row_number().over(
            group_by=[relevant.customer_id, relevant.channel, relevant.purpose],
            order_by=[ibis.desc(relevant.recorded_at), ibis.desc(relevant.consent_id)],
        )
    )
    newest = newest.filter(newest._rank == 0)
    opted_out = _of_profiles(
        identity, newest.filter(newest.status == "opt_out").select("customer_id").distinct()
    )
    if not require_opt_in.get(channel, DEFAULT_REQUIRE_OPT_IN.get(channel, True)):
        return opted_out
    opted_in = newest.filter(newest.status == "opt_in").select(_in_customer=newest.customer_id)
    opted_in = opted_in.distinct()
    joined = reps.left_join(opted_in, reps.customer_id == opted_in._in_customer)
    without = joined.filter(joined._in_customer.isnull()).select("profile_id")
    return opted_out.union(without, distinct=True)


def address_missing(reps: ir.Table, customers: ir.Table, channel: str) -> ir.Table:
    """Profiles whose representative has no address for the channel (push needs none)."""
    joined = reps.left_join(customers, reps.customer_id == customers.customer_id)

    def blank(column: ir.StringColumn) -> ir.BooleanValue:
        return column.isnull() | (column.strip() == "")

    if channel == "email":
        missing = blank(joined.email)
    elif channel in ("call", "sms"):
        missing = blank(joined.phone)
    elif channel == "mail":
        missing = blank(joined.address) | blank(joined.postal_code)
    elif channel == "ads":
        missing = blank(joined.email) & blank(joined.phone)
    else:
        missing = ibis.literal(False)
    return joined.filter(missing).select("profile_id")


def do_not_contact_matches(
    identity: ir.Table, customers: ir.Table, do_not_contact: ir.Table, channel: str
) -> ir.Table:
    """Profiles any of whose customer records has an e-mail or phone on a do-not-contact list
    that blocks the channel (values are normalised at load)."""
    kinds = _DNC_KINDS[channel]
    parts: list[ir.Table] = []
    for kind in kinds:
        entries = do_not_contact.filter(do_not_contact.kind == kind).select(
            _value=do_not_contact.value
        )
        entries = entries.distinct()
        column = customers.email if kind == "email" else customers.phone
        hit = customers.inner_join(entries, column.lower() == entries._value.lower())
        parts.append(hit.select("customer_id"))
    found = parts[0]
    for part in parts[1:]:
        found = found.union(part, distinct=True)
    return _of_profiles(identity, found.distinct())


def open_issues(identity: ir.Table, interactions: ir.Table, kinds: tuple[str, ...]) -> ir.Table:
    """Profiles with an open interaction of one of ``kinds`` (complaint, incident, return)."""
    open_rows = interactions.filter(
        interactions.kind.isin(list(kinds)), interactions.status == "open"
    )
    return _of_profiles(identity, open_rows.select("customer_id").distinct())


def in_global_holdout(holdout: ir.Table, as_of: dt.date) -> ir.Table:
    """Profiles in the global hold-out on the as-of date."""
    valid = holdout.filter(holdout.valid_from <= as_of, holdout.valid_until >= as_of)
    return valid.select("profile_id").distinct()


def under_age(reps: ir.Table, customers: ir.Table, min_age: int, as_of: dt.date) -> ir.Table:
    """Profiles whose representative is younger than ``min_age`` on the as-of date (an
    unknown birth date is not a minor)."""
    try:
        latest_birth = as_of.replace(year=as_of.year - min_age)
    except ValueError:  # 29 February
        latest_birth = as_of.replace(year=as_of.year - min_age, day=28)
    joined = reps.inner_join(customers, reps.customer_id == customers.customer_id)
    return joined.filter(joined.birth_date > latest_birth).select("profile_id")
