"""Campaign definitions in the datamart: every version of the text, and the list of campaigns."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from clientela.campaigns.definition import Campaign, parse_campaign_text
from clientela.datamart import Datamart
from clientela.errors import NotFoundError, suggest

__all__ = [
    "CampaignInfo",
    "RunInfo",
    "campaign_runs",
    "list_campaigns",
    "load_campaign",
    "save_campaign",
    "utcnow",
]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class CampaignInfo:
    name: str
    version: int
    objective: str
    channel: str
    runs: int
    contacted: int
    held_out: int
    created_at: dt.datetime


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    version: int
    as_of: dt.date
    executed_at: dt.datetime
    trigger: str | None
    contacted: int
    held_out: int
    deferred: int
    dropped: int
    out_dir: str | None
    funnel: list[dict[str, Any]]


def save_campaign(dm: Datamart, campaign: Campaign) -> int:
    """Store the definition; a new version only when its text changed.  Returns the version."""
    rows = dm.sql(
        "SELECT version, definition FROM campaigns WHERE name = ? ORDER BY version DESC LIMIT 1",
        [campaign.name],
    )
    if rows and str(rows[0][1]) == campaign.text:
        return int(rows[0][0])
    version = int(rows[0][0]) + 1 if rows else 1
    with dm.transaction():
        dm.sql(
            "INSERT INTO campaigns (name, version, objective, definition, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [campaign.name, version, campaign.objective, campaign.text, utcnow()],
        )
    return version


def stored_version(dm: Datamart, campaign: Campaign) -> int | None:
    """The version whose text is the campaign's, if stored."""
    rows = dm.sql(
        "SELECT version FROM campaigns WHERE name = ? AND definition = ? ORDER BY version DESC",
        [campaign.name, campaign.text],
    )
    return int(rows[0][0]) if rows else None


def load_campaign(dm: Datamart, name: str, version: int | None = None) -> Campaign:
    """A stored campaign (its newest version by default); NotFoundError naming the close
    match."""
    if version is None:
        rows = dm.sql(
            "SELECT definition, version FROM campaigns WHERE name = ? "
            "ORDER BY version DESC LIMIT 1",
            [name],
        )
    else:
        rows = dm.sql(
            "SELECT definition, version FROM campaigns WHERE name = ? AND version = ?",
            [name, version],
        )
    if not rows:
        known = [str(r[0]) for r in dm.sql("SELECT DISTINCT name FROM campaigns ORDER BY name")]
        if version is not None and name in known:
            raise NotFoundError(f"campaign '{name}' has no version {version}")
        listed = ", ".join(known) if known else "none (run 'clientela campaign execute' first)"
        raise NotFoundError(
            f"no campaign '{name}'{suggest(name, known)}; the stored campaigns are: {listed}"
        )
    return parse_campaign_text(str(rows[0][0]), source=f"campaign '{name}' v{rows[0][1]}")


def list_campaigns(dm: Datamart) -> list[CampaignInfo]:
    """Every stored campaign (newest version) with its runs and the customers it touched."""
    latest = dm.records(
        "SELECT c.name, c.version, c.objective, c.definition, c.created_at FROM campaigns c "
        "JOIN (SELECT name, max(version) AS version FROM campaigns GROUP BY name) m "
        "ON c.name = m.name AND c.version = m.version ORDER BY c.name"
    )
    runs = {
        str(r["campaign"]): r
        for r in dm.records(
            "SELECT campaign, count(*) AS runs, sum(contacted) AS contacted, "
            "sum(held_out) AS held_out FROM campaign_runs GROUP BY campaign"
        )
    }
    found = []
    for row in latest:
        name = str(row["name"])
        run = runs.get(name, {})
        campaign = parse_campaign_text(str(row["definition"]), source=f"campaign '{name}'")
        found.append(
            CampaignInfo(
                name=name,
                version=int(row["version"]),
                objective=str(row["objective"] or ""),
                channel=", ".join(campaign.channels),
                runs=int(run.get("runs") or 0),
                contacted=int(run.get("contacted") or 0),
                held_out=int(run.get("held_out") or 0),
                created_at=row["created_at"],
            )
        )
    return found


def campaign_runs(dm: Datamart, name: str) -> list[RunInfo]:
    rows = dm.records(
        "SELECT * FROM campaign_runs WHERE campaign = ? ORDER BY executed_at, run_id", [name]
    )
    return [
        RunInfo(
            run_id=str(r["run_id"]),
            version=int(r["version"]),
            as_of=r["as_of"],
            executed_at=r["executed_at"],
            trigger=r["trigger"],
            contacted=int(r["contacted"] or 0),
            held_out=int(r["held_out"] or 0),
            deferred=int(r["deferred"] or 0),
            dropped=int(r["dropped"] or 0),
            out_dir=r["out_dir"],
            funnel=json.loads(r["funnel"]) if r["funnel"] else [],
        )
        for r in rows
    ]
