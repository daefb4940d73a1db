"""Priority, control group and capacity of a campaign's funnel, and the contacts it plans.

The priority (``priority_by``: score x value) orders the candidates left after pressure and
gives each its decile; the control group is drawn from them with a portable hash (md5 of the
seed and the profile id, the same on every backend); the rest fill the channel's capacity day
by day.  The contacts (planned, held out, deferred, dropped) land in the campaign's temporary
contacts table, and the planned ones in the execution's batch for the campaigns ranked after.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from clientela.campaigns._allocation import control_members, schedule, with_deciles
from clientela.campaigns._target_compile import latest_predictions, latest_scores
from clientela.campaigns.definition import Campaign
from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.backends import quote
from clientela.errors import ConfigError, suggest
from clientela.services._campaign_work import BATCH, FunnelStep, Work
from clientela.services._summary import scalar, summary_for

__all__ = ["allocate", "priority_scores"]


# -- priority, control group, capacity --------------------------------------------------------
def priority_scores(
    dm: Datamart, settings: Settings, campaign: Campaign, as_of: dt.date
) -> ir.Table | None:
    """``_priority_profile`` and ``priority`` (score x value), or None when both are none."""
    order = campaign.priority_by
    score: ir.Table | None = None
    summary: ir.Table | None = None
    if order.score == "rfm" or order.value != "none":
        summary = summary_for(dm, settings, as_of)[0]
    if order.value != "none":
        assert summary is not None
        known = [c for c in summary.columns if summary[c].type().is_numeric()]
        if order.value not in known:
            raise ConfigError(
                f"'priority_by.value': unknown KPI '{order.value}'{suggest(order.value, known)}",
                file=campaign.source_file,
            )
    if order.score == "rfm":
        assert summary is not None
        score = summary.select(
            _score_profile=summary.customer_id, _score=(summary.r + summary.f + summary.m)
        )
    elif order.score.startswith(("rule:", "model:")):
        kind, _, model = order.score.partition(":")
        scores = dm.table("score_snapshots" if kind == "rule" else "predictive_scores")
        if kind == "rule":
            latest = latest_scores(scores, model, as_of)
            column = latest.score
        else:
            latest = latest_predictions(scores, model, as_of)
            column = latest.probability
        if int(scalar(dm, latest.count())) == 0:
            dated = scores.filter(scores.as_of <= ibis.literal(as_of, type="date"))
            scored = sorted(dm.to_pyarrow(dated.select("model").distinct()).column(0).to_pylist())
            raise ConfigError(
                f"'priority_by.score': no scores of {'scoring' if kind == 'rule' else 'predictive'}"
                f" model '{model}' on or before {as_of}{suggest(model, scored)}; the models with "
                f"scores are: {', '.join(scored) or 'none'}",
                file=campaign.source_file,
            )
        score = latest.select(_score_profile=latest._subject_profile, _score=column)
    elif order.score != "none":
        raise ConfigError(
            f"'priority_by.score': '{order.score}' is not rfm, rule:MODEL, model:NAME or none",
            file=campaign.source_file,
        )
    if score is None and order.value == "none":
        return None
    base = dm.temp_table("_cmp_base")
    table = base.select(_priority_profile=base.profile_id)
    value: ir.NumericValue = ibis.literal(1.0)
    score_value: ir.NumericValue = ibis.literal(1.0)
    if order.value != "none":
        assert summary is not None
        values = summary.select(_value_profile=summary.customer_id, _value=summary[order.value])
        table = table.left_join(values, table._priority_profile == values._value_profile)
        value = table._value.cast("float64").fill_null(0.0)
    if score is not None:
        table = table.left_join(score, table._priority_profile == score._score_profile)
        score_value = table._score.cast("float64").fill_null(0.0)
    return table.select("_priority_profile", priority=score_value * value)


def allocate(
    dm: Datamart,
    settings: Settings,
    work: Work,
    reps: ir.Table,
    holdout_step: str | None,
    as_of: dt.date,
) -> None:
    item = work.planned
    campaign = item.campaign
    current = work.current
    priority = priority_scores(dm, settings, campaign, as_of)
    if priority is not None:
        joined = current.left_join(priority, current.profile_id == priority._priority_profile)
        ranked = joined.select("profile_id", priority=joined.priority.fill_null(0.0))
    else:
        ranked = current.select("profile_id", priority=ibis.literal(0.0))
    ranked_name = f"_cmp_{item.index}_ranked"
    dm.create_table_as(ranked_name, with_deciles(ranked), temp=True)
    ranked = dm.temp_table(ranked_name)
    control_name = f"_cmp_{item.index}_hashed"
    control = campaign.control
    if control is not None:
        # md5 is the same function on every backend, so the control group is too.
        # A profile deferred by an earlier run already had its draw: it is not drawn again.
        history = dm.table("contact_history")
        deferred = history.filter(
            history.campaign == campaign.name, history.status == "deferred"
        ).select("profile_id")
        drawable = ranked.anti_join(deferred, ranked.profile_id == deferred.profile_id)
        dm.create_table_as(
            control_name,
            drawable.select(
                "profile_id",
                "score_decile",
                lot=ibis.literal(f"{control.seed}:") + drawable.profile_id,
            ),
            temp=True,
        )
        dm.sql(f"UPDATE {quote(control_name)} SET lot = md5(lot)")
        hashed = dm.temp_table(control_name)
        chosen = control_members(
            hashed,
            fraction=control.percent / 100 if control.percent is not None else None,
            count=control.count,
            stratify=control.stratify == "decile",
        )
        current = work.current
        work.keep(current.anti_join(chosen, current.profile_id == chosen.profile_id), "control")
        control_rows = ranked.semi_join(chosen, ranked.profile_id == chosen.profile_id)
    else:
        item.funnel.append(FunnelStep("control", work.count, 0))
        control_rows = None
    current = work.current
    to_schedule = ranked.semi_join(current, ranked.profile_id == current.profile_id)
    several = len(campaign.channels) > 1
    if several:
        scheduled = _choose_channels(dm, work, to_schedule)
    else:
        scheduled = schedule(to_schedule, item.capacity, item.first_day).mutate(
            channel=ibis.literal(campaign.channel)
        )
    parts = [
        scheduled.select(
            "profile_id",
            status=scheduled.status,
            group_name=ibis.literal("target"),
            planned_for=scheduled.planned_for,
            priority=scheduled.priority,
            score_decile=scheduled.score_decile,
            reason=scheduled.reason,
            channel=scheduled.channel,
        )
    ]
    if control_rows is not None:
        if several:
            # Held out before any channel is chosen: the history names the first one open.
            pairs = dm.temp_table(item.open_table)
            rank = ibis.literal(0)
            for index, name in enumerate(campaign.channels):
                rank = ibis.ifelse(pairs.channel == name, index, rank)
            ranked_pairs = pairs.mutate(
                _first=ibis.row_number().over(group_by=pairs.profile_id, order_by=rank)
            )
            first = ranked_pairs.filter(ranked_pairs._first == 0).select(
                _open_profile=ranked_pairs.profile_id, _open_channel=ranked_pairs.channel
            )
            joined = control_rows.left_join(first, control_rows.profile_id == first._open_profile)
            control_rows = joined.select(
                *[joined[c] for c in control_rows.columns],
                channel=joined._open_channel.fill_null(campaign.channel),
            )
        else:
            control_rows = control_rows.mutate(channel=ibis.literal(campaign.channel))
        parts.append(
            control_rows.select(
                "profile_id",
                status=ibis.literal("held_out"),
                group_name=ibis.literal("control"),
                planned_for=ibis.literal(item.first_day),
                priority=control_rows.priority,
                score_decile=control_rows.score_decile,
                reason=ibis.literal("control group"),
                channel=control_rows.channel,
            )
        )
    if holdout_step is not None:
        excluded = dm.temp_table(item.excluded_table)
        held = excluded.filter(excluded.step == holdout_step)
        parts.append(
            held.select(
                "profile_id",
                status=ibis.literal("held_out"),
                group_name=ibis.literal("global_holdout"),
                planned_for=ibis.literal(item.first_day),
                priority=ibis.null("float64"),
                score_decile=ibis.null("int64"),
                reason=ibis.literal("global hold-out"),
                channel=ibis.literal(campaign.channel),
            )
        )
    contacts = parts[0]
    for part in parts[1:]:
        contacts = contacts.union(part, distinct=False)
    with_customer = contacts.left_join(reps, contacts.profile_id == reps.profile_id)
    contacts = with_customer.select(
        contacts.profile_id,
        customer_id=with_customer.customer_id.fill_null(contacts.profile_id),
        status=contacts.status,
        group_name=contacts.group_name,
        planned_for=contacts.planned_for,
        priority=contacts.priority,
        score_decile=contacts.score_decile,
        reason=contacts.reason,
        channel=contacts.channel,
    )
    dm.create_table_as(item.contacts_table, contacts, temp=True)
    table = dm.temp_table(item.contacts_table)
    counts = table.group_by("status").aggregate(n=table.count())
    found = {str(r["status"]): int(r["n"]) for r in dm.to_pyarrow(counts).to_pylist()}
    item.counts = {s: found.get(s, 0) for s in ("planned", "held_out", "deferred", "dropped")}
    planned = item.counts["planned"]
    item.funnel.append(FunnelStep("capacity", planned, work.count - planned))
    item.funnel.append(FunnelStep("final", planned, 0))
    if several:
        on_channel = table.filter(table.status == "planned")
        on = on_channel.group_by("channel").aggregate(n=on_channel.count())
        per_channel = {str(r["channel"]): int(r["n"]) for r in dm.to_pyarrow(on).to_pylist()}
        for name in campaign.channels:
            item.funnel.append(FunnelStep(f"channel:{name}", per_channel.get(name, 0), 0))
    batch_rows = table.filter(table.status == "planned").select(
        campaign=ibis.literal(campaign.name),
        profile_id=table.profile_id,
        channel=table.channel,
        planned_for=table.planned_for,
    )
    dm.sql(
        f"INSERT INTO {quote(BATCH)} (campaign, profile_id, channel, planned_for) "
        + dm.compile(batch_rows)
    )


def _choose_channels(dm: Datamart, work: Work, to_schedule: ir.Table) -> ir.Table:
    """Several channels: each profile on the first channel, in the campaign's order, that is
    open for it and whose capacity has room (in priority order, as one channel fills); a
    profile no channel has room for is deferred or dropped by the last one open for it."""
    item = work.planned
    channels = item.campaign.channels
    chosen = f"_cmp_{item.index}_chosen"
    pairs = dm.temp_table(item.open_table)
    for rank, channel in enumerate(channels):
        done = dm.temp_table(chosen) if rank else None
        left = to_schedule
        if done is not None:
            left = left.anti_join(done, left.profile_id == done.profile_id)
        on_channel = pairs.filter(pairs.channel == channel)
        left = left.semi_join(on_channel, left.profile_id == on_channel.profile_id)
        scheduled = schedule(left, item.capacity_of(channel), item.first_day_of(channel))
        later = pairs.filter(pairs.channel.isin(list(channels[rank + 1 :])))
        has_later = scheduled.profile_id.isin(later.profile_id)
        settled = scheduled.filter((scheduled.status == "planned") | ~has_later).select(
            "profile_id",
            "priority",
            "score_decile",
            "planned_for",
            "status",
            "reason",
            channel=ibis.literal(channel),
        )
        if done is None:
            dm.create_table_as(chosen, settled, temp=True)
        else:
            columns = ", ".join(settled.columns)
            dm.sql(f"INSERT INTO {quote(chosen)} ({columns}) " + dm.compile(settled))
    return dm.temp_table(chosen)
