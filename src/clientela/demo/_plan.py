"""What stays the same across chunks: the knobs, the calendar, the product range, the campaigns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from clientela.demo import _catalogue as cat
from clientela.demo._columns import DAY, FloatArray, IntArray, epoch_seconds, ids

# Returns and cancellations add rows on top of the sale lines; the sale-line rate is chosen so
# that all transaction rows together average ``transactions_per_customer``.
EXTRA_ROWS_PER_SALE_LINE = 0.085
LINES_PER_ORDER_PERSON = 0.6  # extra lines beyond the first, Poisson mean
LINES_PER_ORDER_COMPANY = 2.0


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    day: int  # days since the start of the history
    channel: str  # a consent channel
    offer_id: str | None
    share: float  # share of eligible customers contacted


@dataclass(frozen=True)
class Plan:
    """The knobs and the fixed parts of the demo company, shared by every chunk."""

    customers: int
    seed: int
    transactions_per_customer: float
    events_per_customer: float
    end: dt.date
    history_days: int
    chunk_size: int
    # derived
    start_second: int
    start_day: int  # days since 1970 of the first day of the history
    cumulative_day_weight: FloatArray  # length history_days + 1, starting at 0
    product_ids: pa.Array
    product_names: pa.Array
    product_category: IntArray
    product_price: FloatArray
    product_cumulative_popularity: FloatArray
    campaigns: tuple[Campaign, ...]

    @property
    def id_width(self) -> int:
        return max(6, len(str(self.customers)))

    @property
    def end_second(self) -> int:
        return self.start_second + self.history_days * DAY

    def chunk_rng(self, chunk: int) -> np.random.Generator:
        """The random stream of one chunk: independent of the chunk count and of other chunks."""
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(chunk + 1,)))


def make_plan(
    *,
    customers: int,
    seed: int,
    transactions_per_customer: float,
    events_per_customer: float,
    end: dt.date,
    history_days: int,
    chunk_size: int,
) -> Plan:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    start = end - dt.timedelta(days=history_days - 1)
    start_second = epoch_seconds(dt.datetime(start.year, start.month, start.day))
    start_day = start_second // DAY
    weights = cat.seasonal_day_weights(start_day, history_days)
    cumulative = np.concatenate([[0.0], np.cumsum(weights)])

    n_categories = len(cat.CATEGORIES)
    per = cat.PRODUCTS_PER_CATEGORY
    category = np.repeat(np.arange(n_categories, dtype=np.int64), per)
    medians = np.array([c.median_price for c in cat.CATEGORIES])[category]
    price = np.floor(medians * rng.lognormal(0.0, 0.55, len(category))) + 0.99
    # Distinct names: each category's products are distinct adjective-noun pairs.
    names: list[str] = []
    for spec in cat.CATEGORIES:
        pairs = [f"{a} {n}" for n in cat.PRODUCT_NOUNS[spec.name] for a in cat.PRODUCT_ADJECTIVES]
        chosen = rng.permutation(len(pairs))[:per]
        names.extend(pairs[i] for i in chosen)
    popularity = 1.0 / np.arange(1, len(category) + 1) ** 0.9
    rng.shuffle(popularity)

    return Plan(
        customers=customers,
        seed=seed,
        transactions_per_customer=transactions_per_customer,
        events_per_customer=events_per_customer,
        end=end,
        history_days=history_days,
        chunk_size=chunk_size,
        start_second=start_second,
        start_day=start_day,
        cumulative_day_weight=cumulative,
        product_ids=ids("P", 1, len(category), 4),
        product_names=pa.array(names, pa.string()),
        product_category=category,
        product_price=price,
        product_cumulative_popularity=np.cumsum(popularity),
        campaigns=_campaigns(rng, start, history_days),
    )


def _campaigns(rng: np.random.Generator, start: dt.date, days: int) -> tuple[Campaign, ...]:
    campaigns: list[Campaign] = []
    day = int(rng.integers(10, 30))
    while day < days - 7:
        when = start + dt.timedelta(days=day)
        offer: str | None
        if when.month == 11 and when.day >= 20:
            theme, channel, offer = "black-friday", "email", "OFF-BF-25"
        elif when.month == 12:
            theme, channel, offer = "christmas", "mail", "OFF-XMAS-15"
        else:
            theme = ("newsletter", "new-season", "win-back", "loyalty")[int(rng.integers(0, 4))]
            channel = ("email", "email", "sms", "mail")[int(rng.integers(0, 4))]
            offer = {"win-back": "OFF-COMEBACK-20", "loyalty": "OFF-LOYAL-10"}.get(theme)
        campaigns.append(
            Campaign(
                campaign_id=f"CMP-{when:%Y-%m}-{theme}",
                day=day,
                channel=channel,
                offer_id=offer,
                share=float(rng.uniform(0.15, 0.35)),
            )
        )
        day += int(rng.integers(35, 55))
    return tuple(campaigns)
