"""What customers did besides buying: behaviour online, social signals and every contact."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from clientela.datamart.schema import SOCIAL_KINDS
from clientela.demo import _catalogue as cat
from clientela.demo._columns import (
    DAY,
    BoolArray,
    IntArray,
    numbered,
    pick,
    plain,
    timestamps,
    weighted,
)
from clientela.demo._commerce import Sales
from clientela.demo._customers import Cohort
from clientela.demo._plan import Campaign, Plan

ANONYMOUS_SHARE = 0.05
PRE_PURCHASE_EVENTS = 2.5  # per order, at most
PRE_PURCHASE_TYPES = ("page_view", "search", "cart_add", "email_click")
PRE_PURCHASE_WEIGHTS = (0.45, 0.15, 0.3, 0.1)
BACKGROUND_TYPES = (
    "page_view",
    "email_open",
    "email_click",
    "app_session",
    "search",
    "cart_abandon",
    "form_submit",
    "cart_add",
)
BACKGROUND_WEIGHTS = (0.4, 0.25, 0.05, 0.15, 0.07, 0.03, 0.02, 0.03)
PRODUCT_EVENTS = ("page_view", "cart_add", "cart_abandon")
EMAIL_TYPES = np.array([t.startswith("email_") for t in BACKGROUND_TYPES])
PRODUCT_TYPES = np.array([t in PRODUCT_EVENTS for t in BACKGROUND_TYPES])
EMAIL_OBJECTS = ("newsletter-weekly", "newsletter-offers", "order-confirmation")


def events(
    plan: Plan, rng: np.random.Generator, cohort: Cohort, sales: Sales, first_anonymous: int
) -> dict[str, pa.Array]:
    """Browsing, e-mail and cart behaviour; more of it in the days before each purchase."""
    n = cohort.size
    budget = plan.events_per_customer * n
    orders = len(sales.order_customer)
    pre_rate = min(PRE_PURCHASE_EVENTS, 0.5 * budget / max(orders, 1))
    per_order = rng.poisson(pre_rate, orders)
    pre_order = np.repeat(np.arange(orders, dtype=np.int64), per_order)
    lead = 300 + (rng.exponential(1.5, len(pre_order)) * DAY).astype(np.int64)
    pre_second = np.maximum(sales.order_second[pre_order] - lead, plan.start_second)
    pre_type = weighted(rng, PRE_PURCHASE_WEIGHTS, len(pre_order))
    pre_type = np.asarray([BACKGROUND_TYPES.index(t) for t in PRE_PURCHASE_TYPES])[pre_type]
    pre_product = sales.order_product[pre_order]

    # Background behaviour fills the rest of the budget, in proportion to engagement and time.
    remaining = max(budget * (1 - ANONYMOUS_SHARE) - len(pre_order), 0.0)
    window = np.maximum(
        np.minimum(cohort.active_until + 30, plan.history_days) - cohort.active_from, 0
    )
    weight = cohort.engagement * window
    counts = rng.poisson(weight * remaining / max(float(weight.sum()), 1e-9))
    bg_customer = np.repeat(np.arange(n, dtype=np.int64), counts)
    low = cohort.active_from[bg_customer]
    high = np.minimum(cohort.active_until[bg_customer] + 30, plan.history_days)
    within = (rng.random(len(bg_customer)) * ((high - low) * DAY)).astype(np.int64)
    bg_second = plan.start_second + low * DAY + within
    bg_type = weighted(rng, BACKGROUND_WEIGHTS, len(bg_customer))
    popularity = plan.product_cumulative_popularity
    # Only the events about a product need one.
    bg_product = np.zeros(len(bg_customer), np.int64)
    needs = np.flatnonzero(PRODUCT_TYPES[bg_type])
    bg_product[needs] = np.minimum(
        np.searchsorted(popularity, rng.random(len(needs)) * popularity[-1]),
        len(popularity) - 1,
    )

    anonymous = rng.poisson(budget * ANONYMOUS_SHARE)
    anon_second = plan.start_second + rng.integers(0, plan.history_days * DAY, anonymous)
    anon_product = rng.integers(0, len(popularity), anonymous)

    customer = np.concatenate([sales.order_customer[pre_order], bg_customer])
    identified = len(customer)
    total = identified + anonymous
    event_type = np.concatenate([pre_type, bg_type, np.zeros(anonymous, np.int64)])
    product = np.concatenate([pre_product, bg_product, anon_product])
    seconds = np.concatenate([pre_second, bg_second, anon_second])
    type_names = pick(BACKGROUND_TYPES, event_type)
    is_email = EMAIL_TYPES[event_type]
    about_product = PRODUCT_TYPES[event_type]
    objects = pa.concat_arrays([plan.product_ids, pa.array(EMAIL_OBJECTS, pa.string())])
    emails = np.flatnonzero(is_email)
    object_index = product.copy()
    object_index[emails] = len(plan.product_ids) + rng.integers(0, len(EMAIL_OBJECTS), len(emails))
    object_id = pick(objects, object_index, mask=~(about_product | is_email))
    channel = np.where(is_email, 2, 0)
    channel[event_type == BACKGROUND_TYPES.index("app_session")] = 1
    web = np.flatnonzero(channel == 0)
    channel[web] = rng.random(len(web)) < 0.3  # the app, for a third of the rest
    anonymous_ids = numbered("anon-", first_anonymous + np.arange(anonymous, dtype=np.int64), 9)
    return {
        "customer_id": pick(
            cohort.customer_ids,
            np.concatenate([customer, np.zeros(anonymous, np.int64)]),
            mask=np.arange(total) >= identified,
        ),
        "anonymous_id": pa.concat_arrays([pa.nulls(identified, pa.string()), anonymous_ids]),
        "occurred_at": timestamps(seconds),
        "event_type": type_names,
        "object_id": object_id,
        "channel": pick(("web", "app", "email"), channel.astype(np.int64)),
        "properties": pick(cat.EVENT_DEVICES, rng.integers(0, len(cat.EVENT_DEVICES), total)),
    }


def social(plan: Plan, rng: np.random.Generator, cohort: Cohort) -> dict[str, pa.Array]:
    """Likes, shares, comments and reviews; unhappy after a complaint."""
    n = cohort.size
    present = rng.random(n) < 0.25
    counts = np.where(present, 1 + rng.poisson(2 * cohort.engagement), 0)
    customer = np.repeat(np.arange(n, dtype=np.int64), counts)
    k = len(customer)
    low = cohort.active_from[customer]
    day = low + (rng.random(k) * (plan.history_days - low)).astype(np.int64)
    complained = cohort.complaint_day[customer]
    upset = (complained >= 0) & (day >= complained)
    sentiment = np.where(upset, rng.normal(-0.5, 0.3, k), rng.normal(0.35, 0.35, k))
    sentiment = np.round(np.clip(sentiment, -1, 1), 2)
    kind = weighted(rng, [cat.SOCIAL_KIND_WEIGHTS[k] for k in SOCIAL_KINDS], k)
    has_text = np.isin(kind, [SOCIAL_KINDS.index(x) for x in ("comment", "mention", "review")])
    mood = np.where(sentiment > 0.2, 0, np.where(sentiment < -0.2, 2, 1))
    texts = cat.POSITIVE_TEXTS + cat.NEUTRAL_TEXTS + cat.NEGATIVE_TEXTS
    offsets = np.array([0, len(cat.POSITIVE_TEXTS), len(cat.POSITIVE_TEXTS + cat.NEUTRAL_TEXTS)])
    sizes = np.array([len(cat.POSITIVE_TEXTS), len(cat.NEUTRAL_TEXTS), len(cat.NEGATIVE_TEXTS)])
    text = offsets[mood] + (rng.random(k) * sizes[mood]).astype(np.int64)
    return {
        "customer_id": pick(cohort.customer_ids, customer),
        "network": pick(cat.SOCIAL_NETWORKS, weighted(rng, cat.SOCIAL_NETWORK_WEIGHTS, k)),
        "kind": pick(SOCIAL_KINDS, kind),
        "sentiment": pa.array(sentiment),
        "occurred_at": timestamps(plan.start_second + day * DAY + rng.integers(0, DAY, k)),
        "content": pick(texts, text, mask=~has_text),
    }


class _Parts:
    """Interaction rows of several kinds, gathered and laid end to end."""

    def __init__(self) -> None:
        self.columns: dict[str, list[pa.Array]] = {}
        self.service_customer: list[IntArray] = []
        self.service_second: list[IntArray] = []

    def add(
        self,
        cohort: Cohort,
        customer: IntArray,
        second: IntArray,
        kind: str,
        channel: pa.Array,
        *,
        open_: BoolArray,
        outcome: pa.Array,
        closed_second: IntArray,
        description: pa.Array | None = None,
        campaign: str | None = None,
        offer: str | None = None,
    ) -> None:
        k = len(customer)
        part = {
            "customer_id": pick(cohort.customer_ids, customer),
            "occurred_at": timestamps(second),
            "kind": pick((kind,), np.zeros(k, np.int64)),
            "channel": channel,
            "status": pick(("closed", "open"), open_.astype(np.int64)),
            "outcome": outcome,
            "closed_at": timestamps(closed_second, mask=open_),
            "campaign_id": _constant(campaign, k),
            "offer_id": _constant(offer, k),
            "description": description if description is not None else pa.nulls(k, pa.string()),
        }
        for name, column in part.items():
            self.columns.setdefault(name, []).append(column)

    def service(self, customer: IntArray, second: IntArray) -> None:
        self.service_customer.append(customer)
        self.service_second.append(second)


def _constant(value: str | None, size: int) -> pa.Array:
    if value is None:
        return pa.nulls(size, pa.string())
    return pick((value,), np.zeros(size, np.int64))


def interactions(
    plan: Plan, rng: np.random.Generator, cohort: Cohort, sales: Sales
) -> tuple[dict[str, pa.Array], IntArray, IntArray]:
    """Complaints, incidents, calls, returns, visits, campaign contacts, offers and responses.

    Also returns who needed service and when (for the cost to serve).
    """
    parts = _Parts()
    end = plan.end_second - 1
    n = cohort.size

    def at(days: IntArray, earliest_hour: int = 8, latest_hour: int = 20) -> IntArray:
        hours = rng.integers(earliest_hour, latest_hour, len(days))
        return plan.start_second + days * DAY + hours * 3600 + rng.integers(0, 3600, len(days))

    def closed_after(second: IntArray, low: float, high: float) -> IntArray:
        return np.minimum(
            second + (rng.uniform(low, high, len(second)) * DAY).astype(np.int64), end
        )

    who = np.flatnonzero(cohort.complaint_day >= 0)
    second = at(cohort.complaint_day[who])
    is_open = cohort.complaint_open[who]
    parts.add(
        cohort,
        who,
        second,
        "complaint",
        pick(cat.COMPLAINT_CHANNELS, rng.integers(0, len(cat.COMPLAINT_CHANNELS), len(who))),
        open_=is_open,
        outcome=pick(("resolved", "refund", "voucher"), rng.integers(0, 3, len(who)), mask=is_open),
        closed_second=closed_after(second, 0.5, 20),
        description=pick(
            cat.COMPLAINT_REASONS, rng.integers(0, len(cat.COMPLAINT_REASONS), len(who))
        ),
    )
    parts.service(who, second)

    who = np.flatnonzero(cohort.incident_day >= 0)
    second = at(cohort.incident_day[who], 0, 24)
    is_open = second > end - 14 * DAY
    parts.add(
        cohort,
        who,
        second,
        "incident",
        pick(("web", "app", "phone"), rng.integers(0, 3, len(who))),
        open_=is_open,
        outcome=pick(("fixed",), np.zeros(len(who), np.int64), mask=is_open),
        closed_second=closed_after(second, 0.1, 5),
        description=pick(
            cat.INCIDENT_REASONS, rng.integers(0, len(cat.INCIDENT_REASONS), len(who))
        ),
    )
    parts.service(who, second)

    span = np.maximum(cohort.active_until - cohort.active_from, 0)
    calls = rng.poisson(0.3 * cohort.engagement * span / plan.history_days)
    who = np.repeat(np.arange(n, dtype=np.int64), calls)
    second = at(cohort.active_from[who] + (rng.random(len(who)) * span[who]).astype(np.int64))
    parts.add(
        cohort,
        who,
        second,
        "call",
        pick(("phone",), np.zeros(len(who), np.int64)),
        open_=np.zeros(len(who), bool),
        outcome=pick(("answered", "information given"), rng.integers(0, 2, len(who))),
        closed_second=np.minimum(second + rng.integers(120, 1800, len(who)), end),
        description=pick(
            ("Order status enquiry", "Change of address", "Product question"),
            rng.integers(0, 3, len(who)),
        ),
    )
    parts.service(who, second)

    logged = rng.random(len(sales.return_customer)) < 0.5
    who, second = sales.return_customer[logged], sales.return_second[logged]
    is_open = second > end - 7 * DAY
    parts.add(
        cohort,
        who,
        second,
        "return",
        pick(("web", "store"), rng.integers(0, 2, len(who))),
        open_=is_open,
        outcome=pick(("refunded", "exchanged"), rng.integers(0, 2, len(who)), mask=is_open),
        closed_second=closed_after(second, 1, 10),
    )

    visits = np.where(cohort.company, rng.poisson(span / 90.0), 0)
    who = np.repeat(np.arange(n, dtype=np.int64), visits)
    second = at(
        cohort.active_from[who] + (rng.random(len(who)) * span[who]).astype(np.int64), 9, 17
    )
    parts.add(
        cohort,
        who,
        second,
        "visit",
        pick(("field",), np.zeros(len(who), np.int64)),
        open_=np.zeros(len(who), bool),
        outcome=pick(("meeting held", "order promised"), rng.integers(0, 2, len(who))),
        closed_second=second + 3600,
    )

    for campaign in plan.campaigns:
        _campaign(plan, rng, cohort, parts, campaign)

    columns = {
        name: pa.concat_arrays([plain(c) for c in chunks]) for name, chunks in parts.columns.items()
    }
    return (
        columns,
        np.concatenate(parts.service_customer),
        np.concatenate(parts.service_second),
    )


def _campaign(
    plan: Plan, rng: np.random.Generator, cohort: Cohort, parts: _Parts, campaign: Campaign
) -> None:
    channel_code = cat.CONSENT_CHANNELS.index(campaign.channel)
    eligible = cohort.contactable(channel_code, campaign.day)
    who = np.flatnonzero(eligible & (rng.random(cohort.size) < campaign.share))
    k = len(who)
    second = plan.start_second + campaign.day * DAY + 9 * 3600 + rng.integers(0, 7200, k)
    channel = pick((campaign.channel,), np.zeros(k, np.int64))
    closed = np.zeros(k, bool)
    if campaign.offer_id is None:
        outcomes = ("delivered", "opened", "clicked", "bounced")
        outcome = pick(outcomes, weighted(rng, (0.5, 0.3, 0.12, 0.08), k))
        parts.add(
            cohort,
            who,
            second,
            "contact",
            channel,
            open_=closed,
            outcome=outcome,
            closed_second=second,
            campaign=campaign.campaign_id,
        )
        return
    accept = rng.random(k) < np.minimum(0.04 * cohort.engagement[who], 0.3)
    decline = ~accept & (rng.random(k) < 0.08)
    outcome = pick(("ignored", "accepted", "declined"), accept + 2 * decline)
    parts.add(
        cohort,
        who,
        second,
        "offer",
        channel,
        open_=closed,
        outcome=outcome,
        closed_second=second,
        campaign=campaign.campaign_id,
        offer=campaign.offer_id,
    )
    responders = who[accept]
    answered = second[accept] + (rng.uniform(0.05, 7, len(responders)) * DAY).astype(np.int64)
    keep = answered < plan.end_second
    parts.add(
        cohort,
        responders[keep],
        answered[keep],
        "response",
        pick(("web",), np.zeros(int(keep.sum()), np.int64)),
        open_=np.zeros(int(keep.sum()), bool),
        outcome=pick(("purchase",), np.zeros(int(keep.sum()), np.int64)),
        closed_second=answered[keep],
        campaign=campaign.campaign_id,
        offer=campaign.offer_id,
    )
