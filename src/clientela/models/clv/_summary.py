"""The summary statistics the lifetime value models read, computed from the transactions.

Per profile with a sale on or before the last day of the calibration period:

* ``first_purchase``, ``last_purchase``: the days of the first and last sale;
* ``repeat_purchases`` (FHL's ``x``): the days with a sale after the first one; sales on one day
  count as one purchase, as in Fader, Hardie and Lee's CDNOW data (and lifetimes);
* ``purchase_span`` (``t_x``): the time from the first purchase to the last;
* ``tenure`` (``T``): the time from the first purchase to the last day of the calibration period;
* ``average_repeat_spend``: the mean value of the repeat purchases (a day's sales added up), the
  first purchase left out as Gamma-Gamma asks; 0 without repeat purchases.

Times are in units of ``unit_days`` days (7: weeks).  A transaction row without a kind is a sale;
returns, cancellations, fees and adjustments are not purchases.  Backend-free: nothing executes.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from clientela.profile._common import as_of_start, transaction_kind, with_profile_id

__all__ = ["CLV_SUMMARY_COLUMNS", "clv_summary"]

CLV_SUMMARY_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "first_purchase",
    "last_purchase",
    "repeat_purchases",
    "purchase_span",
    "tenure",
    "average_repeat_spend",
)


def clv_summary(
    transactions: ir.Table,
    identity: ir.Table,
    calibration_end: dt.date,
    unit_days: float = 7.0,
) -> ir.Table:
    """One row per profile: the columns of :data:`CLV_SUMMARY_COLUMNS` (module docstring).

    ``calibration_end`` is the last day of the calibration period: its sales count, and
    ``tenure`` runs to it (FHL's CDNOW calibration ends on 1997-09-30, giving customer 1 the
    published ``T = 38.86`` weeks).
    """
    cutoff = as_of_start(calibration_end + dt.timedelta(days=1))
    sales = transactions.filter(
        (transactions.occurred_at < cutoff) & (transaction_kind(transactions) == "sale")
    )
    # Per customer and day first (the rows as stored), then per profile and day: a profile's
    # customers may buy on the same day, and that is still one purchase.
    per_customer = sales.group_by(
        [sales.customer_id, sales.occurred_at.date().name("purchase_day")]
    ).aggregate(spend=sales.amount.sum())
    linked = with_profile_id(per_customer, identity)
    days = linked.group_by(["profile_id", "purchase_day"]).aggregate(spend=linked.spend.sum())
    days = days.mutate(first_day=days.purchase_day.min().over(group_by=days.profile_id))
    profiles = days.group_by("profile_id").aggregate(
        first_purchase=days.purchase_day.min(),
        last_purchase=days.purchase_day.max(),
        purchase_days=days.count(),
        repeat_spend=days.spend.sum(where=days.purchase_day != days.first_day),
    )
    end = ibis.literal(calibration_end, type="date")
    repeats = (profiles.purchase_days - 1).cast("int64")
    span_days = profiles.last_purchase.delta(profiles.first_purchase, unit="day")
    tenure_days = end.delta(profiles.first_purchase, unit="day")
    return profiles.select(
        customer_id=profiles.profile_id,
        first_purchase=profiles.first_purchase,
        last_purchase=profiles.last_purchase,
        repeat_purchases=repeats,
        purchase_span=span_days.cast("float64") / unit_days,
        tenure=tenure_days.cast("float64") / unit_days,
        average_repeat_spend=ibis.ifelse(
            repeats > 0, profiles.repeat_spend.fill_null(0.0) / repeats.cast("float64"), 0.0
        ),
    )
