"""What the customers of a chunk bought, returned and cost to serve, and who referred whom."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from clientela.demo import _catalogue as cat
from clientela.demo._columns import (
    DAY,
    BoolArray,
    FloatArray,
    IntArray,
    dates,
    numbered,
    pick,
    segment_positions,
    timestamps,
    weighted,
)
from clientela.demo._customers import Cohort
from clientela.demo._plan import (
    EXTRA_ROWS_PER_SALE_LINE,
    LINES_PER_ORDER_COMPANY,
    LINES_PER_ORDER_PERSON,
    Plan,
)

RETURN_SCALE = 1.25  # on the categories' return rates, so that about 6% of lines come back
CANCELLATION_RATE = 0.015
SERVICE_CONTACT_COST = 15.0  # handling a complaint, an incident or a service call
ACCOUNT_MANAGEMENT_COST = 120.0
REFERRAL_CHANNELS = ("referral_link", "promo_code", "word_of_mouth")


@dataclass
class Sales:
    """What other generators need to know about a chunk's purchases."""

    order_customer: IntArray
    order_second: IntArray
    order_product: IntArray  # the product of each order's first line
    return_customer: IntArray
    return_second: IntArray
    net_margin: FloatArray  # per customer
    has_sale: BoolArray  # per customer


def transactions(
    plan: Plan, rng: np.random.Generator, cohort: Cohort, order_number: int
) -> tuple[dict[str, pa.Array], Sales]:
    """Sale lines with seasonality, returns of earlier lines and cancellations."""
    n = cohort.size
    company = cohort.company
    active_days = np.maximum(cohort.active_until - cohort.active_from, 0) * cohort.buyer
    lines_per_order = 1 + np.where(company, LINES_PER_ORDER_COMPANY, LINES_PER_ORDER_PERSON)
    sale_lines = plan.transactions_per_customer / (1 + EXTRA_ROWS_PER_SALE_LINE) * n
    weight = cohort.frequency * active_days
    rate = sale_lines / max(float((weight * lines_per_order).sum()), 1e-9)
    # Customers who arrive during the history are created by their first order.
    joins = cohort.buyer & (cohort.created_day >= 0) & (active_days > 0)
    expected = np.maximum(rate * weight - joins, 0.0)
    orders_per_customer = joins + rng.poisson(expected)

    order_customer = np.repeat(np.arange(n, dtype=np.int64), orders_per_customer)
    order_second = _seasonal_seconds(
        plan,
        rng,
        cohort.active_from[order_customer],
        cohort.active_until[order_customer],
    )
    first_order = (segment_positions(orders_per_customer) == 0) & joins[order_customer]
    order_second[first_order] = cohort.created_second[order_customer[first_order]]
    m = len(order_customer)
    lines = 1 + rng.poisson(np.where(company, LINES_PER_ORDER_COMPANY, LINES_PER_ORDER_PERSON))
    lines_in_order = lines[order_customer] if m else np.zeros(0, dtype=np.int64)
    line_order = np.repeat(np.arange(m, dtype=np.int64), lines_in_order)
    line_no = segment_positions(lines_in_order) + 1
    customer = order_customer[line_order]
    second = order_second[line_order]
    k = len(line_order)

    popularity = plan.product_cumulative_popularity
    product = np.minimum(
        np.searchsorted(popularity, rng.random(k) * popularity[-1], side="right"),
        len(popularity) - 1,
    ).astype(np.int64)
    category = plan.product_category[product]
    is_company = company[customer]
    scale = cohort.spend_scale[customer]
    quantity = 1 + rng.poisson(np.where(is_company, 1.5, 0.3) * scale)
    discounted = rng.random(k) < 0.15
    discount = np.where(is_company, 0.1, 0.0)
    discount[discounted] += rng.uniform(0.1, 0.3, int(discounted.sum()))
    list_price = plan.product_price[product]
    unit_price = np.round(list_price * (1 - discount), 2)
    amount = np.round(quantity * unit_price, 2)
    margin_rate = np.array([c.margin_rate for c in cat.CATEGORIES])[category]
    cost = np.round(quantity * list_price * (1 - margin_rate), 2)
    channel = weighted(rng, cat.SALE_CHANNEL_WEIGHTS, k)
    b2b = np.flatnonzero(is_company)
    channel[b2b] = weighted(rng, cat.B2B_CHANNEL_WEIGHTS, len(b2b)) + len(cat.SALE_CHANNELS)

    # Returns refer to an earlier sale line: same order, line and product, negative amounts.
    # Only the lines that come back draw their return details.
    draw = rng.random(k)
    return_rate = np.array([c.return_rate for c in cat.CATEGORIES])[category] * RETURN_SCALE
    return_rate *= np.where(cohort.complaint_day[customer] >= 0, 1.5, 1.0)
    r = np.flatnonzero(draw < return_rate)
    c = np.flatnonzero((draw >= return_rate) & (draw < return_rate + CANCELLATION_RATE))
    back_second = second[r] + ((3 + rng.exponential(8.0, len(r))) * DAY).astype(np.int64)
    back_quantity = np.minimum(1 + (rng.random(len(r)) * quantity[r]).astype(np.int64), quantity[r])
    cancel_second = second[c] + rng.integers(600, 2 * DAY, len(c))
    in_history = back_second < plan.end_second
    r, back_second, back_quantity = (
        r[in_history],
        back_second[in_history],
        back_quantity[in_history],
    )
    in_history = cancel_second < plan.end_second
    c, cancel_second = c[in_history], cancel_second[in_history]

    rows = np.concatenate([np.arange(k), r, c])
    kind = np.concatenate([np.zeros(k, np.int64), np.ones(len(r), np.int64), np.full(len(c), 2)])
    sign_quantity = np.concatenate([quantity, -back_quantity, -quantity[c]]).astype(np.float64)
    all_amount = np.concatenate([amount, -np.round(back_quantity * unit_price[r], 2), -amount[c]])
    all_cost = np.concatenate([cost, -np.round(cost[r] * back_quantity / quantity[r], 2), -cost[c]])
    occurred = np.concatenate([second, back_second, cancel_second])
    row_customer = customer[rows]
    margin = np.round(all_amount - all_cost, 2)

    columns = {
        "order_id": numbered("O", order_number + line_order[rows], 10),
        "line_no": pa.array(line_no[rows]),
        "customer_id": pick(cohort.customer_ids, row_customer),
        "occurred_at": timestamps(occurred),
        "product_id": pick(plan.product_ids, product[rows]),
        "product_name": pick(plan.product_names, product[rows]),
        "category": pick([x.name for x in cat.CATEGORIES], category[rows]),
        "quantity": pa.array(sign_quantity),
        "unit_price": pa.array(unit_price[rows]),
        "amount": pa.array(all_amount),
        "cost": pa.array(all_cost),
        "margin": pa.array(margin),
        "channel": pick(cat.SALE_CHANNELS + cat.B2B_CHANNELS, channel[rows]),
        "kind": pick(("sale", "return", "cancellation"), kind),
        "currency": pick(("GBP",), np.zeros(len(rows), np.int64)),
    }
    first_line = line_no == 1
    sales = Sales(
        order_customer=order_customer,
        order_second=order_second,
        order_product=product[first_line],
        return_customer=customer[r],
        return_second=back_second,
        net_margin=np.bincount(row_customer, weights=margin, minlength=n).astype(np.float64),
        has_sale=np.bincount(customer, minlength=n) > 0,
    )
    return columns, sales


