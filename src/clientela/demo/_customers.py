"""The customers of one chunk: who they are, when they came and left, and what they agreed to.

A :class:`Cohort` holds each customer's hidden traits (spend, frequency, engagement, cost to
serve, complaints, consents); the other generators read them so that the tables tell one story:
complaints come before leaving, consents decide who a campaign may contact, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from clientela.datamart.schema import GENDERS
from clientela.demo import _catalogue as cat
from clientela.demo._columns import (
    DAY,
    BoolArray,
    FloatArray,
    IntArray,
    dates,
    ids,
    join,
    null_where,
    numbered,
    pick,
    plain,
    text_numbers,
    timestamps,
    weighted,
)
from clientela.demo._plan import Plan

COMPANY_SHARE = 0.02
NON_BUYER_SHARE = 0.08
REFERRED_SHARE = 0.12
REFERRAL_CONVERSION = 0.65
COMPLAINT_SHARE = 0.08
CHURN_AFTER_COMPLAINT = 0.55
INCIDENT_SHARE = 0.04
COSTLY_SHARE = 0.06
SHARED_EMAIL_SHARE = 0.01
SHARED_PHONE_SHARE = 0.007
NEVER = 1 << 40  # a day index that never comes


@dataclass
class Cohort:
    """One chunk of customers and their hidden traits; days count from the history's start."""

    first: int  # global number of the first customer
    customer_ids: pa.Array
    company: BoolArray
    country: IntArray
    created_second: IntArray
    created_day: IntArray
    active_from: IntArray  # first day the customer can buy (>= 0)
    active_until: IntArray  # day they stop buying (exclusive, <= history_days)
    buyer: BoolArray
    referred: BoolArray
    spend_scale: FloatArray
    frequency: FloatArray
    engagement: FloatArray
    serve_cost: FloatArray  # fulfilment cost per order
    complaint_day: IntArray  # -1 without complaint
    complaint_open: BoolArray
    incident_day: IntArray  # -1 without incident
    first_name: IntArray
    last_name: IntArray
    female: BoolArray
    has_email: BoolArray
    has_phone: BoolArray
    emails: pa.Array
    phones: pa.Array
    opted_in: BoolArray  # (customers, consent channels): the first record was an opt-in
    opt_out_day: IntArray  # (customers, consent channels): day of a later opt-out, or NEVER
    dnc_email: BoolArray
    dnc_phone: BoolArray

    @property
    def size(self) -> int:
        return len(self.company)

    def contactable(self, channel: int, day: int) -> BoolArray:
        """Customers a campaign on ``channel`` may contact on ``day``."""
        alive = (self.created_day < day) & (self.active_until > day)
        consented = self.opted_in[:, channel] & (self.opt_out_day[:, channel] > day)
        reachable = (
            self.has_email if channel == 0 else self.has_phone if channel in (1, 2) else True
        )
        suppressed = self.dnc_email if channel == 0 else self.dnc_phone
        return np.asarray(alive & consented & reachable & ~suppressed)


