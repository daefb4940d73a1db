"""The working state of a campaign's funnel: its steps, its temporary tables, its candidates."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir

from clientela.campaigns.definition import Campaign, Capacity
from clientela.datamart import Datamart
from clientela.datamart.backends import quote
from clientela.services._summary import scalar

__all__ = ["BATCH", "FunnelStep", "Planned", "Work"]

# The contacts planned by the campaigns of this execution so far (pressure, incompatibility).
BATCH = "_cmp_batch"


@dataclass(frozen=True)
class FunnelStep:
    """One step of the funnel: how many customers remain after it and how many it removed."""

    step: str
    customers: int
    removed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "customers": self.customers, "removed": self.removed}


@dataclass
class Planned:
    """A campaign's outcome, held in temporary tables until it is written or dropped."""

    campaign: Campaign
    index: int
    first_day: dt.date
    funnel: list[FunnelStep] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    # The first day of each channel (its capacity may start later); default ``first_day``.
    first_days: dict[str, dt.date] = field(default_factory=dict)

    @property
    def contacts_table(self) -> str:
        return f"_cmp_{self.index}_contacts"

    @property
    def capacity(self) -> Capacity | None:
        """The capacity of the campaign's (first) channel, its days cut at the campaign's end."""
        return self.capacity_of(self.campaign.channel)

    def first_day_of(self, channel: str) -> dt.date:
        return self.first_days.get(channel, self.first_day)

    def capacity_of(self, channel: str) -> Capacity | None:
        """The capacity of ``channel``, its days cut at the campaign's end."""
        capacity = self.campaign.capacity_for(channel)
        if capacity is None or self.campaign.ends is None:
            return capacity
        left = (self.campaign.ends - self.first_day_of(channel)).days + 1
        return dataclasses.replace(capacity, days=max(1, min(capacity.days, left)))

    def last_day_of(self, channel: str) -> dt.date:
        """The last day a contact on ``channel`` may be planned for."""
        capacity = self.capacity_of(channel)
        days = capacity.days if capacity is not None else 1
        return self.first_day_of(channel) + dt.timedelta(days=days - 1)

    @property
    def open_table(self) -> str:
        """Several channels: the (profile, channel) pairs still open."""
        return f"_cmp_{self.index}_open"

    @property
    def lost_table(self) -> str:
        """Several channels: why each profile lost each channel."""
        return f"_cmp_{self.index}_lost"

    @property
    def excluded_table(self) -> str:
        return f"_cmp_{self.index}_excluded"


class Work:
    """The temporary tables of one campaign and the running candidate set."""

    def __init__(self, dm: Datamart, planned: Planned):
        self.dm = dm
        self.planned = planned
        self.candidates = f"_cmp_{planned.index}_candidates"
        self.count = 0

    def table(self, name: str) -> ir.Table:
        return self.dm.temp_table(name)

    @property
    def current(self) -> ir.Table:
        return self.table(self.candidates)

    def keep(self, expr: ir.Table, step: str) -> None:
        """Materialise the new candidate set and add its funnel step."""
        self.dm.create_table_as(self.candidates + "_next", expr, temp=True)
        self.dm.drop_table(self.candidates)
        self.dm.sql(
            f"ALTER TABLE {quote(self.candidates + '_next')} RENAME TO {quote(self.candidates)}"
        )
        before = self.count
        self.count = int(scalar(self.dm, self.current.count()))
        self.planned.funnel.append(FunnelStep(step, self.count, max(before - self.count, 0)))

    def remove(self, removed: ir.Table, step: str, reason: str) -> int:
        """Take the candidates in ``removed`` out, recording ``step`` and ``reason``."""
        current = self.current
        hit = current.semi_join(removed, current.profile_id == removed.profile_id)
        # Materialised once: the rule's query (a consent window, a target) runs once.
        hits = f"_cmp_{self.planned.index}_removed"
        self.dm.create_table_as(hits, hit.select("profile_id"), temp=True)
        found = self.table(hits)
        rows = found.select("profile_id", step=ibis.literal(step), reason=ibis.literal(reason))
        self.dm.sql(
            f"INSERT INTO {quote(self.planned.excluded_table)} (profile_id, step, reason) "
            + self.dm.compile(rows)
        )
        current = self.current
        self.keep(current.anti_join(found, current.profile_id == found.profile_id), step)
        self.dm.drop_table(hits)
        return self.planned.funnel[-1].removed

    def remove_lost(self, step: str) -> int:
        """Several channels: take out the candidates with no open channel left, recording
        ``step`` and the reason their first channel was lost for."""
        current = self.current
        pairs = self.table(self.planned.open_table)
        gone = current.anti_join(pairs, current.profile_id == pairs.profile_id).select("profile_id")
        lost = self.table(self.planned.lost_table)
        first = lost.mutate(
            _rank=ibis.row_number().over(
                group_by=lost.profile_id, order_by=[lost.channel_rank.asc(), lost.reason.asc()]
            )
        )
        first = first.filter(first._rank == 0)
        joined = gone.left_join(first, gone.profile_id == first.profile_id)
        rows = joined.select(
            profile_id=gone.profile_id,
            step=ibis.literal(step),
            reason=joined.reason.fill_null(step),
        )
        hits = f"_cmp_{self.planned.index}_removed"
        self.dm.create_table_as(hits, rows, temp=True)
        found = self.table(hits)
        self.dm.sql(
            f"INSERT INTO {quote(self.planned.excluded_table)} (profile_id, step, reason) "
            + self.dm.compile(found.select("profile_id", "step", "reason"))
        )
        current = self.current
        self.keep(current.anti_join(found, current.profile_id == found.profile_id), step)
        self.dm.drop_table(hits)
        return self.planned.funnel[-1].removed

    def lose(self, channel: str, removed: ir.Table, reason: str) -> None:
        """Several channels: close ``channel`` for the candidates in ``removed``."""
        planned = self.planned
        rank = planned.campaign.channels.index(channel)
        pairs = self.table(planned.open_table)
        on_channel = pairs.filter(pairs.channel == channel)
        hit = on_channel.semi_join(removed, on_channel.profile_id == removed.profile_id)
        hits = f"_cmp_{planned.index}_removed"
        self.dm.create_table_as(hits, hit.select("profile_id"), temp=True)
        found = self.table(hits)
        rows = found.select(
            "profile_id", channel_rank=ibis.literal(rank), reason=ibis.literal(reason)
        )
        self.dm.sql(
            f"INSERT INTO {quote(planned.lost_table)} (profile_id, channel_rank, reason) "
            + self.dm.compile(rows)
        )
        self.dm.sql(
            f"DELETE FROM {quote(planned.open_table)} WHERE channel = ? "
            f"AND profile_id IN (SELECT profile_id FROM {quote(hits)})",
            [channel],
        )
        self.dm.drop_table(hits)
