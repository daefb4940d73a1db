"""Running triggers on the datamart: detect, fire each occurrence once, act, log.

A pass evaluates every trigger of a file on the day ``as_of``:

1. its event's occurrences are detected with one Ibis expression
   (:mod:`clientela.campaigns._trigger_events`);
2. the occurrences already fired are removed by an anti-join with ``trigger_firings`` on
   (trigger, occurrence): a second pass fires nothing new (idempotent);
3. the new firings are acted on: a campaign action executes the campaign restricted to the
   fired profiles (:func:`clientela.services.campaigns.execute_campaigns`), so its exclusions,
   contact pressure, control group and capacity apply; a webhook action POSTs one JSON
   document per firing;
4. every firing is logged in ``trigger_firings`` with its action and result; the change
   triggers record the values seen in ``trigger_state`` for the next pass.

A webhook that fails (an HTTP error status, a timeout, a refused connection) is logged as
``failed: ...`` and retried on the next pass, up to the action's ``max_attempts``; every attempt
stays in the log.  A campaign action that raises leaves no firing behind: the next pass tries
again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from clientela.campaigns._trigger_events import current_values
from clientela.campaigns.definition import Campaign, parse_campaign_file
from clientela.campaigns.triggers import Trigger, TriggerTables, detect
from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.progress import NO_PROGRESS, Progress
from clientela.services._summary import scalar, summary_expression

__all__ = [
    "TriggerOutcome",
    "TriggerPass",
    "firing_log",
    "resolve_campaigns",
    "run_triggers",
    "watch_triggers",
]

log = logging.getLogger(__name__)

FAILED = "failed"
PENDING = "pending"


@dataclass(frozen=True)
class TriggerOutcome:
    """One trigger in one pass: occurrences seen, new firings and their results."""

    trigger: str
    event: str
    action: str
    occurrences: int
    fired: int
    results: dict[str, int] = field(default_factory=dict)
    baseline: bool = False
    """True on the first pass of a change trigger: the values were recorded, nothing fired."""
    run_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "event": self.event,
            "action": self.action,
            "occurrences": self.occurrences,
            "fired": self.fired,
            "results": dict(self.results),
            "baseline": self.baseline,
            "run_id": self.run_id,
        }


@dataclass(frozen=True)
class TriggerPass:
    as_of: dt.date
    fired_at: dt.datetime
    outcomes: list[TriggerOutcome]

    @property
    def fired(self) -> int:
        return sum(o.fired for o in self.outcomes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "fired_at": self.fired_at.isoformat(),
            "fired": self.fired,
            "triggers": [o.as_dict() for o in self.outcomes],
        }


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def resolve_campaigns(dm: Datamart, triggers: Sequence[Trigger]) -> dict[str, Campaign]:
    """The campaign of each campaign action, by trigger name; NotFoundError (with the close
    match) for a stored campaign that does not exist, before anything fires."""
    from clientela.services.campaigns import load_campaign

    found: dict[str, Campaign] = {}
    for trigger in triggers:
        action = trigger.action
        if action.campaign_file is not None:
            found[trigger.name] = parse_campaign_file(action.campaign_file)
        elif action.campaign is not None:
            found[trigger.name] = load_campaign(dm, action.campaign)
    return found


def run_triggers(
    dm: Datamart,
    settings: Settings,
    triggers: Sequence[Trigger],
    *,
    as_of: dt.date,
    out_dir: Path,
    progress: Progress = NO_PROGRESS,
) -> TriggerPass:
    """One pass over ``triggers`` on the day ``as_of`` (module docstring)."""
    campaigns = resolve_campaigns(dm, triggers)
    fired_at = _utcnow()
    tables = TriggerTables(dm.table, lambda: summary_expression(dm, settings, as_of))
    outcomes: list[TriggerOutcome] = []
    with progress.task("Running triggers", total=len(triggers)) as task:
        for trigger in triggers:
            outcomes.append(
                _run_one(
                    dm,
                    settings,
                    trigger,
                    tables,
                    as_of=as_of,
                    fired_at=fired_at,
                    out_dir=out_dir,
                    campaign=campaigns.get(trigger.name),
                )
            )
            task.advance()
    return TriggerPass(as_of=as_of, fired_at=fired_at, outcomes=outcomes)


def watch_triggers(
    dm: Datamart,
    settings: Settings,
    triggers: Sequence[Trigger],
    *,
    out_dir: Path,
    as_of: dt.date | None = None,
    interval: float = 60.0,
    max_passes: int | None = None,
    on_pass: Callable[[int, TriggerPass], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: Progress = NO_PROGRESS,
) -> list[TriggerPass]:
    """Run passes every ``interval`` seconds (``max_passes`` of them, or until interrupted);
    each pass picks up the rows added since the previous one.  ``as_of`` defaults to the day
    of each pass (UTC).  ``on_pass`` is called after each pass with its number (from 1)."""
    passes: list[TriggerPass] = []
    number = 0
    while max_passes is None or number < max_passes:
        number += 1
        day = as_of or _utcnow().date()
        done = run_triggers(dm, settings, triggers, as_of=day, out_dir=out_dir, progress=progress)
        passes.append(done)
        if on_pass is not None:
            on_pass(number, done)
        if max_passes is not None and number >= max_passes:
            break
        sleep(interval)
    return passes


# -- one trigger ---------------------------------------------------------------------------------
def _fired_before(dm: Datamart, trigger: Trigger) -> ir.Table:
    """Occurrences of ``trigger`` not to fire again: fired, or failed ``max_attempts`` times."""
    firings = dm.table("trigger_firings")
    mine = firings.filter(firings.trigger == trigger.name)
    failed = mine.result.startswith(FAILED)
    per_occurrence = mine.group_by("occurrence").aggregate(
        _ok=mine.count(where=~failed), _failed=mine.count(where=failed)
    )
    done = per_occurrence.filter(
        (per_occurrence._ok > 0) | (per_occurrence._failed >= trigger.action.max_attempts)
    )
    return done.select(_done=done.occurrence)


def _new_occurrences(dm: Datamart, found: ir.Table, trigger: Trigger) -> ir.Table:
    # One row per occurrence (the first when a detection repeats one).
    rank = ibis.row_number().over(
        group_by=found.occurrence, order_by=[found.occurred_at, found.detail]
    )
    single = found.mutate(_rank=rank)
    single = single.filter(single._rank == 0).drop("_rank")
    done = _fired_before(dm, trigger)
    fresh = single.anti_join(done, single.occurrence == done._done)
    return fresh.order_by(["profile_id", "occurrence"])


def _state(dm: Datamart, trigger: Trigger) -> ir.Table:
    state = dm.table("trigger_state")
    return state.filter(state.trigger == trigger.name)


def _run_one(
    dm: Datamart,
    settings: Settings,
    trigger: Trigger,
    tables: TriggerTables,
    *,
    as_of: dt.date,
    fired_at: dt.datetime,
    out_dir: Path,
    campaign: Campaign | None,
) -> TriggerOutcome:
    action = f"campaign {campaign.name}" if campaign is not None else trigger.action.label
    if trigger.stateful:
        state = _state(dm, trigger)
        if int(scalar(dm, state.count())) == 0:
            _record_state(dm, trigger, tables, fired_at)
            log.info("trigger %s: baseline recorded, nothing fires", trigger.name)
            return TriggerOutcome(trigger.name, trigger.event, action, 0, 0, baseline=True)
        found = detect(tables, as_of, trigger.options, state)
    else:
        found = detect(tables, as_of, trigger.options)
    occurrences = int(scalar(dm, found.count()))
    fresh = dm.to_pyarrow(_new_occurrences(dm, found, trigger)) if occurrences else None
    outcome = TriggerOutcome(trigger.name, trigger.event, action, occurrences, 0)
    if fresh is not None and fresh.num_rows:
        if campaign is not None:
            outcome = _to_campaign(
                dm, settings, trigger, campaign, fresh, outcome, as_of, fired_at, out_dir
            )
        else:
            outcome = _to_webhook(dm, trigger, fresh, outcome, fired_at)
    if trigger.stateful:
        _record_state(dm, trigger, tables, fired_at)
    log.info(
        "trigger %s: %d occurrences, %d fired %s",
        trigger.name,
        occurrences,
        outcome.fired,
        outcome.results,
    )
    return outcome


def _record_state(
    dm: Datamart, trigger: Trigger, tables: TriggerTables, recorded_at: dt.datetime
) -> None:
    values = current_values(tables, trigger.options)
    rows = values.select(
        trigger=ibis.literal(trigger.name, type="string"),
        profile_id=values.profile_id,
        value=values.value,
        recorded_at=ibis.literal(recorded_at, type="timestamp"),
    )
    with dm.transaction():
        dm.sql("DELETE FROM trigger_state WHERE trigger = ?", [trigger.name])
        dm.sql(
            "INSERT INTO trigger_state (trigger, profile_id, value, recorded_at) "
            + dm.compile(rows)
        )


def _log_rows(
    fresh: pa.Table, trigger: Trigger, action: str, results: Sequence[str], fired_at: dt.datetime
) -> pa.Table:
    n = fresh.num_rows
    return pa.table(
        {
            "trigger": pa.array([trigger.name] * n, pa.string()),
            "occurrence": fresh.column("occurrence"),
            "profile_id": fresh.column("profile_id"),
            "occurred_at": fresh.column("occurred_at").cast(pa.timestamp("us")),
            "fired_at": pa.array([fired_at] * n, pa.timestamp("us")),
            "action": pa.array([action] * n, pa.string()),
            "result": pa.array(list(results), pa.string()),
            "detail": fresh.column("detail"),
        }
    )


def _to_campaign(
    dm: Datamart,
    settings: Settings,
    trigger: Trigger,
    campaign: Campaign,
    fresh: pa.Table,
    outcome: TriggerOutcome,
    as_of: dt.date,
    fired_at: dt.datetime,
    out_dir: Path,
) -> TriggerOutcome:
    from clientela.services.campaigns import execute_campaigns

    action = f"campaign {campaign.name}"
    dm.bulk_insert(
        "trigger_firings", _log_rows(fresh, trigger, action, [PENDING] * fresh.num_rows, fired_at)
    )
    firings = dm.table("trigger_firings")
    mine = (firings.trigger == trigger.name) & (firings.result == PENDING)
    profiles = firings.filter(mine).select("profile_id").distinct()
    try:
        executions = execute_campaigns(
            dm,
            settings,
            [campaign],
            as_of=as_of,
            out_dir=out_dir,
            profiles=profiles,
            trigger=trigger.name,
        )
    except BaseException:
        dm.sql(
            "DELETE FROM trigger_firings WHERE trigger = ? AND result = ?",
            [trigger.name, PENDING],
        )
        raise
    run_id = executions[0].run_id if executions else None
    _campaign_results(dm, trigger, campaign.name, run_id, f"{action} (run {run_id})", as_of)
    rows = dm.sql(
        "SELECT result, count(*) FROM trigger_firings WHERE trigger = ? AND fired_at = ? "
        "GROUP BY result ORDER BY result",
        [trigger.name, fired_at],
    )
    results = {str(r): int(c) for r, c in rows}
    return TriggerOutcome(
        outcome.trigger,
        outcome.event,
        action,
        outcome.occurrences,
        fresh.num_rows,
        results,
        run_id=run_id,
    )


def _campaign_results(
    dm: Datamart,
    trigger: Trigger,
    campaign: str,
    run_id: str | None,
    action: str,
    as_of: dt.date,
) -> None:
    """Each pending firing's result: what the campaign run did with its profile."""
    dm.sql(
        "UPDATE trigger_firings SET action = ?, result = COALESCE("
        "(SELECT CASE WHEN min(ch.status) = 'planned' THEN 'sent' "
        " WHEN min(ch.status) = 'held_out' AND min(ch.group_name) = 'global_holdout' "
        " THEN 'held_out: global hold-out' "
        " WHEN min(ch.status) = 'held_out' THEN 'held_out: control group' "
        " ELSE min(ch.status) END "
        " FROM contact_history ch WHERE ch.run_id = ? "
        " AND ch.profile_id = trigger_firings.profile_id), "
        "(SELECT 'excluded: ' || min(ce.reason) FROM campaign_exclusions ce "
        " WHERE ce.run_id = ? AND ce.profile_id = trigger_firings.profile_id), "
        # A triggered run skips only the profiles a run of the same day planned, held out or
        # dropped (see plan_campaigns): an older contact does not keep a profile out.
        "(SELECT min('skipped: already in the campaign') FROM contact_history earlier "
        " JOIN campaign_runs r ON r.run_id = earlier.run_id "
        " WHERE earlier.campaign = ? AND r.as_of = ? "
        " AND earlier.status IN ('planned', 'held_out', 'dropped') "
        " AND earlier.profile_id = trigger_firings.profile_id), "
        "'skipped: not in the campaign target') "
        "WHERE trigger = ? AND result = ?",
        [action, run_id, run_id, campaign, as_of, trigger.name, PENDING],
    )


