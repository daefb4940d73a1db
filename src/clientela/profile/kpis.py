"""Transactional KPIs per profile: revenue, margin, orders, returns, referrals, contribution.

Definitions (every sum counts only rows strictly before ``as_of``):

* ``revenue``: net revenue, sales minus returns and cancellations (fees and adjustments apart);
  ``gross_sales`` the sales alone, ``returned_amount`` what returns and cancellations gave back
  (a positive number) and ``return_rate`` = ``returned_amount / gross_sales``.
* ``margin``: the sum of ``transactions.margin`` over every row, a missing margin counting 0;
  ``revenue_without_margin`` says how much revenue had no margin to count.
* ``orders``: distinct orders that are not returns or cancellations; ``returns``: distinct orders
  with a return or cancellation row; ``average_order_value`` = ``revenue / orders``.
* ``referrals_made``: referrals whose referrer is the profile; ``referrals_converted`` those
  converted (``referrals.converted``, or when it is null whether the referred customer bought
  after ``referred_at``).
* ``cost_to_serve``: ``cost_to_serve.cost`` of the periods starting before ``as_of``;
  ``contribution`` = ``margin - cost_to_serve``.
* ``first_purchase`` / ``last_purchase``: the first and last sale; ``tenure_days`` the days from
  the first sale to ``as_of``.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from clientela.profile._common import (
    REFUND_KINDS,
    REVENUE_KINDS,
    as_of_start,
    per_customer_with_orders,
    transaction_kind,
    with_profile_id,
)

__all__ = ["KPI_COLUMNS", "converted_referrals", "customer_kpis"]

# Summed measures: every part of the union below carries them, null where it knows nothing.
_SUMS: dict[str, str] = {
    "revenue": "float64",
    "gross_sales": "float64",
    "returned_amount": "float64",
    "margin": "float64",
    "revenue_without_margin": "float64",
    "orders": "int64",
    "returns": "int64",
    "cost_to_serve": "float64",
    "referrals_made": "int64",
    "referrals_converted": "int64",
}
_DATES = ("first_purchase", "last_purchase")

KPI_COLUMNS: tuple[str, ...] = (
    "customer_id",
    *_SUMS,
    "average_order_value",
    "return_rate",
    "contribution",
    *_DATES,
    "tenure_days",
)


def converted_referrals(referrals: ir.Table, transactions: ir.Table, as_of: dt.date) -> ir.Table:
    """Referrals made before ``as_of`` with a boolean ``is_converted`` column."""
    cutoff = as_of_start(as_of)
    made = referrals.filter(referrals.referred_at.isnull() | (referrals.referred_at < cutoff))
    sales = transactions.filter(
        (transaction_kind(transactions) == "sale") & (transactions.occurred_at < cutoff)
    ).select(_buyer=transactions.customer_id, _bought_at=transactions.occurred_at)
    bought = (
        made.join(
            sales,
            (made.referred_id == sales._buyer)
            & (made.referred_at.isnull() | (sales._bought_at > made.referred_at)),
        )
        .select(_bought_referral=made.referral_id)
        .distinct()
    )
    return made.mutate(
        is_converted=made.converted.fill_null(made.referral_id.isin(bought._bought_referral))
    )


_TRANSACTION_SUMS = (
    "revenue",
    "gross_sales",
    "returned_amount",
    "margin",
    "revenue_without_margin",
    "orders",
    "returns",
)


def customer_kpis(
    transactions: ir.Table,
    cost_to_serve: ir.Table,
    referrals: ir.Table,
    identity: ir.Table,
    as_of: dt.date,
    *,
    customers: ir.Table | None = None,
    orders: ir.Table | None = None,
) -> ir.Table:
    """One row per profile with the KPIs of the module docstring.

    Profiles come from transactions, costs and referrals; pass ``customers`` to also list every
    customer without any of them (with zero KPIs).  ``customer_id`` is the profile id.  With the
    datamart's ``orders`` table (kept by the loads), orders and returns are plain counts of its
    rows instead of distinct counts of the order ids of every line, with the same result.
    """
    cutoff = as_of_start(as_of)
    tx = transactions.filter(transactions.occurred_at < cutoff)
    kind = transaction_kind(tx)
    is_sale = kind == "sale"
    is_refund = kind.isin(REFUND_KINDS)
    is_revenue = kind.isin(REVENUE_KINDS)
    # Per customer first (no join on the transaction rows), then per unified profile: an order
    # belongs to one customer, so distinct orders add up across a profile's customers.
    measures: dict[str, ir.Value] = {
        "revenue": tx.amount.sum(where=is_revenue),
        "gross_sales": tx.amount.sum(where=is_sale),
        "returned_amount": (-tx.amount).sum(where=is_refund),
        "margin": tx.margin.fill_null(0).sum(),
        "revenue_without_margin": tx.amount.sum(where=is_revenue & tx.margin.isnull()),
        "first_purchase": tx.occurred_at.min(where=is_sale),
        "last_purchase": tx.occurred_at.max(where=is_sale),
    }
    per_customer = per_customer_with_orders(
        tx, measures, orders, cutoff, ordered="orders", refunded="returns"
    )
    linked = with_profile_id(per_customer, identity)
    from_transactions = linked.group_by("profile_id").aggregate(
        **{name: linked[name].sum() for name in _TRANSACTION_SUMS},
        first_purchase=linked.first_purchase.min(),
        last_purchase=linked.last_purchase.max(),
    )

    costs = with_profile_id(
        cost_to_serve.filter(cost_to_serve.period_start < ibis.literal(as_of, type="date")),
        identity,
    )
    from_costs = costs.group_by("profile_id").aggregate(cost_to_serve=costs.cost.sum())

    referred = with_profile_id(
        converted_referrals(referrals, transactions, as_of), identity, "referrer_id"
    )
    from_referrals = referred.group_by("profile_id").aggregate(
        referrals_made=referred.count(),
        referrals_converted=referred.count(where=referred.is_converted),
    )

    parts = [from_transactions, from_costs, from_referrals]
    if customers is not None:
        parts.append(with_profile_id(customers, identity).select("profile_id").distinct())
    stacked = ibis.union(*(_conform(part) for part in parts), distinct=False)

    totals = stacked.group_by("profile_id").aggregate(
        **{name: _money(stacked[name].sum().fill_null(0), dtype) for name, dtype in _SUMS.items()},
        first_purchase=stacked.first_purchase.min(),
        last_purchase=stacked.last_purchase.max(),
    )
    as_of_date = ibis.literal(as_of, type="date")
    return totals.select(
        customer_id=totals.profile_id,
        **{name: totals[name] for name in _SUMS},
        average_order_value=totals.revenue / totals.orders.nullif(0),
        return_rate=totals.returned_amount / totals.gross_sales.nullif(0),
        contribution=_money(totals.margin - totals.cost_to_serve, "float64"),
        first_purchase=totals.first_purchase,
        last_purchase=totals.last_purchase,
        tenure_days=as_of_date.delta(totals.first_purchase.date(), unit="day"),
    )


def _money(value: ir.NumericValue, dtype: str) -> ir.NumericValue:
    """Sums of money rounded to 1e-6: float noise must not turn a zero into a tiny profit.

    (A customer whose purchases were all refunded has a contribution of exactly zero, tier D.)
    """
    if dtype != "float64":
        return value
    rounded: ir.NumericValue = value.round(6)
    return rounded


def _conform(part: ir.Table) -> ir.Table:
    """The part with every measure of the union, typed, null where the part has none."""
    columns: dict[str, ir.Value] = {"profile_id": part.profile_id}
    for name, dtype in _SUMS.items():
        columns[name] = part[name].cast(dtype) if name in part.columns else ibis.null().cast(dtype)
    for name in _DATES:
        columns[name] = (
            part[name].cast("timestamp") if name in part.columns else ibis.null().cast("timestamp")
        )
    return part.select(**columns)