def _seasonal_seconds(
    plan: Plan, rng: np.random.Generator, first_day: IntArray, until_day: IntArray
) -> IntArray:
    """Moments within [first_day, until_day) that follow the seasonal demand curve."""
    cumulative = plan.cumulative_day_weight
    low, high = cumulative[first_day], cumulative[until_day]
    target = low + rng.random(len(first_day)) * (high - low)
    day = np.searchsorted(cumulative, target, side="right") - 1
    day = np.clip(day, first_day, np.maximum(until_day - 1, first_day))
    hour = weighted(rng, cat.HOUR_WEIGHTS, len(day))
    within = hour * 3600 + rng.integers(0, 3600, len(day))
    return (plan.start_second + day * DAY + within).astype(np.int64)


def quarter_of(plan: Plan, seconds: IntArray) -> IntArray:
    """Quarter number since the quarter the history starts in."""
    months = (seconds // DAY).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    start_month = np.array([plan.start_day], dtype="datetime64[D]").astype("datetime64[M]")
    return (months // 3 - int(start_month.astype(np.int64)[0]) // 3).astype(np.int64)


def cost_to_serve(
    plan: Plan, cohort: Cohort, sales: Sales, service_customer: IntArray, service_second: IntArray
) -> dict[str, pa.Array]:
    """Fulfilment, customer service and account management cost per customer and quarter."""
    n = cohort.size
    quarters = int(quarter_of(plan, np.array([plan.end_second - 1]))[0]) + 1

    def per_quarter(customer: IntArray, seconds: IntArray) -> IntArray:
        cell = customer * quarters + quarter_of(plan, seconds)
        return np.bincount(cell, minlength=n * quarters).reshape(n, quarters)

    orders = per_quarter(sales.order_customer, sales.order_second)
    returns = per_quarter(sales.return_customer, sales.return_second)
    services = per_quarter(service_customer, service_second)
    fulfilment = (orders + 1.5 * returns) * cohort.serve_cost[:, None]
    service = services * SERVICE_CONTACT_COST
    first_q = quarter_of(plan, plan.start_second + cohort.active_from * DAY)
    last_q = quarter_of(plan, plan.start_second + np.maximum(cohort.active_until - 1, 0) * DAY)
    q = np.arange(quarters)[None, :]
    managed = (
        cohort.company[:, None]
        & (q >= first_q[:, None])
        & (q <= last_q[:, None])
        & (cohort.active_until > cohort.active_from)[:, None]
    )
    account = np.where(managed, ACCOUNT_MANAGEMENT_COST, 0.0)

    customer_parts, quarter_parts, category_parts, cost_parts = [], [], [], []
    for code, matrix in enumerate((fulfilment, service, account)):
        who, when = np.nonzero(matrix > 0)
        customer_parts.append(who)
        quarter_parts.append(when)
        category_parts.append(np.full(len(who), code))
        cost_parts.append(np.round(matrix[who, when], 2))
    customer = np.concatenate(customer_parts)
    quarter = np.concatenate(quarter_parts)
    start_month = np.array([plan.start_day], dtype="datetime64[D]").astype("datetime64[M]")
    first_month = start_month.astype(np.int64)[0] // 3 * 3
    begin = (first_month + quarter * 3).astype("datetime64[M]").astype("datetime64[D]")
    end = (first_month + quarter * 3 + 3).astype("datetime64[M]").astype("datetime64[D]")
    return {
        "customer_id": pick(cohort.customer_ids, customer),
        "period_start": dates(begin.astype(np.int64)),
        "period_end": dates(end.astype(np.int64) - 1),
        "category": pick(
            ("fulfilment", "customer_service", "account_management"),
            np.concatenate(category_parts),
        ),
        "cost": pa.array(np.concatenate(cost_parts)),
    }


def referrals(rng: np.random.Generator, cohort: Cohort, sales: Sales) -> dict[str, pa.Array]:
    """Referred customers name an earlier customer; a few enthusiasts refer many."""
    n = cohort.size
    referred = np.flatnonzero(cohort.referred)
    propensity = np.cumsum(rng.lognormal(0.0, 1.6, n))
    ceiling = propensity[np.maximum(referred - 1, 0)]
    referrer = np.searchsorted(propensity, rng.random(len(referred)) * ceiling, side="right")
    referrer = np.minimum(referrer, np.maximum(referred - 1, 0)).astype(np.int64)
    return {
        "referrer_id": pick(cohort.customer_ids, referrer),
        "referred_id": pick(cohort.customer_ids, referred),
        "referred_at": timestamps(cohort.created_second[referred]),
        "converted": pa.array(sales.has_sale[referred]),
        "channel": pick(REFERRAL_CHANNELS, rng.integers(0, len(REFERRAL_CHANNELS), len(referred))),
    }