def _to_webhook(
    dm: Datamart, trigger: Trigger, fresh: pa.Table, outcome: TriggerOutcome, fired_at: dt.datetime
) -> TriggerOutcome:
    url = trigger.action.webhook
    assert url is not None
    results = [
        _post(url, _document(trigger, row, fired_at), trigger.action.timeout)
        for row in fresh.to_pylist()
    ]
    dm.bulk_insert(
        "trigger_firings", _log_rows(fresh, trigger, f"webhook {url}", results, fired_at)
    )
    counted = Counter(r if r.startswith(FAILED) else "sent" for r in results)
    return TriggerOutcome(
        outcome.trigger,
        outcome.event,
        outcome.action,
        outcome.occurrences,
        fresh.num_rows,
        dict(sorted(counted.items())),
    )


def _document(trigger: Trigger, row: dict[str, Any], fired_at: dt.datetime) -> dict[str, Any]:
    occurred = row["occurred_at"]
    return {
        "trigger": trigger.name,
        "event": trigger.event,
        "occurrence": row["occurrence"],
        "profile_id": row["profile_id"],
        "occurred_at": occurred.isoformat() if occurred is not None else None,
        "detail": row["detail"],
        "fired_at": fired_at.isoformat(),
    }


def _post(url: str, document: dict[str, Any], timeout: float) -> str:
    body = json.dumps(document).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "clientela-triggers"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return f"sent: HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"{FAILED}: HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{FAILED}: {reason}"


# -- the log -------------------------------------------------------------------------------------
def firing_log(
    dm: Datamart, *, trigger: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest firings first (of one trigger when given)."""
    firings = dm.table("trigger_firings")
    if trigger is not None:
        firings = firings.filter(firings.trigger == trigger)
    newest = firings.order_by([firings.fired_at.desc(), firings.trigger, firings.occurrence]).limit(
        limit
    )
    return [dict(row) for row in dm.to_pyarrow(newest).to_pylist()]
