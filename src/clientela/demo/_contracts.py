"""Contracts and subscriptions of one chunk: insurance, telecom plans and a membership.

About a third of the customers hold one or more.  A contract runs for a term (one or two years)
and renews at each anniversary until the customer leaves; the customers who stopped buying and,
more often still, those who complained end their contracts (churn for a contractual business),
usually at an anniversary or a few weeks after the complaint.  A few active contracts are
suspended for non-payment, and many renewals fall due in the months after the history ends, so
"about to expire" triggers have something to find.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from clientela.demo import _catalogue as cat
from clientela.demo._columns import DAY, pick, timestamps, weighted
from clientela.demo._customers import Cohort
from clientela.demo._plan import Plan

HOLDER_SHARE = 0.35
EXTRA_CONTRACTS = 0.35  # mean further contracts per holder (Poisson)
BASE_END_RATE = 0.35
STOPPED_END_RATE = 0.6  # customers who stopped buying during the history
COMPLAINT_END_RATE = 0.75  # customers who complained
SUSPENDED_SHARE = 0.03


def contracts(plan: Plan, rng: np.random.Generator, cohort: Cohort) -> dict[str, pa.Array]:
    """The contracts of the chunk's customers (the key is numbered by the writer)."""
    days = plan.history_days
    n = cohort.size
    # Customers who had left before the history starts hold no contract in it.
    alive = (cohort.created_day < days - 30) & (cohort.active_until > 30)
    holder = (rng.random(n) < HOLDER_SHARE) & alive
    count = np.where(holder, 1 + np.minimum(rng.poisson(EXTRA_CONTRACTS, n), 2), 0)
    who = np.repeat(np.arange(n, dtype=np.int64), count)
    k = len(who)
    product = weighted(rng, cat.CONTRACT_PRODUCT_WEIGHTS, k)
    term = np.array([t for _, _, t in cat.CONTRACT_PRODUCTS], np.int64)[product]
    price = np.array([p for _, p, _ in cat.CONTRACT_PRODUCTS], np.float64)[product]

    # Started after the customer arrived, at most three years before the history starts.
    first_day = np.maximum(cohort.created_day[who], -3 * 365)
    span = np.maximum(days - 30 - first_day, 1)
    start_day = first_day + (rng.random(k) ** 0.8 * span).astype(np.int64)

    complained = cohort.complaint_day[who]
    stopped = (cohort.active_until[who] < days) & (cohort.active_until[who] > start_day + 60)
    rate = np.where(complained >= 0, COMPLAINT_END_RATE, np.where(stopped, STOPPED_END_RATE, 0))
    leaves = rng.random(k) < np.maximum(rate, BASE_END_RATE)
    # When they leave: a few weeks after the complaint, when they stop buying, or any day from
    # two months after the start to half a year after the history (still active then).
    earliest = np.maximum(start_day + 60, 0)
    any_day = earliest + (rng.random(k) * np.maximum(days + 180 - earliest, 1)).astype(np.int64)
    end_day = np.where(
        (complained >= 0) & (complained > start_day),
        complained + rng.integers(7, 75, k),
        np.where(stopped, cohort.active_until[who] + rng.integers(0, 60, k), any_day),
    )
    ended = leaves & (end_day > start_day + 30) & (end_day >= 0) & (end_day < days)

    # The due end: the first anniversary after the end (ended) or after the history (active).
    horizon = np.where(ended, end_day, days)
    terms_run = np.maximum(-(-(horizon - start_day) // term), 1)
    due_day = start_day + terms_run * term
    suspended = ~ended & (rng.random(k) < SUSPENDED_SHARE)
    status = np.where(ended, 1, np.where(suspended, 2, 0))

    start_second = plan.start_second + start_day * DAY + rng.integers(8 * 3600, 20 * 3600, k)
    start_second = np.maximum(start_second, cohort.created_second[who] + 3600)
    end_second = plan.start_second + end_day * DAY + rng.integers(8 * 3600, 20 * 3600, k)
    amount = np.round(price * rng.lognormal(0.0, 0.2, k), 2)
    return {
        "customer_id": pick(cohort.customer_ids, who),
        "product": pick([name for name, _, _ in cat.CONTRACT_PRODUCTS], product),
        "status": pick(("active", "ended", "suspended"), status),
        "started_at": timestamps(start_second),
        "ends_at": timestamps(plan.start_second + due_day * DAY),
        "ended_at": timestamps(np.where(ended, end_second, 0), ~ended),
        "monthly_amount": pa.array(amount, pa.float64()),
        "channel": pick(cat.CONTRACT_CHANNELS, weighted(rng, cat.CONTRACT_CHANNEL_WEIGHTS, k)),
    }
