"""``clientela build``: materialise the per-profile summary for one as-of date."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.backends import quote
from clientela.profile.tiers import TIERS
from clientela.progress import NO_PROGRESS, Progress
from clientela.services._summary import SUMMARY_TABLE, default_as_of, summary_expression

__all__ = ["BuildReport", "build"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildReport:
    """What a build made: the as-of date, the profiles summarised and how many per tier."""

    as_of: dt.date
    table: str
    profiles: int
    tiers: dict[str, int]
    seconds: float


def build(
    dm: Datamart,
    settings: Settings,
    as_of: dt.date | None = None,
    progress: Progress = NO_PROGRESS,
) -> BuildReport:
    """Replace ``customer_summary`` with the summary as of ``as_of`` (default: the day after
    the newest transaction), in one transaction."""
    started = time.perf_counter()
    with progress.task("building the customer summary", total=3) as task:
        as_of = as_of or default_as_of(dm)
        task.advance()
        expression = summary_expression(dm, settings, as_of)
        with dm.transaction():
            dm.create_table_as(SUMMARY_TABLE, expression)
            dm.sql(
                f"CREATE INDEX {quote('ix_' + SUMMARY_TABLE + '_customer_id')} "
                f"ON {quote(SUMMARY_TABLE)} ({quote('customer_id')})"
            )
        task.advance()
        rows = dm.sql(
            f"SELECT value_tier, count(*) FROM {quote(SUMMARY_TABLE)} GROUP BY value_tier"
        )
        task.advance()
    tiers = dict.fromkeys(TIERS, 0)
    tiers.update({str(tier): int(count) for tier, count in rows})
    report = BuildReport(
        as_of=as_of,
        table=SUMMARY_TABLE,
        profiles=sum(tiers.values()),
        tiers=tiers,
        seconds=round(time.perf_counter() - started, 3),
    )
    log.info("built %s as of %s: %d profiles", SUMMARY_TABLE, as_of, report.profiles)
    return report
