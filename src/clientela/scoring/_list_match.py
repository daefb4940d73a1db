"""Matching a contact list to the datamart, the profile filters, and advertising consent.

Backend-free Ibis: the list's keys (``contact_no``, ``kind``, ``value``) are a table the service
bulk-inserts; everything here joins it set-based to customers, identity, third-party attributes
and consents.  Nothing connects or executes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from clientela.datamart.schema import GENDERS
from clientela.errors import ConfigError, suggest
from clientela.profile._common import with_profile_id
from clientela.scoring._facts import profiles

__all__ = [
    "ADVERTISING_CHANNELS",
    "ADVERTISING_PURPOSES",
    "ListFilters",
    "advertising_consent",
    "best_matches",
    "confirmed_keys",
    "filter_facts",
    "parse_age_range",
    "parse_gender",
]

# A consent record concerns advertising when its purpose is one of these, or its channel one
# of these; a blanket opt-out (channel "any") withdraws it too.  The newest such record decides.
ADVERTISING_PURPOSES = ("advertising",)
ADVERTISING_CHANNELS = ("ads", "advertising")
_GENDER_ALIASES = {"f": "female", "w": "female", "woman": "female", "m": "male", "man": "male"}


def best_matches(keys: ir.Table, customers: ir.Table, identity: ir.Table) -> ir.Table:
    """One row per matched contact: its profile, a customer of it, and how it matched.

    A contact matches every customer with one of its normalised e-mails or phones; when these
    belong to several profiles, the profile matching most of the contact's keys wins, then one
    matched by e-mail, then the smallest profile id.  Columns: ``contact_no``, ``profile_id``,
    ``customer_id`` (the smallest matched customer id of that profile), ``matched_on``
    (``email``, ``phone`` or ``email+phone``), ``profiles`` (how many profiles matched).
    """
    people = customers.select("customer_id", "email", "phone")
    by_kind = []
    for kind in ("email", "phone"):
        wanted = keys.filter(keys.kind == kind)
        joined = wanted.join(people, wanted.value == people[kind])
        by_kind.append(
            joined.select(
                contact_no=joined.contact_no,
                customer_id=joined.customer_id,
                key=joined.value,
                by_email=ibis.literal(kind == "email"),
            )
        )
    hits = with_profile_id(ibis.union(*by_kind, distinct=False), identity)
    per_profile = hits.group_by(["contact_no", "profile_id"]).aggregate(
        keys_matched=hits.key.nunique(),
        by_email=hits.by_email.any(),
        by_phone=(~hits.by_email).any(),
        customer_id=hits.customer_id.min(),
    )
    order = [ibis.desc("keys_matched"), ibis.desc("by_email"), "profile_id"]
    ranked = per_profile.mutate(
        _rank=ibis.row_number().over(group_by="contact_no", order_by=order),
        profiles=per_profile.profile_id.count().over(group_by="contact_no"),
    )
    best = ranked.filter(ranked._rank == 0)
    matched_on = ibis.cases(
        (best.by_email & best.by_phone, "email+phone"),
        (best.by_email, "email"),
        else_="phone",
    )
    return best.select(
        "contact_no", "profile_id", "customer_id", matched_on=matched_on, profiles="profiles"
    )


def confirmed_keys(
    keys: ir.Table, customers: ir.Table, identity: ir.Table, matches: ir.Table
) -> ir.Table:
    """The e-mails and phones of each matched contact that a customer of its profile has.

    These, checked by the datamart (its values were validated when loaded), are what audience
    files may send.  Columns ``contact_no``, ``kind``, ``value``.
    """
    people = with_profile_id(customers.select("customer_id", "email", "phone"), identity)
    chosen = matches.select(_contact=matches.contact_no, _profile=matches.profile_id)
    parts = []
    for kind in ("email", "phone"):
        wanted = keys.filter(keys.kind == kind)
        hits = wanted.join(people, wanted.value == people[kind]).select(
            "contact_no", "kind", "value", "profile_id"
        )
        mine = hits.semi_join(
            chosen, (hits.contact_no == chosen._contact) & (hits.profile_id == chosen._profile)
        )
        parts.append(mine.select("contact_no", "kind", "value"))
    return ibis.union(*parts, distinct=True)


@dataclass(frozen=True)
class ListFilters:
    """Profile filters that narrow a list: gender, age range (inclusive), interests (any)."""

    genders: tuple[str, ...] = ()
    min_age: int | None = None
    max_age: int | None = None
    interests: tuple[str, ...] = ()
    interest_attribute: str = "interests"

    @property
    def active(self) -> bool:
        return bool(
            self.genders or self.min_age is not None or self.max_age is not None or self.interests
        )

    def describe(self) -> str:
        parts = []
        if self.genders:
            parts.append("gender " + " or ".join(self.genders))
        if self.min_age is not None or self.max_age is not None:
            parts.append(f"age {_age_text(self.min_age, self.max_age)}")
        if self.interests:
            parts.append(f"{self.interest_attribute} " + " or ".join(self.interests))
        return "; ".join(parts) or "none"


def _age_text(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"{low}-{high}" if low != high else str(low)
    return f"{low}+" if low is not None else f"up to {high}"


def parse_gender(value: str) -> str:
    """A gender filter value: one of the datamart's genders (``f``/``m`` accepted)."""
    text = value.strip().lower()
    text = _GENDER_ALIASES.get(text, text)
    if text not in GENDERS:
        hint = suggest(text, GENDERS)
        raise ConfigError(f"unknown gender '{value}'{hint}; expected one of: {', '.join(GENDERS)}")
    return text


