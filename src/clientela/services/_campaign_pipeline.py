"""The campaign funnel on the datamart: base, target, exclusions, pressure, control, capacity.

Every step is one or two set-based queries whose result is materialised as a temporary table
(``_cmp_*``), so that the next step reads a small table rather than re-running the chain; the
only per-item loops are over campaigns, exclusion rules and pressure rules.  Campaigns run in
the order of their rank (priority, then weight, then name): the contacts a campaign plans count
for the pressure and the incompatibilities of the ones after it, which is how the priority
decides who wins a contested customer.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from clientela.campaigns import _exclusions as rules
from clientela.campaigns._allocation import pressure_violations
from clientela.campaigns.definition import Campaign, Exclusion, PressureRule, parse_campaign_text
from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.errors import ConfigError, DataError
from clientela.progress import NO_PROGRESS, Progress
from clientela.services._campaign_allocate import allocate, priority_scores
from clientela.services._campaign_target import target_members
from clientela.services._campaign_work import BATCH, FunnelStep, Planned, Work
from clientela.services._segment_base import segment_members
from clientela.services._segment_store import load_segment

__all__ = ["FunnelStep", "Planned", "drop_work_tables", "plan_campaigns"]

_PROFILES = "_cmp_profiles"
_REPS = "_cmp_reps"
_PLANNED_SCHEMA = {
    "campaign": "string",
    "profile_id": "string",
    "channel": "string",
    "planned_for": "date",
}
_EXCLUDED_SCHEMA = {"profile_id": "string", "step": "string", "reason": "string"}
_LOST_SCHEMA = {"profile_id": "string", "channel_rank": "int64", "reason": "string"}
# The exclusions whose verdict depends on the channel (several channels: per channel).
_PER_CHANNEL = frozenset({"consent", "do_not_contact", "no_address"})
_ADDRESS = {
    "email": "e-mail address",
    "call": "phone number",
    "sms": "phone number",
    "mail": "postal address",
    "ads": "e-mail or phone",
    "push": "address",
}


def drop_work_tables(dm: Datamart, planned: list[Planned]) -> None:
    for item in planned:
        for suffix in (
            "candidates",
            "candidates_next",
            "contacts",
            "excluded",
            "ranked",
            "hashed",
            "removed",
            "open",
            "lost",
            "chosen",
        ):
            dm.drop_table(f"_cmp_{item.index}_{suffix}")
    dm.drop_table(BATCH)
    dm.drop_table(_PROFILES)
    dm.drop_table("_cmp_base")
    dm.drop_table(_REPS)


def plan_campaigns(
    dm: Datamart,
    settings: Settings,
    campaigns: list[Campaign],
    *,
    as_of: dt.date,
    profiles: ir.Table | None = None,
    triggered: bool = False,
    progress: Progress = NO_PROGRESS,
) -> list[Planned]:
    """Run the funnel of every campaign (in rank order) into temporary tables.

    ``triggered``: a trigger's action, which may contact a customer again on another day (each
    occurrence of its event fires once); otherwise a campaign contacts a customer once.  The
    caller drops the tables with :func:`drop_work_tables` once written or shown.
    """
    names = [c.name for c in campaigns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"campaign '{repeated[0]}' is given twice")
    ordered = sorted(campaigns, key=lambda c: c.rank())
    for campaign in ordered:
        _check_dates(campaign, as_of)
    identity = dm.table("identity")
    base = identity.select("profile_id").distinct()
    if profiles is not None:
        # Through Arrow: the restriction may be an in-memory table that SQL cannot name.
        ids = dm.to_pyarrow(profiles.select("profile_id").distinct())
        dm.drop_table(_PROFILES)
        dm.create_table(_PROFILES, {"profile_id": "string"}, temp=True)
        dm.bulk_insert(_PROFILES, ids)
        chosen = dm.temp_table(_PROFILES)
        base = base.semi_join(chosen, base.profile_id == chosen.profile_id)
    dm.create_table_as("_cmp_base", base, temp=True)
    # Each profile's representative customer record: read by several exclusions.
    dm.create_table_as(_REPS, rules.representatives(identity), temp=True)
    dm.drop_table(BATCH)
    dm.create_table(BATCH, _PLANNED_SCHEMA, temp=True)
    done: list[Planned] = []
    try:
        for campaign in ordered:  # a wrong priority_by fails before any work
            priority_scores(dm, settings, campaign, as_of)
        with progress.task("Campaign funnel", total=len(ordered)) as task:
            for index, campaign in enumerate(ordered):
                task.update(description=f"Campaign {campaign.name}")
                item = Planned(
                    campaign,
                    index,
                    _first_day(campaign, as_of, campaign.channel),
                    first_days={c: _first_day(campaign, as_of, c) for c in campaign.channels},
                )
                done.append(item)
                _plan_one(dm, settings, item, ordered[:index], as_of, profiles is None, triggered)
                task.advance()
    except BaseException:
        drop_work_tables(dm, done)
        raise
    return done


def _check_dates(campaign: Campaign, as_of: dt.date) -> None:
    if campaign.ends is not None and as_of > campaign.ends:
        raise ConfigError(
            f"campaign '{campaign.name}' ended on {campaign.ends}; the as-of date is {as_of}",
            file=campaign.source_file,
        )


def _first_day(campaign: Campaign, as_of: dt.date, channel: str) -> dt.date:
    capacity = campaign.capacity_for(channel)
    if capacity is not None and capacity.start is not None:
        return max(capacity.start, as_of)
    if campaign.starts is not None:
        return max(campaign.starts, as_of)
    return as_of


def _last_day(item: Planned) -> dt.date:
    return item.last_day_of(item.campaign.channel)


def _plan_one(
    dm: Datamart,
    settings: Settings,
    item: Planned,
    earlier: list[Campaign],
    as_of: dt.date,
    empty_is_error: bool,
    triggered: bool,
) -> None:
    campaign = item.campaign
    work = Work(dm, item)
    dm.drop_table(item.excluded_table)
    dm.create_table(item.excluded_table, _EXCLUDED_SCHEMA, temp=True)
    base = dm.temp_table("_cmp_base")
    work.keep(base, "base")
    total = work.count
    members = _members(dm, settings, campaign, as_of)
    if members is not None:
        current = work.current
        work.keep(current.semi_join(members, current.profile_id == members.profile_id), "target")
    else:
        item.funnel.append(FunnelStep("target", work.count, 0))
    if work.count == 0 and empty_is_error:
        drop_work_tables(dm, [item])
        raise DataError(
            f"the target of campaign '{campaign.name}' selects nobody among the {total:,} "
            f"profiles on {as_of}: nothing to preview or execute; widen the target",
            file=campaign.source_file,
            rule="empty target",
        )
    history = dm.table("contact_history")
    done_before = history.filter(
        history.campaign == campaign.name, history.status.isin(["planned", "held_out", "dropped"])
    )
    if triggered:
        runs = dm.table("campaign_runs")
        same_day = runs.filter(runs.campaign == campaign.name, runs.as_of == as_of)
        done_before = done_before.semi_join(same_day, done_before.run_id == same_day.run_id)
    done_before = done_before.select("profile_id")
    current = work.current
    work.keep(
        current.anti_join(done_before, current.profile_id == done_before.profile_id),
        "already_in_campaign",
    )
    if len(campaign.channels) > 1:
        _open_channels(dm, work)
    reps = dm.temp_table(_REPS)
    holdout_step = _exclusions(dm, settings, work, reps, earlier, as_of)
    _pressure(dm, settings, work, _last_day(item))
    allocate(dm, settings, work, reps, holdout_step, as_of)


def _open_channels(dm: Datamart, work: Work) -> None:
    """Several channels: every candidate starts open on every channel of the campaign."""
    item = work.planned
    current = work.current
    parts = [
        current.select("profile_id", channel=ibis.literal(channel))
        for channel in item.campaign.channels
    ]
    pairs = parts[0]
    for part in parts[1:]:
        pairs = pairs.union(part, distinct=False)
    dm.create_table_as(item.open_table, pairs, temp=True)
    dm.drop_table(item.lost_table)
    dm.create_table(item.lost_table, _LOST_SCHEMA, temp=True)


def _members(
    dm: Datamart, settings: Settings, campaign: Campaign, as_of: dt.date
) -> ir.Table | None:
    if campaign.target is not None:
        return target_members(dm, settings, campaign.target, as_of)
    if campaign.segment is not None:
        return segment_members(dm, settings, load_segment(dm, campaign.segment), as_of)
    return None


# -- exclusions --------------------------------------------------------------------------------
def _exclusions(
    dm: Datamart,
    settings: Settings,
    work: Work,
    reps: ir.Table,
    earlier: list[Campaign],
    as_of: dt.date,
) -> str | None:
    """Apply the exclusions in order; the global hold-out's step when it removed someone."""
    campaign = work.planned.campaign
    holdout_step = None
    several = len(campaign.channels) > 1
    for exclusion in campaign.exclusions:
        if several and exclusion.rule in _PER_CHANNEL:
            # Removed only when no channel is left; the reason is its first channel's.
            for channel in campaign.channels:
                removed, reason = _rule(
                    dm, settings, campaign, exclusion, reps, earlier, as_of, channel
                )
                work.lose(channel, removed, reason)
            work.remove_lost(exclusion.name)
            continue
        removed, reason = _rule(
            dm, settings, campaign, exclusion, reps, earlier, as_of, campaign.channel
        )
        count = work.remove(removed, exclusion.name, reason)
        if exclusion.rule == "global_holdout" and count:
            holdout_step = exclusion.name
    listed_by_earlier = any(campaign.name in c.incompatible_with for c in earlier)
    if listed_by_earlier and all(e.rule != "incompatible" for e in campaign.exclusions):
        removed, reason = _incompatible(dm, campaign, earlier, as_of)
        work.remove(removed, "incompatible", reason)
    return holdout_step


