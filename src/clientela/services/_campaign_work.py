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

    @property
    def contacts_table(self) -> str:
        return f"_cmp_{self.index}_contacts"

    @property
    def capacity(self) -> Capacity | None:
        """The campaign's capacity, its days cut at the campaign's end."""
        capacity = self.campaign.capacity
        if capacity is None or self.campaign.ends is None:
            return capacity
        left = (self.campaign.ends - self.first_day).days + 1
        return dataclasses.replace(capacity, days=max(1, min(capacity.days, left)))

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