def make_cohort(plan: Plan, rng: np.random.Generator, chunk: int, first: int, n: int) -> Cohort:
    days = plan.history_days
    company = rng.random(n) < COMPANY_SHARE
    country = weighted(rng, [c.share for c in cat.COUNTRIES], n)

    # Four in ten were customers before the history starts; the others arrive during it.
    before = rng.random(n) < 0.4
    created_day = np.where(
        before,
        -rng.integers(1, 4 * 365, n),
        np.floor(rng.random(n) ** 0.85 * (days - 1)).astype(np.int64),
    )
    created_day.sort()
    created_second = plan.start_second + created_day * DAY + rng.integers(0, DAY, n)
    active_from = np.maximum(created_day, 0)

    spend_scale = rng.lognormal(0.0, 0.7, n) * np.where(company, rng.lognormal(1.2, 0.6, n), 1.0)
    frequency = rng.gamma(1.5, 1 / 1.5, n) * np.where(company, 1.5, 1.0)
    engagement = rng.lognormal(0.0, 0.6, n)
    serve_cost = rng.lognormal(np.log(3.0), 0.4, n) * np.where(rng.random(n) < COSTLY_SHARE, 4, 1)

    referred = (rng.random(n) < REFERRED_SHARE) & (created_day > 0) & (np.arange(n) > 0)
    buyer = (
        np.where(referred, rng.random(n) < REFERRAL_CONVERSION, rng.random(n) >= NON_BUYER_SHARE)
        | company
    )

    # Customers leave after a while, and much sooner after a complaint.
    churn = active_from + np.ceil(rng.exponential(1200.0, n)).astype(np.int64)
    window_end = np.clip(churn, 0, days)
    can_complain = window_end - active_from > 1
    complains = (rng.random(n) < COMPLAINT_SHARE) & can_complain
    span = np.maximum(window_end - active_from, 1)
    complaint_day = np.where(complains, active_from + (rng.random(n) * span).astype(np.int64), -1)
    leaves = complains & (rng.random(n) < CHURN_AFTER_COMPLAINT)
    after = complaint_day + 1 + np.ceil(rng.exponential(40.0, n)).astype(np.int64)
    churn = np.where(leaves, np.minimum(churn, after), churn)
    active_until = np.clip(churn, 0, days)
    recent = complaint_day > days - 60
    complaint_open = complains & ((recent & (rng.random(n) < 0.6)) | (rng.random(n) < 0.04))
    incident = (rng.random(n) < INCIDENT_SHARE) & (active_until - active_from > 1)
    span = np.maximum(active_until - active_from, 1)
    incident_day = np.where(incident, active_from + (rng.random(n) * span).astype(np.int64), -1)

    if chunk == 0:
        # The showcase: the most valuable customer has a complaint still open.
        star = int(
            np.argmax(np.where(buyer & (active_from < days - 60), spend_scale * frequency, -1))
        )
        active_until[star] = days
        complaint_day[star] = days - 12
        complaint_open[star] = True

    first_name = rng.integers(0, len(cat.FEMALE_NAMES), n)
    last_name = rng.integers(0, len(cat.LAST_NAMES), n)
    female = rng.random(n) < 0.5
    has_email = company | (rng.random(n) < 0.93)
    has_phone = rng.random(n) < 0.75
    numbers = np.arange(first, first + n, dtype=np.int64)
    emails = _emails(rng, company, first_name, last_name, female, numbers)
    phones = phone_numbers(country, numbers, rng.integers(0, 1 << 30, n))

    # A few people hold two customer records (same name and e-mail); households share a phone.
    email_copy = np.flatnonzero((rng.random(n) < SHARED_EMAIL_SHARE) & ~company & has_email)
    email_copy = email_copy[email_copy > 0]
    source = (rng.random(len(email_copy)) * email_copy).astype(np.int64)
    keep = has_email[source] & ~company[source]
    email_copy, source = email_copy[keep], source[keep]
    order = np.arange(n)
    order[email_copy] = source
    emails = emails.take(pa.array(order))
    first_name[email_copy], last_name[email_copy] = first_name[source], last_name[source]
    female[email_copy] = female[source]
    phone_copy = np.flatnonzero((rng.random(n) < SHARED_PHONE_SHARE) & has_phone)
    phone_copy = phone_copy[phone_copy > 0]
    phone_source = (rng.random(len(phone_copy)) * phone_copy).astype(np.int64)
    keep = has_phone[phone_source]
    order = np.arange(n)
    order[phone_copy[keep]] = phone_source[keep]
    phones = phones.take(pa.array(order))

    channels = len(cat.CONSENT_CHANNELS)
    opted_in = rng.random((n, channels)) < np.asarray(cat.CONSENT_OPT_IN)
    leave_rate = np.where(complaint_day >= 0, 0.25, 0.1)[:, None]
    opts_out = opted_in & (rng.random((n, channels)) < leave_rate)
    out_from = np.maximum(created_day, 0)[:, None]
    out_day = out_from + (rng.random((n, channels)) * (days - out_from)).astype(np.int64)
    opt_out_day = np.where(opts_out & (out_day < days), out_day, NEVER)

    return Cohort(
        first=first,
        customer_ids=ids("C", first + 1, n, plan.id_width),
        company=company,
        country=country,
        created_second=created_second,
        created_day=created_day,
        active_from=active_from,
        active_until=active_until,
        buyer=buyer,
        referred=referred,
        spend_scale=spend_scale,
        frequency=frequency,
        engagement=engagement,
        serve_cost=serve_cost,
        complaint_day=complaint_day,
        complaint_open=complaint_open,
        incident_day=incident_day,
        first_name=first_name,
        last_name=last_name,
        female=female,
        has_email=has_email,
        has_phone=has_phone,
        emails=null_where(emails, ~has_email),
        phones=null_where(phones, ~has_phone),
        opted_in=opted_in,
        opt_out_day=opt_out_day,
        dnc_email=has_email & (rng.random(n) < 0.01),
        dnc_phone=has_phone & (rng.random(n) < 0.015),
    )


def _emails(
    rng: np.random.Generator,
    company: BoolArray,
    first_name: IntArray,
    last_name: IntArray,
    female: BoolArray,
    numbers: IntArray,
) -> pa.Array:
    firsts = _given_index(female, first_name)
    given = pick([x.lower() for x in cat.FEMALE_NAMES + cat.MALE_NAMES], firsts)
    family = pick([x.lower() for x in cat.LAST_NAMES], last_name)
    domain = pick(cat.EMAIL_DOMAINS, rng.integers(0, len(cat.EMAIL_DOMAINS), len(numbers)))
    local = pc.if_else(pa.array(company), join("purchasing.", family), join(given, ".", family))
    return join(local, ".", text_numbers(numbers), "@", domain)


def _given_index(female: BoolArray, first_name: IntArray) -> IntArray:
    """Index into FEMALE_NAMES + MALE_NAMES."""
    male = len(cat.FEMALE_NAMES) + first_name % len(cat.MALE_NAMES)
    index: IntArray = np.where(female, first_name % len(cat.FEMALE_NAMES), male)
    return index


