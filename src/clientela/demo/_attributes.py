"""Bought-in attributes, consents and the do-not-contact list of one chunk."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from clientela.demo import _catalogue as cat
from clientela.demo._columns import DAY, EPOCH, IntArray, dates, pick, timestamps
from clientela.demo._customers import NEVER, Cohort, phone_numbers
from clientela.demo._plan import Plan

EXTERNAL_DNC_SHARE = 0.01  # entries for people who are not customers, per customer


def third_party(plan: Plan, rng: np.random.Generator, cohort: Cohort) -> dict[str, pa.Array]:
    """Profession, education, income, household and home value for most people; firmographics
    for most companies, as bought from a data vendor."""
    n = cohort.size
    covered = rng.random(n) < np.where(cohort.company, 0.8, 0.7)
    people = np.flatnonzero(covered & ~cohort.company)
    firms = np.flatnonzero(covered & cohort.company)
    p = len(people)

    log_spend = np.log(cohort.spend_scale[people])
    income = np.clip(np.floor(2.3 + 1.2 * log_spend + rng.normal(0, 0.9, p)), 0, 5).astype(np.int64)
    home = np.clip(income + rng.integers(-1, 2, p), 0, 5)
    profession = rng.integers(0, len(cat.PROFESSIONS), p)
    household = 1 + np.minimum(rng.poisson(1.4, p), 5)
    education = np.minimum(rng.poisson(1.6, p), len(cat.EDUCATION) - 1)

    firm_revenue = np.minimum(rng.poisson(1.0, len(firms)), len(cat.REVENUE_BANDS) - 1)
    firm_rating = rng.integers(0, len(cat.CREDIT_RATINGS), len(firms))

    households = tuple(str(size) for size in range(1, 7))
    values: list[tuple[str, IntArray, tuple[str, ...], IntArray]] = [
        ("profession", people, cat.PROFESSIONS, profession),
        ("education", people, cat.EDUCATION, education),
        ("income_band", people, cat.INCOME_BANDS, income),
        ("household_size", people, households, household - 1),
        ("home_value", people, cat.HOME_VALUE_BANDS, home),
        ("revenue_band", firms, cat.REVENUE_BANDS, firm_revenue),
        ("credit_rating", firms, cat.CREDIT_RATINGS, firm_rating),
    ]
    # One dictionary for every attribute's values; each attribute's codes are offset into it.
    offsets = np.cumsum([0] + [len(choices) for _, _, choices, _ in values])
    everything = tuple(v for _, _, choices, _ in values for v in choices)
    value = np.concatenate([offsets[i] + codes for i, (*_, codes) in enumerate(values)])
    customer = np.concatenate([who for _, who, _, _ in values])
    attribute = np.concatenate([np.full(len(who), i) for i, (_, who, _, _) in enumerate(values)])
    as_of = plan.end - dt.timedelta(days=90)
    as_of_day = (dt.datetime(as_of.year, as_of.month, as_of.day) - EPOCH).days
    return {
        "customer_id": pick(cohort.customer_ids, customer),
        "source": pick((cat.THIRD_PARTY_SOURCE,), np.zeros(len(customer), np.int64)),
        "as_of": dates(np.full(len(customer), as_of_day, dtype=np.int64)),
        "attribute": pick([name for name, _, _, _ in values], attribute),
        "value": pick(everything, value),
    }


def consents(plan: Plan, rng: np.random.Generator, cohort: Cohort) -> dict[str, pa.Array]:
    """The first answer per channel when the customer signed up, then the later opt-outs."""
    n = cohort.size
    reachable = np.stack(
        [cohort.has_email, cohort.has_phone, cohort.has_phone, np.ones(n, bool)], axis=1
    )
    who, channel = np.nonzero(reachable)
    signup_second = cohort.created_second[who] + rng.integers(0, 600, len(who))
    status = np.where(cohort.opted_in[who, channel], 0, 1)
    out_who, out_channel = np.nonzero(reachable & (cohort.opt_out_day < NEVER))
    out_day = cohort.opt_out_day[out_who, out_channel]
    out_second = plan.start_second + out_day * DAY + rng.integers(0, DAY, len(out_who))
    out_second = np.maximum(out_second, cohort.created_second[out_who] + 3600)
    k, m = len(who), len(out_who)
    return {
        "customer_id": pick(cohort.customer_ids, np.concatenate([who, out_who])),
        "channel": pick(cat.CONSENT_CHANNELS, np.concatenate([channel, out_channel])),
        "purpose": pick(("marketing",), np.zeros(k + m, np.int64)),
        "status": pick(("opt_in", "opt_out"), np.concatenate([status, np.ones(m, np.int64)])),
        "source": pick(
            cat.CONSENT_SOURCES + cat.OPT_OUT_SOURCES,
            np.concatenate(
                [
                    rng.integers(0, len(cat.CONSENT_SOURCES), k),
                    len(cat.CONSENT_SOURCES) + rng.integers(0, len(cat.OPT_OUT_SOURCES), m),
                ]
            ),
        ),
        "recorded_at": timestamps(np.concatenate([signup_second, out_second])),
    }


def do_not_contact(
    plan: Plan, rng: np.random.Generator, cohort: Cohort, first_external: int
) -> dict[str, pa.Array]:
    """Customers' own e-mails and phones that must not be used, and outsiders' numbers.

    Outsiders' numbers are numbered from ``first_external`` after every customer, so they never
    collide with a customer's phone.
    """
    n = cohort.size
    emails = np.flatnonzero(cohort.dnc_email)
    phones = np.flatnonzero(cohort.dnc_phone)
    external = rng.poisson(EXTERNAL_DNC_SHARE * n)
    numbers = plan.customers + first_external + np.arange(external, dtype=np.int64)
    country = np.zeros(external, np.int64)  # outsiders come from the national (GB) register
    outsider_phones = phone_numbers(country, numbers, rng.integers(0, 1 << 30, external))
    values = pa.concat_arrays(
        [
            cohort.emails.take(pa.array(emails, pa.int64())),
            cohort.phones.take(pa.array(phones, pa.int64())),
            outsider_phones,
        ]
    )
    kind = np.concatenate(
        [np.zeros(len(emails), np.int64), np.ones(len(phones) + external, np.int64)]
    )
    list_code = np.concatenate(
        [np.zeros(len(emails), np.int64), np.ones(len(phones) + external, np.int64)]
    )
    total = len(kind)
    added = plan.start_second + rng.integers(0, plan.history_days * DAY, total)
    # Two customers may share a phone or an e-mail; the list holds each value once.
    unique_rows = _first_occurrences(values)
    return {
        "kind": pick(("email", "phone"), kind[unique_rows]),
        "value": values.take(pa.array(unique_rows, pa.int64())),
        "list_name": pick(("internal_suppression", "tps"), list_code[unique_rows]),
        "added_at": timestamps(added[unique_rows]),
    }


def _first_occurrences(values: pa.Array) -> IntArray:
    encoded = pc.dictionary_encode(values).indices.to_numpy(zero_copy_only=False)
    _, first = np.unique(encoded, return_index=True)
    return np.sort(first).astype(np.int64)
