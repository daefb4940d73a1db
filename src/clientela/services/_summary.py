"""The per-profile summary (KPIs, RFM, tier) for an as-of date: built, or computed live.

``clientela build`` materialises it as the ``customer_summary`` table for one as-of date; the
profile and the value report read that table when they are asked about the same date and
compute the same expression live otherwise.
"""

from __future__ import annotations

import datetime as dt
import logging
import weakref
from typing import Any

import ibis
import ibis.expr.types as ir

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.backends import quote
from clientela.errors import NotFoundError
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
    "summary_row",
]

log = logging.getLogger(__name__)

SUMMARY_TABLE = "customer_summary"


def default_as_of(dm: Datamart) -> dt.date:
    """The day after the newest transaction (today, UTC, for a datamart without any).

    Finding the newest transaction reads the whole table; when no other process can write to
    the datamart, the answer is kept with the connection until the connection next writes.
    """
    newest = _newest_transaction(dm)
    if newest is None:
        return dt.datetime.now(dt.UTC).date()
    day: dt.date = newest.date() if isinstance(newest, dt.datetime) else newest
    return day + dt.timedelta(days=1)


# Per open datamart: (Datamart.generation when read, newest transaction time).
_NEWEST: weakref.WeakKeyDictionary[Datamart, tuple[int, Any]] = weakref.WeakKeyDictionary()


def _newest_transaction(dm: Datamart) -> Any:
    kept = _NEWEST.get(dm)
    if kept is not None and kept[0] == dm.generation:
        return kept[1]
    generation = dm.generation
    newest = scalar(dm, dm.table("transactions").occurred_at.max())
    if dm.sole_writer:
        _NEWEST[dm] = (generation, newest)
    return newest


def scalar(dm: Datamart, expr: ir.Scalar) -> Any:
    """One value as a Python object (through Arrow, which keeps dates and nulls as they are)."""
    return dm.to_pyarrow(expr.as_table()).column(0)[0].as_py()


def summary_expression(dm: Datamart, settings: Settings, as_of: dt.date) -> ir.Table:
    """One row per profile: KPIs, value tier and RFM as of ``as_of`` (computed live)."""
    identity = dm.table("identity")
    transactions = dm.table("transactions")
    # Kept by the loads since schema 6; a datamart not yet migrated counts from the lines.
    orders = dm.table("orders") if dm.has_table("orders") else None
    kpis = customer_kpis(
        transactions,
        dm.table("cost_to_serve"),
        dm.table("referrals"),
        identity,
        as_of,
        customers=dm.table("customers"),
        orders=orders,
    )
    tiered = value_tiers(kpis, settings.tier_cutoffs)
    scores = rfm(transactions, identity, as_of, orders)
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
    return _as_date(rows[0][0] if rows else None)


def summary_for(dm: Datamart, settings: Settings, as_of: dt.date) -> tuple[ir.Table, str]:
    """The summary for ``as_of`` and where it comes from (``customer_summary`` or ``live``)."""
    if built_as_of(dm) == as_of:
        return dm.table(SUMMARY_TABLE), SUMMARY_TABLE
    log.info("no customer_summary built for %s: computing it live", as_of)
    return summary_expression(dm, settings, as_of), "live"


def summary_row(
    dm: Datamart, settings: Settings, profile_id: str, as_of: dt.date
) -> tuple[dict[str, Any] | None, str]:
    """One profile's summary row as of ``as_of`` (None without one) and where it comes from.

    The built table is read with one parameterised lookup; its rows all carry the as-of date it
    was built for, so the row itself says whether it answers for ``as_of``.
    """
    if _has_summary(dm):
        rows = dm.records(
            f"SELECT * FROM {quote(SUMMARY_TABLE)} WHERE customer_id = ?", [profile_id]
        )
        if rows and _as_date(rows[0]["as_of"]) == as_of:
            return rows[0], SUMMARY_TABLE
        if not rows and built_as_of(dm) == as_of:
            return None, SUMMARY_TABLE
    summary, source = summary_for(dm, settings, as_of)
    found = dm.to_pyarrow(summary.filter(summary.customer_id == profile_id)).to_pylist()
    return (found[0] if found else None), source


def _has_summary(dm: Datamart) -> bool:
    # Datamart.table caches the handle, so this costs a catalogue query only the first time.
    try:
        dm.table(SUMMARY_TABLE)
    except NotFoundError:
        return False
    return True


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None
