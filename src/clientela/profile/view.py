"""The 360-degree profile as typed values: :class:`CustomerProfile` and its sections.

Every value is a frozen dataclass of plain Python values (str, int, float, dates), so that the
same structure is what the Python API returns, what the CLI draws and what ``--json`` prints.
The ``*_from_row`` helpers build sections from query results (rows as dictionaries).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "Behaviour",
    "ConsentStatus",
    "Consents",
    "CustomerProfile",
    "EventCount",
    "Identity",
    "Kpis",
    "ModelScore",
    "ObjectCount",
    "OpenIssue",
    "PredictiveScore",
    "Rfm",
    "ScorePoint",
    "ScoreReason",
    "SocialCount",
    "SocialSummary",
    "ThirdPartyAttribute",
    "Timeline",
    "TimelineEntry",
    "kpis_from_row",
    "rfm_from_row",
]


@dataclass(frozen=True)
class Identity:
    """Who the profile is: its own record, and every customer id unified into it."""

    customer_id: str
    customer_ids: tuple[str, ...]
    kind: str | None = None
    name: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    birth_date: dt.date | None = None
    age: int | None = None
    gender: str | None = None
    address: str | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    industry: str | None = None
    company_size: str | None = None
    employees: int | None = None
    account_owner: str | None = None
    created_at: dt.datetime | None = None


@dataclass(frozen=True)
class Kpis:
    """Transactional KPIs (definitions in :mod:`clientela.profile.kpis`)."""

    revenue: float = 0.0
    gross_sales: float = 0.0
    returned_amount: float = 0.0
    margin: float = 0.0
    revenue_without_margin: float = 0.0
    orders: int = 0
    returns: int = 0
    average_order_value: float | None = None
    return_rate: float | None = None
    referrals_made: int = 0
    referrals_converted: int = 0
    cost_to_serve: float = 0.0
    contribution: float = 0.0
    first_purchase: dt.datetime | None = None
    last_purchase: dt.datetime | None = None
    tenure_days: int | None = None


@dataclass(frozen=True)
class Rfm:
    """Recency, frequency, monetary value, their 1-5 scores and segment; None without sales."""

    recency_days: int | None = None
    frequency: int | None = None
    monetary: float | None = None
    r: int | None = None
    f: int | None = None
    m: int | None = None
    segment: str | None = None


@dataclass(frozen=True)
class ThirdPartyAttribute:
    source: str | None
    attribute: str
    value: str | None
    as_of: dt.date | None


@dataclass(frozen=True)
class EventCount:
    event_type: str
    last_7_days: int
    last_30_days: int
    last_90_days: int


@dataclass(frozen=True)
class ObjectCount:
    object_id: str
    events: int


@dataclass(frozen=True)
class Behaviour:
    """Events of the last 7, 30 and 90 days by type, last activity, most visited objects."""

    events: tuple[EventCount, ...] = ()
    last_activity: dt.datetime | None = None
    top_objects: tuple[ObjectCount, ...] = ()


@dataclass(frozen=True)
class SocialCount:
    network: str
    kind: str
    signals: int


@dataclass(frozen=True)
class SocialSummary:
    signals: int = 0
    mean_sentiment: float | None = None
    by_network: tuple[SocialCount, ...] = ()


@dataclass(frozen=True)
class OpenIssue:
    """An open complaint, incident or return."""

    interaction_id: str
    customer_id: str
    kind: str
    occurred_at: dt.datetime
    channel: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class ConsentStatus:
    channel: str
    purpose: str | None
    status: str
    recorded_at: dt.datetime
    source: str | None = None


@dataclass(frozen=True)
class Consents:
    """The latest consent per channel and purpose, and do-not-contact list membership."""

    statuses: tuple[ConsentStatus, ...] = ()
    email_do_not_contact: bool = False
    phone_do_not_contact: bool = False
    do_not_contact_lists: tuple[str, ...] = ()


@dataclass(frozen=True)
class TimelineEntry:
    occurred_at: dt.datetime
    source: str  # "transaction", "interaction", "contact" (a campaign's) or "response"
    kind: str | None
    customer_id: str
    reference: str | None
    description: str | None
    amount: float | None
    channel: str | None
    status: str | None


@dataclass(frozen=True)
class Timeline:
    """One page of every transaction, interaction, campaign contact and response, newest
    first."""

    page: int
    page_size: int
    total: int
    entries: tuple[TimelineEntry, ...] = ()

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


@dataclass(frozen=True)
class ScorePoint:
    """A stored score of one model at one as-of date."""

    as_of: dt.date
    score: float
    band: str | None


@dataclass(frozen=True)
class ModelScore:
    """A rule-based score on the profile: the newest run up to the profile's date, the change
    since the run before, and the trend of the last runs (oldest first)."""

    model: str
    version: int
    as_of: dt.date
    score: float
    band: str | None
    change: float | None
    trend: tuple[ScorePoint, ...]


@dataclass(frozen=True)
class ScoreReason:
    """A feature raising (effect > 0) or lowering a predictive score, in log-odds."""

    feature: str
    value: str
    effect: float


@dataclass(frozen=True)
class PredictiveScore:
    """A predictive model's newest stored score of the customer up to the profile's date: the
    probability, its decile among the customers scored (1 = the 10% rated highest) and the
    reasons raising and lowering it."""

    model: str
    version: int
    as_of: dt.date
    probability: float
    decile: int
    raising: tuple[ScoreReason, ...]
    lowering: tuple[ScoreReason, ...]


@dataclass(frozen=True)
class CustomerProfile:
    """The 360-degree view of one (unified) customer as of a date."""

    customer_id: str
    as_of: dt.date
    source: str  # "customer_summary" (built) or "live"
    identity: Identity
    kpis: Kpis
    rfm: Rfm
    value_tier: str
    service_policy: Mapping[str, str]
    third_party: tuple[ThirdPartyAttribute, ...]
    behaviour: Behaviour
    social: SocialSummary
    open_issues: tuple[OpenIssue, ...]
    do_not_pitch: bool
    do_not_pitch_reason: str | None
    consents: Consents
    timeline: Timeline
    scores: tuple[ModelScore, ...] = ()
    predictions: tuple[PredictiveScore, ...] = ()


def _plain(value: Any) -> Any:
    """None for NaN/NaT, Python scalars for numpy ones."""
    if value is None:
        return None
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _pick(cls: type, row: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: _plain(v) for k, v in row.items() if k in names}


def kpis_from_row(row: Mapping[str, Any] | None) -> Kpis:
    """KPIs from a row of :func:`~clientela.profile.kpis.customer_kpis` (zeros without one)."""
    if row is None:
        return Kpis()
    values = _pick(Kpis, row)
    for name in ("orders", "returns", "referrals_made", "referrals_converted", "tenure_days"):
        if values.get(name) is not None:
            values[name] = int(values[name])
    return Kpis(**values)


def rfm_from_row(row: Mapping[str, Any] | None) -> Rfm:
    """RFM from a row of :func:`~clientela.profile.rfm.rfm` (all None for non-buyers)."""
    if row is None or _plain(row.get("r")) is None:
        return Rfm()
    values = _pick(Rfm, row)
    for name in ("recency_days", "frequency", "r", "f", "m"):
        values[name] = int(values[name])
    return Rfm(**values)
