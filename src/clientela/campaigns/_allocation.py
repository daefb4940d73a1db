"""Contact pressure, priority, control groups and channel capacity as Ibis expressions.

Backend-free.  Pressure is checked conservatively: a campaign whose capacity spreads contacts
over the days ``first_day`` to ``last_day`` removes a profile when a rule's window around *any*
of those days is already full, so that wherever the contact lands no sliding window holds more
than the rule allows.  A minimum gap of N days is the rule "at most one contact in any N days".
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from clientela.campaigns.definition import Capacity, PressureRule

__all__ = ["control_members", "pressure_violations", "schedule", "with_deciles"]


def pressure_violations(
    candidates: ir.Table,
    planned: ir.Table,
    rule: PressureRule,
    channel: str,
    first_day: dt.date,
    last_day: dt.date,
) -> ir.Table:
    """Candidates (``profile_id``) that one more contact on ``channel`` between ``first_day``
    and ``last_day`` would push over ``rule``; ``planned`` holds the planned contacts
    (``profile_id``, ``channel``, ``planned_for``)."""
    if rule.channel is not None and rule.channel != channel:
        return candidates.filter(ibis.literal(False)).select("profile_id")
    if rule.allowed <= 0:
        return candidates.select("profile_id")
    reach = dt.timedelta(days=rule.window_days - 1)
    window = planned.filter(
        planned.planned_for >= first_day - reach, planned.planned_for <= last_day + reach
    )
    if rule.channel is not None:
        window = window.filter(window.channel == rule.channel)
    counts = window.group_by(_profile=window.profile_id).aggregate(contacts=window.count())
    full = counts.filter(counts.contacts >= rule.allowed)
    joined = candidates.inner_join(full, candidates.profile_id == full._profile)
    return joined.select("profile_id")


def with_deciles(ranked: ir.Table) -> ir.Table:
    """Add ``score_decile`` (1 = the highest ``priority``; ties broken by ``profile_id``)."""
    position = ibis.row_number().over(
        order_by=[ibis.desc(ranked.priority), ranked.profile_id.asc()]
    )
    total = ranked.count().as_scalar()
    with_position = ranked.mutate(_position=position, _total=total)
    decile = (with_position._position * 10 / with_position._total).floor().cast("int64") + 1
    return with_position.mutate(score_decile=decile).drop("_position", "_total")


def control_members(
    hashed: ir.Table, *, fraction: float | None, count: int | None, stratify: bool
) -> ir.Table:
    """The control group (``profile_id``) from ``hashed`` (``profile_id``, ``score_decile``,
    ``lot``: a portable hash of the seed and the profile id).

    ``fraction`` of the candidates (rounded half up; per decile when ``stratify``) or ``count``
    of them (spread over the deciles in proportion to their size when ``stratify``): the
    profiles with the smallest lots.
    """
    if stratify:
        group = [hashed.score_decile]
        if fraction is None:
            assert count is not None
            total = hashed.count().as_scalar()
            share = ibis.least(ibis.literal(count).cast("float64") / total, 1.0)
        else:
            share = ibis.literal(fraction)
    else:
        group = []
        share = ibis.literal(fraction if fraction is not None else 0.0)
    size = hashed.count().over(group_by=group) if group else hashed.count().as_scalar()
    position = ibis.row_number().over(
        group_by=group, order_by=[hashed.lot.asc(), hashed.profile_id.asc()]
    )
    marked = hashed.mutate(_position=position, _size=size)
    if fraction is None and not stratify:
        assert count is not None
        chosen = marked.filter(marked._position < count)
    else:
        wanted = (marked._size.cast("float64") * share + 0.5).floor()
        chosen = marked.filter(marked._position < wanted)
    return chosen.select("profile_id")


def schedule(ranked: ir.Table, capacity: Capacity | None, first_day: dt.date) -> ir.Table:
    """``ranked`` (``profile_id``, ``priority``...) with ``planned_for`` and ``status``:
    filled day by day up to capacity in priority order (ties by profile id); beyond it
    ``deferred`` or ``dropped`` (``planned_for`` NULL).  Without capacity everyone is planned
    for ``first_day``."""
    if capacity is None:
        return ranked.mutate(
            planned_for=ibis.literal(first_day),
            status=ibis.literal("planned"),
            reason=ibis.null("string"),
        )
    position = ibis.row_number().over(
        order_by=[ibis.desc(ranked.priority), ranked.profile_id.asc()]
    )
    numbered = ranked.mutate(_day=(position / capacity.per_day).floor().cast("int64"))
    fits = numbered._day < capacity.days
    # date + interval is a timestamp in SQL (ibis calls it a date): cast it back explicitly.
    day = (ibis.literal(first_day).cast("timestamp") + numbered._day.as_interval("D")).date()
    planned_for = ibis.ifelse(fits, day, ibis.null("date"))
    reason = (
        f"over capacity: {capacity.per_day} a day for {capacity.days} "
        f"day{'s' if capacity.days > 1 else ''}"
    )
    return numbered.mutate(
        planned_for=planned_for,
        status=ibis.ifelse(
            fits, "planned", "deferred" if capacity.overflow == "defer" else "dropped"
        ),
        reason=ibis.ifelse(fits, ibis.null("string"), reason),
    ).drop("_day")
