"""Implicit rules evaluated together: one aggregate over a table's behaviour rows per level.

Evaluated one by one, every rule scans the behaviour rows and groups them by profile again.
Most rules need no grouping of their own, so they are evaluated together as conditional
aggregates (``count(*) FILTER (WHERE the rule matches)``) of a single query per level:

* by profile: ``repeat: every`` (without per-day, per-period or total caps), ``once`` and
  ``count`` windows;
* by profile and day, then by profile: ``per_day`` and ``max_per_day``.

Each level yields one row per profile with a group of columns per rule, from which each rule's
ledger lines are read.  The points are the same as the rule-by-rule evaluation's
(:func:`clientela.scoring._activity.implicit_ledger`, which the remaining rules still use:
``per_object``, ``max_per_period`` and ``max_times`` need their own units).
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable, Sequence

import ibis
import ibis.expr.types as ir

from clientela.scoring._activity import (
    age_days,
    count_line,
    cutoff_at,
    decay_factor,
    implicit_ledger,
    rule_matches,
    units_line,
)
from clientela.scoring.definition import Decay, Rule

__all__ = ["Materialize", "implicit_ledgers"]

# Caches a table expression that several others read (a temporary table, or the expression as
# it is when nothing should be written).
Materialize = Callable[[ir.Table], ir.Table]


def _level(rule: Rule) -> str:
    if rule.max_times or rule.max_per_period or rule.repeat == "per_object":
        return "own"
    if rule.count is not None or (rule.repeat in ("every", "once") and not rule.max_per_day):
        return "profile"
    return "day"


def implicit_ledgers(
    rules: Sequence[tuple[str, Rule, Decay]],
    rows: ir.Table,
    table_name: str,
    as_of: dt.date,
    materialize: Materialize,
) -> dict[str, ir.Table]:
    """The ledger lines (before per-rule caps) of each rule on ``table_name``'s rows.

    ``rules`` are ``(key, rule, default decay)``: the rules of one model (keyed by name) or of
    several models run as of the same day (keyed by model and name), evaluated together.
    """
    by_level: dict[str, list[tuple[int, Rule, Decay]]] = {"profile": [], "day": [], "own": []}
    for index, (_key, rule, decay) in enumerate(rules):
        by_level[_level(rule)].append((index, rule, decay))
    lines: dict[int, ir.Table] = {}
    if by_level["profile"]:
        totals = materialize(_by_profile(by_level["profile"], rows, table_name, as_of))
        for index, rule, decay in by_level["profile"]:
            lines[index] = _profile_lines(index, rule, totals, table_name, as_of, decay)
    if by_level["day"]:
        totals = materialize(_by_day(by_level["day"], rows, table_name, as_of))
        for index, rule, decay in by_level["day"]:
            found = totals.filter(totals[f"r{index}_n"] > 0)
            lines[index] = units_line(
                rule,
                found.select(
                    "profile_id",
                    matched=found[f"r{index}_n"],
                    points=found[f"r{index}_w"] * rule.points,
                    last=found[f"r{index}_t"],
                ),
                table_name,
                decay,
            )
    for index, rule, decay in by_level["own"]:
        lines[index] = implicit_ledger(rule, rows, table_name, as_of, decay)
    return {key: lines[index] for index, (key, _rule, _decay) in enumerate(rules)}


def _counted(rules: Sequence[tuple[int, Rule, Decay]], rows: ir.Table, table_name: str) -> ir.Table:
    """Only the rows some of ``rules`` count: grouping fewer rows is most of the saving."""
    tests = [rule_matches(rule, rows, table_name) for _index, rule, _decay in rules]
    return rows.filter(functools.reduce(operator.or_, tests))


def _by_profile(
    rules: Sequence[tuple[int, Rule, Decay]],
    rows: ir.Table,
    table_name: str,
    as_of: dt.date,
) -> ir.Table:
    rows = _counted(rules, rows, table_name)
    metrics: dict[str, ir.Value] = {}
    for index, rule, decay in rules:
        matches = rule_matches(rule, rows, table_name)
        if rule.count is not None:
            since = cutoff_at(as_of) - ibis.interval(days=rule.count.within_days)
            matches = matches & (rows._at >= since)
        metrics[f"r{index}_n"] = rows.count(where=matches)
        metrics[f"r{index}_t"] = rows._at.max(where=matches)
        if rule.count is None and rule.repeat == "every":
            weight = decay_factor(rule.decay or decay, age_days(rows._at, as_of))
            metrics[f"r{index}_w"] = _sum(rows, weight, matches)
    return rows.group_by("profile_id").aggregate(**metrics)


def _profile_lines(
    index: int,
    rule: Rule,
    totals: ir.Table,
    table_name: str,
    as_of: dt.date,
    default_decay: Decay,
) -> ir.Table:
    count = totals[f"r{index}_n"]
    if rule.count is not None:
        found = totals.filter(count >= rule.count.at_least)
        return count_line(
            rule, found.select("profile_id", matched=found[f"r{index}_n"]), table_name, as_of
        )
    found = totals.filter(count > 0)
    last = found[f"r{index}_t"]
    if rule.repeat == "once":
        weight = decay_factor(rule.decay or default_decay, age_days(last, as_of))
        matched: ir.IntegerValue = ibis.literal(1, type="int64")
        points = weight * rule.points
    else:
        matched = found[f"r{index}_n"]
        points = found[f"r{index}_w"] * rule.points
    return units_line(
        rule,
        found.select("profile_id", matched=matched, points=points, last=last),
        table_name,
        default_decay,
    )


def _by_day(
    rules: Sequence[tuple[int, Rule, Decay]],
    rows: ir.Table,
    table_name: str,
    as_of: dt.date,
) -> ir.Table:
    """Per profile: the units (days, or occurrences capped per day), their decayed weight and
    the newest row, for each rule."""
    rows = _counted(rules, rows, table_name)
    days = rows.mutate(_day=rows._at.date())
    daily = days.group_by(["profile_id", "_day"]).aggregate(
        **{
            name: value
            for index, rule, _decay in rules
            for name, value in (
                (f"r{index}_n", days.count(where=rule_matches(rule, days, table_name))),
                (f"r{index}_t", days._at.max(where=rule_matches(rule, days, table_name))),
            )
        }
    )
    metrics: dict[str, ir.Value] = {}
    for index, rule, decay in rules:
        count = daily[f"r{index}_n"]
        newest = daily[f"r{index}_t"]
        capped = rule.repeat == "every" and rule.max_per_day
        units: ir.IntegerValue = (
            ibis.least(count, rule.max_per_day) if capped else ibis.literal(1, type="int64")
        )
        weight = decay_factor(rule.decay or decay, age_days(newest, as_of))
        any_row = count > 0
        metrics[f"r{index}_n"] = _sum(daily, units, any_row).cast("int64")
        metrics[f"r{index}_w"] = _sum(daily, units * weight, any_row)
        metrics[f"r{index}_t"] = newest.max()
    return daily.group_by("profile_id").aggregate(**metrics)


def _sum(table: ir.Table, value: ir.Value, where: ir.BooleanValue) -> ir.NumericValue:
    """The sum of ``value`` over the rows of ``table`` where ``where`` holds (0 when none)."""
    if isinstance(value, ir.Scalar):  # a constant (no decay, one unit a day)
        constant: ir.NumericValue = table.count(where=where) * value
        return constant
    total: ir.NumericValue = value.sum(where=where).fill_null(0)
    return total
