"""Campaigns on the datamart: save and load definitions, preview the funnel, execute.

Preview and execution run the same funnel (:mod:`clientela.services._campaign_pipeline`); a
preview shows it and drops it, an execution writes, in one transaction, the definition's
version, a ``campaign_runs`` row, the ``campaign_exclusions`` and the ``contact_history`` rows
(planned, held out, deferred, dropped), then the channel files of the planned contacts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from clientela.campaigns.definition import Campaign
from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.backends import quote
from clientela.exports.campaign_files import ChannelOffer, write_channel_files
from clientela.progress import NO_PROGRESS, Progress
from clientela.services._campaign_holdout import (
    GlobalHoldout,
    create_global_holdout,
    global_holdouts,
)
from clientela.services._campaign_pipeline import (
    FunnelStep,
    Planned,
    drop_work_tables,
    plan_campaigns,
)
from clientela.services._campaign_store import (
    CampaignInfo,
    RunInfo,
    campaign_runs,
    list_campaigns,
    load_campaign,
    save_campaign,
    utcnow,
)

__all__ = [
    "CampaignInfo",
    "Execution",
    "FunnelStep",
    "GlobalHoldout",
    "Preview",
    "RunInfo",
    "campaign_runs",
    "create_global_holdout",
    "execute_campaigns",
    "global_holdouts",
    "list_campaigns",
    "load_campaign",
    "preview_campaigns",
    "save_campaign",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preview:
    """A campaign's funnel on the as-of date and a sample of the contacts it would plan."""

    campaign: Campaign
    as_of: dt.date
    funnel: list[FunnelStep]
    counts: dict[str, int] = field(default_factory=dict)
    sample: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Execution:
    """What an execution wrote: the run, its funnel, its contact counts and its files."""

    campaign: Campaign
    run_id: str
    version: int
    as_of: dt.date
    funnel: list[FunnelStep]
    contacted: int
    held_out: int
    deferred: int
    dropped: int
    files: list[Path] = field(default_factory=list)


def preview_campaigns(
    dm: Datamart,
    settings: Settings,
    campaigns: list[Campaign],
    *,
    as_of: dt.date,
    sample: int = 10,
    progress: Progress = NO_PROGRESS,
) -> list[Preview]:
    """The funnel of each campaign (in rank order), as executing them together would plan."""
    planned = plan_campaigns(dm, settings, campaigns, as_of=as_of, progress=progress)
    try:
        return [
            Preview(p.campaign, as_of, p.funnel, dict(p.counts), _sample(dm, p, sample))
            for p in planned
        ]
    finally:
        drop_work_tables(dm, planned)


def _sample(dm: Datamart, item: Planned, size: int) -> list[dict[str, Any]]:
    if size <= 0:
        return []
    contacts = dm.temp_table(item.contacts_table)
    customers = dm.table("customers")
    planned = contacts.filter(contacts.status == "planned")
    joined = planned.left_join(customers, planned.customer_id == customers.customer_id)
    offer = item.campaign.offer
    rows = joined.select(
        profile_id=planned.profile_id,
        name=joined.name,
        channel=planned.channel,
        offer=ibis.literal(offer.offer_id if offer else "").nullif(""),
        priority=planned.priority,
        planned_for=planned.planned_for,
    ).order_by([ibis.desc("priority"), "profile_id"])
    return list(dm.to_pyarrow(rows.limit(size)).to_pylist())


def execute_campaigns(
    dm: Datamart,
    settings: Settings,
    campaigns: list[Campaign],
    *,
    as_of: dt.date,
    out_dir: Path,
    profiles: ir.Table | None = None,
    trigger: str | None = None,
    progress: Progress = NO_PROGRESS,
) -> list[Execution]:
    """Plan the campaigns together and write their runs, exclusions, contacts and files.

    ``profiles`` (a table with ``profile_id``) restricts the base, e.g. to the customers a
    trigger fired for; an empty target is then not an error.  Profiles already planned, held
    out or dropped by an earlier run of the same campaign are skipped, so executing again
    contacts nobody twice; with ``trigger`` (an action run for each occurrence of an event),
    only those of a run on the same as-of date are.
    """
    planned = plan_campaigns(
        dm,
        settings,
        campaigns,
        as_of=as_of,
        profiles=profiles,
        triggered=trigger is not None,
        progress=progress,
    )
    executions: list[Execution] = []
    try:
        with (
            progress.task("Writing the contact history", total=len(planned)) as task,
            dm.transaction(),
        ):
            for item in planned:
                executions.append(_write(dm, item, as_of, out_dir, trigger))
                task.advance()
    finally:
        drop_work_tables(dm, planned)
    return [_with_files(dm, settings, e, out_dir, progress) for e in executions]