def phone_numbers(country: IntArray, numbers: IntArray, spread: IntArray) -> pa.Array:
    """Valid E.164 mobile numbers, distinct for distinct ``numbers`` within a country."""
    result = pa.nulls(len(numbers), pa.string())
    for code, spec in enumerate(cat.COUNTRIES):
        modulus = 10**spec.phone_digits
        # An affine map with a multiplier prime to 10 is a bijection on the suffixes.
        suffix = (numbers * 7_919 + 1_234_567) % modulus
        prefix = pick(spec.phone_prefixes, spread % len(spec.phone_prefixes))
        text = join(prefix, numbered("", suffix, spec.phone_digits))
        result = pc.if_else(pa.array(country == code), text, result)
    return result


def customers_columns(plan: Plan, rng: np.random.Generator, cohort: Cohort) -> dict[str, pa.Array]:
    n = cohort.size
    company = cohort.company
    person = ~company
    firsts = _given_index(cohort.female, cohort.first_name)
    given = pick(cat.FEMALE_NAMES + cat.MALE_NAMES, firsts)
    family = pick(cat.LAST_NAMES, cohort.last_name)
    suffix = pick(cat.COMPANY_SUFFIXES, rng.integers(0, len(cat.COMPANY_SUFFIXES), n))
    name = pc.if_else(pa.array(company), join(family, suffix), join(given, " ", family))

    gender_draw = rng.random(n)
    gender = np.where(cohort.female, 0, 1)
    gender = np.where(gender_draw < 0.01, 2, np.where(gender_draw < 0.04, 3, gender))
    age_days = ((18 + 62 * rng.beta(2.0, 3.0, n)) * 365.25).astype(np.int64)
    end_day = plan.start_day + plan.history_days - 1
    no_birth = company | (rng.random(n) < 0.05)

    city_parts = [_places(rng, n, spec) for spec in cat.COUNTRIES]
    city, region, postal = (
        _by_country(cohort.country, [p[i] for p in city_parts]) for i in range(3)
    )
    street = pick(cat.STREET_NAMES, rng.integers(0, len(cat.STREET_NAMES), n))
    address = join(text_numbers(rng.integers(1, 220, n)), " ", street)

    size = np.minimum((rng.random(n) * 3).astype(np.int64), 2)
    employees = np.floor(np.array([5.0, 50.0, 250.0])[size] * rng.lognormal(0.5, 0.6, n))
    updated = cohort.created_second + (
        rng.random(n) * (plan.end_second - cohort.created_second)
    ).astype(np.int64)
    return {
        "customer_id": cohort.customer_ids,
        "kind": pick(("person", "company"), company.astype(np.int64)),
        "name": name,
        "email": cohort.emails,
        "phone": cohort.phones,
        "birth_date": dates(end_day - age_days, mask=no_birth),
        "gender": pick(GENDERS, gender, mask=company),
        "address": address,
        "postal_code": postal,
        "city": city,
        "region": region,
        "country": pick([c.code for c in cat.COUNTRIES], cohort.country),
        "industry": pick(cat.INDUSTRIES, rng.integers(0, len(cat.INDUSTRIES), n), mask=person),
        "company_size": pick(cat.COMPANY_SIZES, size, mask=person),
        "employees": pa.array(employees.astype(np.int64), mask=person),
        "account_owner": pick(
            cat.ACCOUNT_OWNERS, rng.integers(0, len(cat.ACCOUNT_OWNERS), n), mask=person
        ),
        "created_at": timestamps(cohort.created_second),
        "updated_at": timestamps(updated),
        "is_placeholder": pa.array(np.zeros(n, dtype=bool)),
    }


def _places(
    rng: np.random.Generator, n: int, spec: cat.Country
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """City, region and postal code for ``n`` addresses in one country."""
    which = rng.integers(0, len(spec.cities), n)
    city = pick([c[0] for c in spec.cities], which)
    region = pick([c[1] for c in spec.cities], which)
    stem = pick([c[2] for c in spec.cities], which)
    if spec.code == "GB":
        letters = [a + b for a in "ABDEFGHJLNPQRSTUWXYZ" for b in "ABDEFGHJLNPQRSTUWXYZ"]
        postal = join(
            stem,
            text_numbers(rng.integers(1, 21, n)),
            " ",
            text_numbers(rng.integers(1, 10, n)),
            pick(letters, rng.integers(0, len(letters), n)),
        )
    elif spec.code == "IE":
        postal = join(
            stem,
            text_numbers(rng.integers(1, 10, n)),
            " ",
            numbered("X", rng.integers(0, 999, n), 3),
        )
    else:
        postal = join(stem, numbered("", rng.integers(0, 99, n), 2))
    return city, region, postal


def _by_country(country: IntArray, columns: list[pa.Array]) -> pa.Array:
    result = columns[0]
    for code, column in enumerate(columns[1:], start=1):
        result = pc.if_else(pa.array(country == code), plain(column), plain(result))
    return result