def _rule(
    dm: Datamart,
    settings: Settings,
    campaign: Campaign,
    exclusion: Exclusion,
    reps: ir.Table,
    earlier: list[Campaign],
    as_of: dt.date,
    channel: str,
) -> tuple[ir.Table, str]:
    identity = dm.table("identity")
    customers = dm.table("customers")
    if exclusion.rule == "consent":
        required = settings.campaigns.require_opt_in
        removed = rules.no_consent(
            identity, reps, dm.table("consents"), channel, campaign.purpose, required
        )
        return removed, f"no consent for {channel} ({campaign.purpose}) or an opt-out"
    if exclusion.rule == "do_not_contact":
        removed = rules.do_not_contact_matches(
            identity, customers, dm.table("do_not_contact"), channel
        )
        return removed, "on a do-not-contact list"
    if exclusion.rule == "no_address":
        return rules.address_missing(reps, customers, channel), f"no {_ADDRESS[channel]}"
    if exclusion.rule == "open_issues":
        removed = rules.open_issues(identity, dm.table("interactions"), exclusion.kinds)
        return removed, "an open " + " or ".join(exclusion.kinds)
    if exclusion.rule == "global_holdout":
        return rules.in_global_holdout(dm.table("global_holdout"), as_of), "in the global hold-out"
    if exclusion.rule == "minors":
        removed = rules.under_age(reps, customers, exclusion.min_age, as_of)
        return removed, f"under {exclusion.min_age}"
    if exclusion.rule == "incompatible":
        return _incompatible(dm, campaign, earlier, as_of)
    assert exclusion.rule == "custom" and exclusion.target is not None
    return target_members(dm, settings, exclusion.target, as_of), exclusion.name