def parse_age_range(value: str) -> tuple[int | None, int | None]:
    """``25-45``, ``25+`` (or ``25-``), ``-45`` or ``30``: inclusive bounds in whole years."""
    text = value.strip().replace(" ", "").replace("\u2013", "-")
    match = re.fullmatch(r"(\d{1,3})?(?:(-|\+)(\d{1,3})?)?", text)
    if not text or match is None or (match.group(1) is None and match.group(3) is None):
        raise ConfigError(f"bad age range '{value}': expected e.g. 25-45, 25+, -45 or 30")
    low = int(match.group(1)) if match.group(1) else None
    high = int(match.group(3)) if match.group(3) else None
    if match.group(2) is None:
        high = low
    if match.group(2) == "+" and high is not None:
        raise ConfigError(f"bad age range '{value}': expected e.g. 25-45, 25+, -45 or 30")
    if low is not None and high is not None and low > high:
        raise ConfigError(f"bad age range '{value}': the lower age is above the upper one")
    return low, high


def _age(birth: ir.DateValue, as_of: dt.date) -> ir.IntegerValue:
    """Whole years from ``birth`` to ``as_of``."""
    before_birthday = (birth.month() > as_of.month) | (
        (birth.month() == as_of.month) & (birth.day() > as_of.day)
    )
    years: ir.IntegerValue = ibis.literal(as_of.year) - birth.year()
    return years - before_birthday.ifelse(1, 0)


def filter_facts(
    matches: ir.Table,
    customers: ir.Table,
    identity: ir.Table,
    third_party: ir.Table,
    filters: ListFilters,
    as_of: dt.date,
) -> ir.Table:
    """``matches`` with ``gender``, ``age``, ``interested`` and ``passes`` (the filters hold).

    Gender and birth date are those of the customer record that represents the profile, the
    record the scoring engine reads (the profile's own customer, else its first member).  A
    profile is interested when a third-party row of one of its customers, with attribute
    ``filters.interest_attribute`` and dated on or before ``as_of``, lists one of the interests
    (a comma-separated value, compared case-insensitively).  Unknown values fail a filter.
    """
    people = profiles(customers, identity)
    people = people.semi_join(matches, people.profile_id == matches.profile_id).select(
        _profile=people.profile_id, _gender=people.gender, _birth=people.birth_date
    )
    joined = matches.left_join(people, matches.profile_id == people._profile)
    facts = joined.select(
        *[joined[c] for c in matches.columns],
        gender=joined._gender,
        age=_age(joined._birth, as_of),
    )

    wanted = [i.strip().lower() for i in filters.interests if i.strip()]
    if wanted:
        rows = with_profile_id(third_party, identity)
        dated = rows.as_of.isnull() | (rows.as_of <= ibis.literal(as_of, type="date"))
        rows = rows.filter(
            rows.attribute.lower().strip() == filters.interest_attribute.strip().lower(), dated
        )
        listed = "," + rows.value.lower().re_replace(r"\s*,\s*", ",").strip() + ","
        hit = ibis.or_(*(listed.contains(f",{interest},") for interest in wanted))
        interested = (
            rows.mutate(_hit=hit).group_by("profile_id").aggregate(interested=ibis._._hit.any())
        )
        facts = facts.left_join(interested, facts.profile_id == interested.profile_id)
        facts = facts.select(
            *[facts[c] for c in matches.columns], "gender", "age",
            interested=facts.interested.fill_null(False),
        )  # fmt: skip
    else:
        facts = facts.mutate(interested=ibis.literal(True))

    passes = ibis.literal(True)
    if filters.genders:
        gender_ok = facts.gender.fill_null("unknown").isin(list(filters.genders))
        passes = passes & gender_ok
    if filters.min_age is not None:
        passes = passes & (facts.age >= filters.min_age).fill_null(False)
    if filters.max_age is not None:
        passes = passes & (facts.age <= filters.max_age).fill_null(False)
    if wanted:
        passes = passes & facts.interested
    return facts.mutate(passes=passes)


def advertising_consent(
    consents: ir.Table, identity: ir.Table, among: ir.Table | None = None
) -> ir.Table:
    """Profiles whose newest consent record about advertising is an opt-in (``profile_id``).

    ``among``: only the profiles of this table (a ``profile_id`` column) are considered.

    A record is about advertising when its purpose is ``advertising`` or its channel ``ads``
    or ``advertising`` (case-insensitively), or when it is a blanket opt-out (channel ``any``).
    Every record counts, whatever its date: an audience file is written now.
    """
    rows = with_profile_id(consents, identity)
    purpose = rows.purpose.lower().strip()
    channel = rows.channel.lower().strip()
    about = (
        purpose.isin(list(ADVERTISING_PURPOSES)).fill_null(False)
        | channel.isin(list(ADVERTISING_CHANNELS)).fill_null(False)
        | ((channel == "any") & (rows.status == "opt_out")).fill_null(False)
    )
    rows = rows.filter(about)
    if among is not None:
        rows = rows.semi_join(among, rows.profile_id == among.profile_id)
    newest_first = ibis.row_number().over(
        group_by="profile_id",
        order_by=[ibis.desc(rows.recorded_at), ibis.desc(rows.status == "opt_out"),
                  ibis.desc(rows.consent_id)],
    )  # fmt: skip
    latest = rows.mutate(_n=newest_first)
    latest = latest.filter(latest._n == 0, latest.status == "opt_in")
    return latest.select("profile_id").distinct()


def on_do_not_contact(values: ir.Table, do_not_contact: ir.Table) -> ir.Table:
    """The (``kind``, ``value``) rows of ``values`` that a do-not-contact list holds."""
    listed = do_not_contact.select(_kind=do_not_contact.kind, _value=do_not_contact.value)
    return values.semi_join(
        listed, (values.kind == listed._kind) & (values.value == listed._value)
    ).select("kind", "value")
