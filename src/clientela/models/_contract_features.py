"""Contract features of a churn-by-contract model, as of a cut-off (backend-free).

One row per profile holding a contract that started before the cut-off:

* ``contracts_active``: contracts active at the cut-off (started before, not ended by it);
* ``contracts_ended``: contracts that ended before the cut-off;
* ``contract_monthly_amount``: the monthly amount of the active contracts;
* ``contract_tenure_days``: days since the oldest active contract started;
* ``contract_days_to_renewal``: days to the nearest anniversary of an active contract's start.

The due end ``ends_at`` is not used: the datamart keeps only its current value, which moves at
each renewal, so reading it at a past cut-off would tell the model which contracts were renewed
afterwards.  The anniversary of the start is known at the cut-off and is when most contracts
renew or end.  The monthly amount is read as stored (the datamart keeps no history of it).
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from clientela.datamart.ingest.identity import with_profile
from clientela.models._features import cutoff_instant
from clientela.models._labels import active_contracts

__all__ = ["CONTRACT_FEATURES", "contract_features"]

CONTRACT_FEATURES: tuple[str, ...] = (
    "contracts_active",
    "contracts_ended",
    "contract_monthly_amount",
    "contract_tenure_days",
    "contract_days_to_renewal",
)
_COUNTS = ("contracts_active", "contracts_ended", "contract_monthly_amount")


def contract_features(contracts: ir.Table, identity: ir.Table, as_of: dt.date) -> ir.Table:
    """``profile_id`` and :data:`CONTRACT_FEATURES` for the profiles with a contract started
    before the cut-off."""
    cutoff = cutoff_instant(as_of)
    day = ibis.literal(as_of, type="date")
    started = with_profile(contracts.filter(contracts.started_at < cutoff), identity)
    ended = started.ended_at.notnull() & (started.ended_at < cutoff)
    history = started.group_by("profile_id").aggregate(contracts_ended=started.count(where=ended))

    active = with_profile(active_contracts(contracts, as_of), identity)
    age = day.delta(active.started_at.date(), unit="day").cast("int64")
    to_renewal = (365 - age % 365) % 365
    current = active.group_by("profile_id").aggregate(
        contracts_active=active.count(),
        contract_monthly_amount=active.monthly_amount.sum(),
        contract_tenure_days=age.max(),
        contract_days_to_renewal=to_renewal.min(),
    )
    renamed = current.rename(_current="profile_id")
    joined = history.left_join(renamed, history.profile_id == renamed._current)
    return joined.select(
        profile_id=joined.profile_id,
        **{
            name: joined[name].fill_null(0) if name in _COUNTS else joined[name]
            for name in CONTRACT_FEATURES
        },
    )
