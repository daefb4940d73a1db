"""Labels: what happened in the outcome window after the cut-off, for each example.

The outcome window of ``days`` days starts at the cut-off (midnight starting ``as_of``) and ends
before midnight ``days`` days later.  Backend-free: each function returns an expression with
``profile_id`` and ``label`` (1 or 0) for the examples of its kind:

* ``propensity``: every profile known before the cut-off; 1 when it buys (a sale of
  ``product``, of ``category``, or any sale) in the window;
* ``churn`` by purchase (the default): the profiles with a sale in the ``active_days`` before the
  cut-off; 1 when they do not buy in the window;
* ``churn`` by contract (``churn_by="contract"``): the profiles holding a contract active at the
  cut-off (started before it, not ended by it; of ``product`` when given); 1 when one of those
  contracts (``contracts="any"``) or every one of them (``contracts="all"``) ends in the window.
  A contract whose status is ``ended`` but which has no ``ended_at`` is left out: when it ended
  is unknown;
* ``response``: the profiles contacted in the window by ``campaign`` (an interaction with that
  ``campaign_id``); 1 when an interaction of the campaign in the window has an accepting outcome;
* ``conversion``: the profiles known before the cut-off that had neither bought nor converted
  before it (the leads); 1 when they convert in the window (an interaction whose outcome is a
  conversion) or buy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir

from clientela.datamart.ingest.identity import with_profile
from clientela.models._features import FeatureTables, cutoff_instant, known_profiles
from clientela.profile._common import transaction_kind

__all__ = [
    "ACCEPTED_OUTCOMES",
    "CHURN_BY",
    "CONTRACTS_ENDED",
    "CONVERTED_OUTCOMES",
    "KINDS",
    "Target",
    "labels",
]

Kind = Literal["propensity", "churn", "response", "conversion"]
KINDS: tuple[str, ...] = ("propensity", "churn", "response", "conversion")
ChurnBy = Literal["purchase", "contract"]
CHURN_BY: tuple[str, ...] = ("purchase", "contract")
ContractsEnded = Literal["any", "all"]
CONTRACTS_ENDED: tuple[str, ...] = ("any", "all")
ACCEPTED_OUTCOMES: tuple[str, ...] = ("accepted", "responded", "converted", "purchased")
CONVERTED_OUTCOMES: tuple[str, ...] = ("converted",)


@dataclass(frozen=True)
class Target:
    """What a model predicts: the kind, the outcome window and what counts as the outcome."""

    kind: Kind
    outcome_days: int
    product: str | None = None
    category: str | None = None
    campaign: str | None = None
    active_days: int = 365
    accepted: tuple[str, ...] = ACCEPTED_OUTCOMES
    converted: tuple[str, ...] = CONVERTED_OUTCOMES
    churn_by: ChurnBy = "purchase"
    contracts: ContractsEnded = "any"

    @property
    def by_contract(self) -> bool:
        return self.kind == "churn" and self.churn_by == "contract"

    def window(self, as_of: dt.date) -> tuple[dt.date, dt.date]:
        """The first day of the outcome window and the day after its last."""
        return as_of, as_of + dt.timedelta(days=self.outcome_days)


def _in_window(moment: ir.Value, as_of: dt.date, days: int) -> ir.BooleanValue:
    start = cutoff_instant(as_of)
    end = cutoff_instant(as_of + dt.timedelta(days=days))
    inside: ir.BooleanValue = (moment >= start) & (moment < end)
    return inside


def _sales(tables: FeatureTables) -> ir.Table:
    tx = tables.transactions
    return with_profile(tx.filter(transaction_kind(tx) == "sale"), tables.identity)


def _flag(population: ir.Table, hits: ir.Table, *, invert: bool = False) -> ir.Table:
    """``population.profile_id`` with label 1 when in ``hits`` (0 when ``invert``)."""
    found = hits.select(_hit=hits.profile_id).distinct()
    joined = population.left_join(found, population.profile_id == found._hit)
    hit = joined._hit.notnull()
    label = ibis.ifelse(~hit if invert else hit, 1, 0).cast("int64")
    return joined.select(profile_id=joined.profile_id, label=label)


def labels(tables: FeatureTables, as_of: dt.date, target: Target) -> ir.Table:
    """``profile_id`` and ``label`` for each example of ``target.kind`` (module docstring)."""
    days = target.outcome_days
    cutoff = cutoff_instant(as_of)
    if target.kind == "propensity":
        population = known_profiles(tables.customers, tables.identity, as_of).select("profile_id")
        sales = _sales(tables)
        wanted = _in_window(sales.occurred_at, as_of, days)
        if target.product is not None:
            wanted &= sales.product_id == target.product
        elif target.category is not None:
            wanted &= sales.category == target.category
        return _flag(population, sales.filter(wanted))
    if target.by_contract:
        return _contract_churn(tables, as_of, target)
    if target.kind == "churn":
        sales = _sales(tables)
        active = sales.filter(
            (sales.occurred_at < cutoff)
            & (sales.occurred_at >= cutoff_instant(as_of, target.active_days))
        )
        population = active.select("profile_id").distinct()
        return _flag(
            population, sales.filter(_in_window(sales.occurred_at, as_of, days)), invert=True
        )
    rows = with_profile(tables.interactions, tables.identity)
    if target.kind == "response":
        contacted = rows.filter(
            (rows.campaign_id == target.campaign) & _in_window(rows.occurred_at, as_of, days)
        )
        population = contacted.select("profile_id").distinct()
        return _flag(population, contacted.filter(contacted.outcome.isin(target.accepted)))
    # conversion
    converted = rows.filter(rows.outcome.isin(target.converted))
    sales = _sales(tables)
    before = ibis.union(
        converted.filter(converted.occurred_at < cutoff).select("profile_id"),
        sales.filter(sales.occurred_at < cutoff).select("profile_id"),
    )
    known = known_profiles(tables.customers, tables.identity, as_of).select("profile_id")
    earlier = before.select(_done=before.profile_id).distinct()
    open_leads = known.left_join(earlier, known.profile_id == earlier._done)
    population = open_leads.filter(open_leads._done.isnull()).select("profile_id")
    won = ibis.union(
        converted.filter(_in_window(converted.occurred_at, as_of, days)).select("profile_id"),
        sales.filter(_in_window(sales.occurred_at, as_of, days)).select("profile_id"),
    )
    return _flag(population, won)


def active_contracts(contracts: ir.Table, as_of: dt.date, product: str | None = None) -> ir.Table:
    """The contracts active at the cut-off: started before it and not ended by it."""
    cutoff = cutoff_instant(as_of)
    unknown_end = (contracts.status == "ended") & contracts.ended_at.isnull()
    active = (
        (contracts.started_at < cutoff)
        & (contracts.ended_at.isnull() | (contracts.ended_at >= cutoff))
        & ~unknown_end.fill_null(False)
    )
    if product is not None:
        active &= contracts.product == product
    return contracts.filter(active)


def _contract_churn(tables: FeatureTables, as_of: dt.date, target: Target) -> ir.Table:
    if tables.contracts is None:
        raise ValueError("churn by contract needs the contracts table")
    held = with_profile(active_contracts(tables.contracts, as_of, target.product), tables.identity)
    ends = _in_window(held.ended_at, as_of, target.outcome_days).fill_null(False)
    per_profile = held.group_by("profile_id").aggregate(
        _held=held.count(), _ended=held.count(where=ends)
    )
    churned = (
        per_profile._ended > 0
        if target.contracts == "any"
        else per_profile._ended == per_profile._held
    )
    return per_profile.select(
        profile_id=per_profile.profile_id, label=ibis.ifelse(churned, 1, 0).cast("int64")
    )