def _run_id(campaign: str, version: int, as_of: dt.date, trigger: str | None) -> str:
    stamp = utcnow().isoformat()
    text = f"{campaign}|{version}|{as_of}|{trigger or ''}|{stamp}"
    return "R" + hashlib.sha256(text.encode()).hexdigest()[:15]


def _write(
    dm: Datamart, item: Planned, as_of: dt.date, out_dir: Path, trigger: str | None
) -> Execution:
    campaign = item.campaign
    version = save_campaign(dm, campaign)
    run_id = _run_id(campaign.name, version, as_of, trigger)
    now = utcnow()
    offer = campaign.offer
    contacts = quote(item.contacts_table)
    # A deferred contact is a placeholder: the row this run writes for the profile replaces it.
    dm.sql(
        f"DELETE FROM contact_history WHERE campaign = ? AND status = 'deferred' "
        f"AND profile_id IN (SELECT profile_id FROM {contacts})",
        [campaign.name],
    )
    # contact_id: md5 of the campaign, the profile and the as-of date (the contact's key) on
    # every backend, so that the same contact always has the same id.
    dm.sql(
        "INSERT INTO contact_history (contact_id, run_id, campaign, version, profile_id, "
        "customer_id, channel, offer_id, status, group_name, planned_for, priority, "
        "score_decile, reason, created_at) "
        "SELECT md5(CAST(? AS TEXT) || '|' || profile_id || '|' || CAST(? AS TEXT)), "
        "CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT), profile_id, customer_id, "
        "channel, CAST(? AS TEXT), status, group_name, planned_for, priority, "
        f"score_decile, reason, CAST(? AS TIMESTAMP) FROM {contacts}",
        [
            campaign.name,
            as_of.isoformat(),
            run_id,
            campaign.name,
            version,
            offer.offer_id if offer else None,
            now,
        ],
    )
    dm.sql(
        "INSERT INTO campaign_exclusions (run_id, campaign, profile_id, step, reason) "
        "SELECT CAST(? AS TEXT), CAST(? AS TEXT), profile_id, step, reason "
        f"FROM {quote(item.excluded_table)}",
        [run_id, campaign.name],
    )
    counts = item.counts
    dm.sql(
        "INSERT INTO campaign_runs (run_id, campaign, version, as_of, executed_at, trigger, "
        "funnel, contacted, held_out, deferred, dropped, out_dir) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            campaign.name,
            version,
            as_of,
            now,
            trigger,
            json.dumps([s.as_dict() for s in item.funnel]),
            counts.get("planned", 0),
            counts.get("held_out", 0),
            counts.get("deferred", 0),
            counts.get("dropped", 0),
            str(out_dir),
        ],
    )
    return Execution(
        campaign=campaign,
        run_id=run_id,
        version=version,
        as_of=as_of,
        funnel=list(item.funnel),
        contacted=counts.get("planned", 0),
        held_out=counts.get("held_out", 0),
        deferred=counts.get("deferred", 0),
        dropped=counts.get("dropped", 0),
    )


def _with_files(
    dm: Datamart, settings: Settings, execution: Execution, out_dir: Path, progress: Progress
) -> Execution:
    if execution.contacted == 0:
        log.warning("campaign %s planned nobody: no channel file", execution.campaign.name)
        return execution
    campaign = execution.campaign
    offers = {
        o.offer_id: ChannelOffer(o.offer_id, o.name, o.arguments, o.script) for o in campaign.offers
    }
    paths: list[Path] = []
    with progress.task(f"Channel files of {campaign.name}"):
        for channel in campaign.channels:
            paths += write_channel_files(
                dm,
                settings,
                run_id=execution.run_id,
                campaign=campaign.name,
                channel=channel,
                offers=offers,
                out_dir=out_dir,
                as_of=execution.as_of,
            )
    # The files' last check may have moved planned contacts to dropped in the stored run:
    # report the counts as stored.
    [(contacted, held_out, deferred, dropped)] = dm.sql(
        "SELECT contacted, held_out, deferred, dropped FROM campaign_runs WHERE run_id = ?",
        [execution.run_id],
    )
    return dataclasses.replace(
        execution,
        contacted=int(contacted),
        held_out=int(held_out),
        deferred=int(deferred),
        dropped=int(dropped),
        files=list(paths),
    )
