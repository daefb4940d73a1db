"""RFM: recency, frequency and monetary value as of a date, scored 1-5 and named by segment.

* ``recency_days``: days from the last sale to ``as_of``;
* ``frequency``: distinct orders that are not returns or cancellations;
* ``monetary``: net revenue, sales minus returns and cancellations.

Only transactions before ``as_of`` count, and only profiles with at least one sale are scored.
A score is ``1 + floor(5 * rank0 / n)``, ``rank0`` being the 0-based minimum rank of the profile
among the ``n`` scored profiles ordered from worst to best (more days since the last purchase is
worse), so ties share a score and 5 is best.  The segment comes from :data:`RFM_GRID` on R and
``FM = floor((F + M) / 2 + 0.5)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from clientela.profile._common import (
    REVENUE_KINDS,
    as_of_start,
    per_customer_with_orders,
    transaction_kind,
    with_profile_id,
)

__all__ = ["RFM_COLUMNS", "RFM_GRID", "SEGMENTS", "fm_score", "rfm", "segment_of"]


def _grid() -> dict[tuple[int, int], str]:
    rows: dict[int, tuple[tuple[range, str], ...]] = {
        5: ((range(1, 2), "New"), (range(2, 4), "Potential Loyalist"), (range(4, 6), "Champions")),
        4: (
            (range(1, 2), "Promising"),
            (range(2, 4), "Potential Loyalist"),
            (range(4, 6), "Loyal"),
        ),
        3: (
            (range(1, 3), "About to Sleep"),
            (range(3, 4), "Needs Attention"),
            (range(4, 6), "Loyal"),
        ),
        2: (
            (range(1, 3), "Hibernating"),
            (range(3, 5), "At Risk"),
            (range(5, 6), "Cannot Lose Them"),
        ),
        1: (
            (range(1, 2), "Lost"),
            (range(2, 3), "Hibernating"),
            (range(3, 5), "At Risk"),
            (range(5, 6), "Cannot Lose Them"),
        ),
    }
    return {(r, fm): name for r, cells in rows.items() for span, name in cells for fm in span}


RFM_GRID: Mapping[tuple[int, int], str] = _grid()
"""The segment of every (R, FM) pair, R and FM in 1..5 (documented in docs/rfm.md)."""

SEGMENTS: tuple[str, ...] = tuple(dict.fromkeys(RFM_GRID[key] for key in sorted(RFM_GRID)))

RFM_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "last_purchase",
    "recency_days",
    "frequency",
    "monetary",
    "r",
    "f",
    "m",
    "fm",
    "segment",
)


def fm_score(f: int, m: int) -> int:
    """``floor((F + M) / 2 + 0.5)``: the mean of F and M, halves rounded up."""
    return (f + m + 1) // 2


def segment_of(r: int, f: int, m: int) -> str:
    """The named segment of an R, F, M score triple."""
    return RFM_GRID[(r, fm_score(f, m))]


def rfm(
    transactions: ir.Table,
    identity: ir.Table,
    as_of: dt.date,
    orders: ir.Table | None = None,
) -> ir.Table:
    """One row per profile with a sale before ``as_of``: the columns of :data:`RFM_COLUMNS`.

    ``orders`` is the datamart's ``orders`` table (one row per customer and order, with the time
    of its earliest line that is not a return or cancellation, kept by the loads): the
    frequency is then a plain count of its rows before ``as_of`` instead of a distinct count of
    the order ids of every line, with the same result.
    """
    cutoff = as_of_start(as_of)
    tx = transactions.filter(transactions.occurred_at < cutoff)
    kind = transaction_kind(tx)
    # Per customer first (the rows as stored, no join), then per unified profile: an order
    # belongs to one customer, so a profile's distinct orders are the sum of its customers'.
    measures: dict[str, ir.Value] = {
        "last_purchase": tx.occurred_at.max(where=kind == "sale"),
        "monetary": tx.amount.sum(where=kind.isin(REVENUE_KINDS)),
    }
    per_customer = per_customer_with_orders(tx, measures, orders, cutoff, ordered="frequency")
    linked = with_profile_id(per_customer, identity)
    per_profile = linked.group_by("profile_id").aggregate(
        last_purchase=linked.last_purchase.max(),
        frequency=linked.frequency.sum(),
        monetary=linked.monetary.sum(),
    )
    buyers = per_profile.filter(per_profile.last_purchase.notnull())
    buyers = buyers.mutate(
        recency_days=ibis.literal(as_of, type="date").delta(
            buyers.last_purchase.date(), unit="day"
        ),
        monetary=buyers.monetary.fill_null(0.0),
    )
    scored = buyers.mutate(
        r=_score(buyers, ibis.desc(buyers.recency_days)),
        f=_score(buyers, buyers.frequency),
        m=_score(buyers, buyers.monetary),
    )
    scored = scored.mutate(fm=((scored.f + scored.m + 1) // 2).cast("int64"))
    segment = ibis.cases(
        *(((scored.r == r) & (scored.fm == fm), name) for (r, fm), name in sorted(RFM_GRID.items()))
    )
    return scored.select(
        customer_id=scored.profile_id,
        last_purchase=scored.last_purchase,
        recency_days=scored.recency_days,
        frequency=scored.frequency,
        monetary=scored.monetary,
        r=scored.r,
        f=scored.f,
        m=scored.m,
        fm=scored.fm,
        segment=segment,
    )


def _score(table: ir.Table, worst_first: ir.Value) -> ir.IntegerColumn:
    rank0 = ibis.rank().over(order_by=worst_first)
    n = table.profile_id.count().over()
    return (1 + (5 * rank0 / n).floor()).cast("int64")
