"""Implicit rules evaluated together: one query over a table's behaviour rows per level.

Evaluated one by one, every rule scans the behaviour rows and groups them by profile again.
Most rules need no grouping of their own, so they are evaluated together, reading the flag
column of each rule's test (:func:`clientela.scoring._activity.match_column`), in a single
query per level:

* by profile: ``repeat: every`` (without per-day, per-period or total caps), ``once`` and
  ``count`` windows, as conditional aggregates (``count(*) FILTER (WHERE flag)``), one row per
  profile with a group of columns per rule;
* by profile and day: ``per_day`` and ``max_per_day``, one grouping per distinct test (the
  rows that pass it, by profile and day), stacked; each rule then sums its units by profile;
* by object: ``per_object`` rules that count the same rows once per the same object (in one
  model or several: "each product page seen, once") share their units, the newest row per
  profile and object, and are summed by profile in one query, each with its own decay.

The points are the same as the rule-by-rule evaluation's
(:func:`clientela.scoring._activity.implicit_ledger`, which the remaining rules still use:
``max_per_period`` and ``max_times`` need their own units).
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
    match_column,
    object_column,
    rule_matches,
    units_line,
)
from clientela.scoring.definition import Decay, Rule

__all__ = ["Materialize", "implicit_ledgers"]

# Caches a table expression that several others read (a temporary table, or the expression as
# it is when nothing should be written).
Materialize = Callable[[ir.Table], ir.Table]


def _level(rule: Rule) -> str:
    if rule.max_times or rule.max_per_period:
        return "own"
    if rule.repeat == "per_object":
        return "object"
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
    by_level: dict[str, list[tuple[int, Rule, Decay]]] = {
        "profile": [],
        "day": [],
        "object": [],
        "own": [],
    }
    for index, (_key, rule, decay) in enumerate(rules):
        by_level[_level(rule)].append((index, rule, decay))
    lines: dict[int, ir.Table] = {}
    if by_level["profile"]:
        totals = materialize(_by_profile(by_level["profile"], rows, table_name, as_of))
        for index, rule, decay in by_level["profile"]:
            lines[index] = _profile_lines(index, rule, totals, table_name, as_of, decay)
    if by_level["day"]:
        daily, numbers = _by_day(by_level["day"], rows, table_name)
        daily = materialize(daily)
        for index, rule, decay in by_level["day"]:
            found = daily.filter(daily._test == numbers[match_column(rule)])
            lines[index] = _day_lines(rule, found, table_name, as_of, decay)
    shared: dict[tuple[str, str], list[tuple[int, Rule, Decay]]] = {}
    for index, rule, decay in by_level["object"]:
        units_of = (match_column(rule), object_column(rule, table_name))
        shared.setdefault(units_of, []).append((index, rule, decay))
    for (_test, column), members in shared.items():
        objects = materialize(_by_object(members, column, rows, table_name, as_of))
        for index, rule, decay in members:
            found = objects.select(
                "profile_id",
                matched=objects._n,
                points=objects[f"r{index}_w"] * rule.points,
                last=objects._t,
            )
            lines[index] = units_line(rule, found, table_name, decay)
    for index, rule, decay in by_level["own"]:
        # Written now, so that the caller may drop the rows before the models' own queries.
        lines[index] = materialize(implicit_ledger(rule, rows, table_name, as_of, decay))
    return {key: lines[index] for index, (key, _rule, _decay) in enumerate(rules)}


def _counted(rules: Sequence[tuple[int, Rule, Decay]], rows: ir.Table, table_name: str) -> ir.Table:
    """Only the rows some of ``rules`` count: grouping fewer rows is most of the saving."""
    tests = {match_column(rule): rule_matches(rule, rows, table_name) for _i, rule, _d in rules}
    return rows.filter(functools.reduce(operator.or_, tests.values()))


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


def _by_object(
    rules: Sequence[tuple[int, Rule, Decay]],
    key: str,
    rows: ir.Table,
    table_name: str,
    as_of: dt.date,
) -> ir.Table:
    """For ``per_object`` rules of one test and object: per profile, ``_n`` (how many objects),
    ``_t`` (the newest row) and for each rule ``r<index>_w``, its units weighed by its decay.
    A unit is an object, dated by its newest row."""
    matched = rows.filter(rule_matches(rules[0][1], rows, table_name))
    keyed = matched.mutate(_object=matched[key].cast("string")).filter(
        lambda t: t._object.notnull()
    )
    units = keyed.group_by(["profile_id", "_object"]).aggregate(_at=keyed._at.max())
    metrics: dict[str, ir.Value] = {"_n": units.count(), "_t": units._at.max()}
    for index, rule, decay in rules:
        weight = decay_factor(rule.decay or decay, age_days(units._at, as_of))
        total = units.count() * weight if isinstance(weight, ir.Scalar) else weight.sum()
        metrics[f"r{index}_w"] = total
    return units.group_by("profile_id").aggregate(**metrics)


def _by_day(
    rules: Sequence[tuple[int, Rule, Decay]], rows: ir.Table, table_name: str
) -> tuple[ir.Table, dict[str, int]]:
    """For each test of ``rules`` (rules that test the same rows share one) and each profile
    and day with rows that pass it: ``_test`` (its number), ``_n`` (how many rows) and ``_t``
    (the newest).

    One grouping per test, stacked, rather than one grouping of all the rows with a filtered
    count per rule: each row is grouped only under the tests it passes, with no filters."""
    tests: dict[str, ir.BooleanValue] = {}
    for _index, rule, _decay in rules:
        tests.setdefault(match_column(rule), rule_matches(rule, rows, table_name))
    numbers = {flag: number for number, flag in enumerate(tests)}
    parts = []
    for flag, test in tests.items():
        matched = rows.filter(test)
        days = matched.mutate(_day=matched._at.date())
        daily = days.group_by(["profile_id", "_day"]).aggregate(
            _n=days.count().cast("int32"), _t=days._at.max()
        )
        # Narrow: tens of millions of rows at a million customers (the day itself is not kept).
        parts.append(
            daily.select(
                _test=ibis.literal(numbers[flag], type="int16"),
                profile_id=daily.profile_id,
                _n=daily._n,
                _t=daily._t,
            )
        )
    stacked = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
    return stacked, numbers


def _day_lines(
    rule: Rule, daily: ir.Table, table_name: str, as_of: dt.date, default_decay: Decay
) -> ir.Table:
    """The lines of a ``per_day`` or ``max_per_day`` rule from its test's days (``_by_day``):
    a unit per day (or the day's rows up to the cap), weighed by the age of its newest row."""
    capped = rule.repeat == "every" and rule.max_per_day
    units: ir.IntegerValue = (
        ibis.least(daily._n, rule.max_per_day) if capped else ibis.literal(1, type="int64")
    )
    weight = decay_factor(rule.decay or default_decay, age_days(daily._t, as_of))
    matched: ir.IntegerValue = units.sum() if capped else daily.count()
    earned = units * weight
    total = daily.count() * earned if isinstance(earned, ir.Scalar) else earned.sum()
    totals = daily.group_by("profile_id").aggregate(
        matched=matched.cast("int64"), points=total, last=daily._t.max()
    )
    return units_line(
        rule, totals.mutate(points=totals.points * rule.points), table_name, default_decay
    )


def _sum(table: ir.Table, value: ir.Value, where: ir.BooleanValue) -> ir.NumericValue:
    """The sum of ``value`` over the rows of ``table`` where ``where`` holds (0 when none)."""
    if isinstance(value, ir.Scalar):  # a constant (no decay, one unit a day)
        constant: ir.NumericValue = table.count(where=where) * value
        return constant
    total: ir.NumericValue = value.sum(where=where).fill_null(0)
    return total
