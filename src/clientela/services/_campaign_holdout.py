"""The global hold-out: a random share of every profile kept out of every campaign for a period.

The draw is the profiles with the smallest md5 of ``seed:profile_id`` (the same function on
every backend), so a seed gives the same hold-out on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis

from clientela.datamart import Datamart
from clientela.datamart.backends import quote
from clientela.errors import ConfigError
from clientela.services._campaign_store import utcnow
from clientela.services._summary import scalar

__all__ = ["GlobalHoldout", "create_global_holdout", "global_holdouts"]

_WORK = "_cmp_holdout"


@dataclass(frozen=True)
class GlobalHoldout:
    valid_from: dt.date
    valid_until: dt.date
    seed: int
    profiles: int
    created_at: dt.datetime


def create_global_holdout(
    dm: Datamart,
    *,
    percent: float,
    until: dt.date,
    seed: int = 0,
    valid_from: dt.date | None = None,
) -> GlobalHoldout:
    """Draw ``percent`` of every profile into the global hold-out from ``valid_from`` (today,
    UTC, by default) to ``until``."""
    if not 0 < percent < 100:
        raise ConfigError(f"--percent must be between 0 and 100 (exclusive), got {percent}")
    start = valid_from or utcnow().date()
    if until < start:
        raise ConfigError(f"--until {until} is before the hold-out starts ({start})")
    identity = dm.table("identity")
    profiles = identity.select("profile_id").distinct()
    dm.create_table_as(
        _WORK,
        profiles.select("profile_id", lot=ibis.literal(f"{seed}:") + profiles.profile_id),
        temp=True,
    )
    try:
        dm.sql(f"UPDATE {quote(_WORK)} SET lot = md5(lot)")
        work = dm.temp_table(_WORK)
        total = int(scalar(dm, work.count()))
        wanted = int(total * percent / 100 + 0.5)
        chosen = work.order_by([work.lot, work.profile_id]).limit(wanted)
        now = utcnow()
        rows = chosen.select(
            "profile_id",
            valid_from=ibis.literal(start),
            valid_until=ibis.literal(until),
            seed=ibis.literal(seed, type="int64"),
            created_at=ibis.literal(now, type="timestamp"),
        )
        with dm.transaction():
            dm.sql(
                "INSERT INTO global_holdout (profile_id, valid_from, valid_until, seed, "
                f"created_at) {dm.compile(rows)}"
            )
    finally:
        dm.drop_table(_WORK)
    return GlobalHoldout(start, until, seed, wanted, now)


def global_holdouts(dm: Datamart) -> list[GlobalHoldout]:
    """Every hold-out drawn, newest first."""
    rows = dm.records(
        "SELECT valid_from, valid_until, seed, created_at, count(*) AS profiles "
        "FROM global_holdout GROUP BY valid_from, valid_until, seed, created_at "
        "ORDER BY created_at DESC"
    )
    return [
        GlobalHoldout(
            r["valid_from"], r["valid_until"], int(r["seed"]), int(r["profiles"]), r["created_at"]
        )
        for r in rows
    ]