def _incompatible(
    dm: Datamart, campaign: Campaign, earlier: list[Campaign], as_of: dt.date
) -> tuple[ir.Table, str]:
    """Profiles planned in a running campaign that this one is incompatible with: listed in
    its ``incompatible_with``, or (in the same run) listing it."""
    listed = set(campaign.incompatible_with)
    in_batch = {c.name for c in earlier if c.name in listed or campaign.name in c.incompatible_with}
    running = [n for n in sorted(listed | in_batch) if _running(dm, n, as_of)]
    history = dm.table("contact_history")
    in_running = history.campaign.isin(running) if running else ibis.literal(False)
    stored = history.filter(in_running, history.status == "planned").select("profile_id")
    batch = dm.temp_table(BATCH)
    in_earlier = batch.campaign.isin(sorted(in_batch)) if in_batch else ibis.literal(False)
    batch_rows = batch.filter(in_earlier).select("profile_id")
    names = ", ".join(sorted(in_batch | set(running))) or "none running"
    return stored.union(batch_rows, distinct=True), f"in an incompatible campaign ({names})"


def _running(dm: Datamart, name: str, as_of: dt.date) -> bool:
    rows = dm.sql(
        "SELECT definition FROM campaigns WHERE name = ? ORDER BY version DESC LIMIT 1", [name]
    )
    if not rows:
        return False
    other = parse_campaign_text(str(rows[0][0]), source=f"campaign '{name}'")
    starts_ok = other.starts is None or other.starts <= as_of
    return starts_ok and (other.ends is None or as_of <= other.ends)


# -- pressure ----------------------------------------------------------------------------------
def _pressure(dm: Datamart, settings: Settings, work: Work, last_day: dt.date) -> None:
    """Remove the candidates one more contact would push over a limit (global limits from the
    settings first, then the campaign's), counting the planned contacts of the history and of
    the campaigns planned before in this run."""
    campaign = work.planned.campaign
    limits = [
        PressureRule(p.channel, p.max, p.days, p.min_gap_days) for p in settings.campaigns.pressure
    ]
    limits += list(campaign.pressure)
    before = work.count
    history = dm.table("contact_history")
    planned = history.filter(history.status == "planned").select(
        "profile_id", "channel", "planned_for"
    )
    batch = dm.temp_table(BATCH).select("profile_id", "channel", "planned_for")
    planned = planned.union(batch, distinct=False)
    item = work.planned
    if len(campaign.channels) > 1:
        # A channel closes for a profile when one of its limits is full there; the profile
        # goes when every channel has closed.
        for channel in campaign.channels:
            for rule in limits:
                pairs = dm.temp_table(item.open_table)
                on_channel = pairs.filter(pairs.channel == channel).select("profile_id")
                removed = pressure_violations(
                    on_channel,
                    planned,
                    rule,
                    channel,
                    item.first_day_of(channel),
                    item.last_day_of(channel),
                )
                work.lose(channel, removed, rule.label)
        work.remove_lost("pressure")
        return
    for rule in limits:
        current = work.current
        removed = pressure_violations(
            current, planned, rule, campaign.channel, work.planned.first_day, last_day
        )
        work.remove(removed, "pressure", rule.label)
        work.planned.funnel.pop()
    removed_total = before - work.count
    work.planned.funnel.append(FunnelStep("pressure", work.count, removed_total))
