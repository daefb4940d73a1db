"""The per-profile summary (KPIs, RFM, tier) for an as-of date: built, or computed live.

``clientela build`` materialises it as the ``customer_summary`` table for one as-of date; the
profile and the value report read that table when they are asked about the same date and
compute the same expression live otherwise.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import ibis
import ibis.expr.types as ir

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.profile.kpis import customer_kpis
from clientela.profile.rfm import rfm
from clientela.profile.tiers import value_tiers

__all__ = [
    "SUMMARY_TABLE",
    "built_as_of",
    "default_as_of",
    "scalar",
    "summary_expression",
    "summary_for",
]

log = logging.getLogger(__name__)

SUMMARY_TABLE = "customer_summary"


def default_as_of(dm: Datamart) -> dt.date:
    """The day after the newest transaction (today, UTC, for a datamart without any)."""
    transactions = dm.table("transactions")
    newest = scalar(dm, transactions.occurred_at.max())
    if newest is None:
        return dt.datetime.now(dt.UTC).date()
    day: dt.date = newest.date() if isinstance(newest, dt.datetime) else newest
    return day + dt.timedelta(days=1)


def scalar(dm: Datamart, expr: ir.Scalar) -> Any:
    """One value as a Python object (through Arrow, which keeps dates and nulls as they are)."""
    return dm.to_pyarrow(expr.as_table()).column(0)[0].as_py()


def summary_expression(dm: Datamart, settings: Settings, as_of: dt.date) -> ir.Table:
    """One row per profile: KPIs, value tier and RFM as of ``as_of`` (computed live)."""
    identity = dm.table("identity")
    transactions = dm.table("transactions")
    kpis = customer_kpis(
        transactions,
        dm.table("cost_to_serve"),
        dm.table("referrals"),
        identity,
        as_of,
        customers=dm.table("customers"),
    )
    tiered = value_tiers(kpis, settings.tier_cutoffs)
    scores = rfm(transactions, identity, as_of)
    scores = scores.select(
        _rfm_customer=scores.customer_id,
        recency_days=scores.recency_days,
        frequency=scores.frequency,
        monetary=scores.monetary,
        r=scores.r,
        f=scores.f,
        m=scores.m,
        fm=scores.fm,
        segment=scores.segment,
    )
    joined = tiered.left_join(scores, tiered.customer_id == scores._rfm_customer)
    return joined.drop("_rfm_customer").mutate(as_of=ibis.literal(as_of, type="date"))


def built_as_of(dm: Datamart) -> dt.date | None:
    """The as-of date of the built ``customer_summary``, or None when there is none."""
    if not dm.has_table(SUMMARY_TABLE):
        return None
    rows = dm.sql(f'SELECT max(as_of) FROM "{SUMMARY_TABLE}"')
    value = rows[0][0] if rows else None
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def summary_for(dm: Datamart, settings: Settings, as_of: dt.date) -> tuple[ir.Table, str]:
    """The summary for ``as_of`` and where it comes from (``customer_summary`` or ``live``)."""
    if built_as_of(dm) == as_of:
        return dm.table(SUMMARY_TABLE), SUMMARY_TABLE
    log.info("no customer_summary built for %s: computing it live", as_of)
    return summary_expression(dm, settings, as_of), "live"
