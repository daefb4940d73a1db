"""Implicit rules: points for behaviour rows (events, interactions, transactions, social).

Each rule turns its matching rows into *units* that earn points: every row (``repeat: every``,
at most ``max_per_day`` a day or ``max_per_period`` per period), the newest row (``once``), the
newest row per object (``per_object``) or per day (``per_day``); with ``max_times``, only the
newest units up to that many occurrences in all.  A unit earns ``points`` times its decay factor,
which depends on its age in days before the as-of date (see ``docs/scoring.md``).  A ``count``
rule earns its points once when enough rows fall in its window.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from clientela.datamart._json import JsonText
from clientela.datamart.ingest.identity import with_profile
from clientela.scoring._conditions import predicate
from clientela.scoring.definition import (
    ACTIVITY_TABLES,
    DEFAULT_OBJECT,
    Condition,
    Decay,
    Rule,
)

__all__ = [
    "activity_rows",
    "age_days",
    "count_line",
    "cutoff_at",
    "decay_factor",
    "implicit_ledger",
    "property_column",
    "rule_matches",
    "units_line",
    "with_properties",
]

_TIME = dict.fromkeys(ACTIVITY_TABLES, "occurred_at")


def property_column(name: str) -> str:
    return f"prop__{name}"


def _rule_properties(rule: Rule) -> list[str]:
    assert rule.activity is not None
    found = [
        str(leaf.subject)
        for condition in rule.activity.where
        for leaf in condition.leaves()
        if leaf.subject_kind == "property"
    ]
    if rule.per and rule.per.startswith("properties."):
        found.append(rule.per.removeprefix("properties."))
    return found


def _properties_used(rules: Sequence[Rule]) -> dict[str, list[str] | None]:
    """Each property the rules read, with the row types whose rules read it (None: any type)."""
    found: dict[str, list[str] | None] = {}
    for rule in rules:
        assert rule.activity is not None
        for name in _rule_properties(rule):
            types = found.setdefault(name, [])
            if types is None:
                continue
            if not rule.activity.types:
                found[name] = None
            else:
                types.extend(t for t in rule.activity.types if t not in types)
    return found


def activity_rows(
    table_name: str,
    table: ir.Table,
    identity: ir.Table,
    rules: Sequence[Rule],
    as_of: dt.date,
    json_text: JsonText,
) -> ir.Table:
    """The rows of ``table`` that any of ``rules`` may count, with their profile; to be stored,
    then read through :func:`with_properties`.

    ``json_text`` reads a key of the events' JSON ``properties`` (the datamart's backend
    knows how: :meth:`clientela.datamart.Datamart.json_text`).

    Reading the large behaviour tables once per model (and resolving profiles once) is what
    keeps scoring set-based and fast; the caller materialises this expression.
    """
    cutoff = cutoff_at(as_of)
    time = table[_TIME[table_name]]
    rows = table.filter(time < cutoff)
    type_column = ACTIVITY_TABLES[table_name]
    types = sorted({t for rule in rules if rule.activity for t in rule.activity.types})
    any_rule_without_type = any(rule.activity and not rule.activity.types for rule in rules)
    if types and not any_rule_without_type:
        rows = rows.filter(rows[type_column].isin(types))
    horizon = _horizon(rules)
    if horizon is not None:
        rows = rows.filter(time >= cutoff - ibis.interval(days=math.ceil(horizon)))
    if table_name == "events":
        rows = rows.filter(rows.customer_id.notnull())
        used = _properties_used(rules)
        if used:
            # Parsing JSON is the costly part of reading behaviour: each row's properties are
            # parsed once, into an array of the properties the rules read (see
            # ``with_properties``), and only on rows of a type whose rules read some.
            readers = list(used.values())
            document = rows.properties
            if None not in readers:
                types = sorted({t for read_by in readers if read_by is not None for t in read_by})
                document = ibis.ifelse(rows[type_column].isin(types), document, ibis.null("string"))
            rows = rows.mutate(_properties=json_text(document, list(used)))
    # Only the columns the rules read travel on: the copy of a large table stays narrow.
    read = _columns_used(table_name, rules)
    needed = [c for c in rows.columns if c in read or c in ("customer_id", _TIME[table_name])]
    linked = with_profile(rows.select(*needed), identity)
    # The time is stored once, as ``_at``; the customer id only when a rule reads it (the
    # rows are counted per profile): the stored copy of a large table stays narrow.
    kept = [c for c in linked.columns if c in read or c == "profile_id"]
    return linked.select(*kept, _at=linked[_TIME[table_name]])


def with_properties(rows: ir.Table, rules: Sequence[Rule]) -> ir.Table:
    """``activity_rows`` once stored, with a column per JSON property the rules read (and the
    time under its own name, for the rules that test it)."""
    time_column = next((c for c in _TIME.values() if c not in rows.columns), None)
    if time_column is not None:
        rows = rows.mutate(**{time_column: rows._at})
    if "_properties" not in rows.columns:
        return rows
    return rows.mutate(
        **{
            property_column(name): rows._properties[index].nullif("")
            for index, name in enumerate(_properties_used(rules))
        }
    )


def _columns_used(table_name: str, rules: Sequence[Rule]) -> set[str]:
    used = {ACTIVITY_TABLES[table_name]}
    if _properties_used(rules):
        used.add("_properties")
    for rule in rules:
        assert rule.activity is not None
        for condition in rule.activity.where:
            used.update(
                str(leaf.subject) for leaf in condition.leaves() if leaf.subject_kind == "column"
            )
        if rule.repeat == "per_object":
            key = rule.per or DEFAULT_OBJECT[table_name]
            if not key.startswith("properties."):
                used.add(key)
    return used


def _horizon(rules: Sequence[Rule]) -> float | None:
    """The oldest age any rule can still count (None: no limit)."""
    ages: list[float] = []
    for rule in rules:
        if rule.count is not None:
            ages.append(rule.count.within_days)
        elif rule.decay is not None and rule.decay.kind == "window" and rule.decay.days:
            ages.append(rule.decay.days)
        else:
            return None
    return max(ages) if ages else None


def cutoff_at(as_of: dt.date) -> ir.TimestampScalar:
    return ibis.literal(dt.datetime.combine(as_of, dt.time()), type="timestamp")


def _resolver(rows: ir.Table):  # type: ignore[no-untyped-def]
    def resolve(leaf: Condition) -> ir.Value:
        if leaf.subject_kind == "property":
            return rows[property_column(str(leaf.subject))]
        return rows[str(leaf.subject)]

    return resolve


def rule_matches(rule: Rule, rows: ir.Table, table_name: str) -> ir.BooleanValue:
    """True for the rows of ``rows`` that ``rule`` counts (its types and its ``where``)."""
    activity = rule.activity
    assert activity is not None
    test: ir.BooleanValue = ibis.literal(True)
    if activity.types:
        test = rows[ACTIVITY_TABLES[table_name]].isin(list(activity.types))
    resolve = _resolver(rows)
    for condition in activity.where:
        test = test & predicate(condition, resolve)
    return test


def _matching(rule: Rule, rows: ir.Table, table_name: str) -> ir.Table:
    return rows.filter(rule_matches(rule, rows, table_name))


def age_days(at: ir.TimestampValue, as_of: dt.date) -> ir.FloatingValue:
    age: ir.FloatingValue = (cutoff_at(as_of).epoch_seconds() - at.epoch_seconds()) / 86400.0
    return age


def decay_factor(decay: Decay, age: ir.FloatingValue) -> ir.FloatingValue:
    """The weight of a unit ``age`` days old."""
    if decay.kind == "half_life":
        assert decay.days is not None
        factor: ir.FloatingValue = (age / decay.days * math.log(0.5)).exp()
        return factor
    if decay.kind == "percent":
        assert decay.days is not None and decay.percent is not None
        periods = (age / decay.days).floor()
        if decay.percent >= 100:
            return ibis.ifelse(periods < 1, 1.0, 0.0)
        return (periods * math.log(1 - decay.percent / 100)).exp()
    if decay.kind == "window":
        assert decay.days is not None
        # Up to and including ``days`` old: the same rows as a count window of as many days.
        return ibis.ifelse(age <= decay.days, 1.0, 0.0)
    return ibis.literal(1.0)


def implicit_ledger(
    rule: Rule, rows: ir.Table, table_name: str, as_of: dt.date, default_decay: Decay
) -> ir.Table:
    """One ledger line per profile the rule gives points to."""
    matched = _matching(rule, rows, table_name)
    if rule.count is not None:
        window = rule.count.within_days
        recent = matched.filter(matched._at >= cutoff_at(as_of) - ibis.interval(days=window))
        counted = recent.group_by("profile_id").aggregate(
            matched=recent.count(), last=recent._at.max()
        )
        counted = counted.filter(counted.matched >= rule.count.at_least)
        return count_line(rule, counted, table_name, as_of)
    units = _units(rule, matched, table_name, as_of)
    decay = rule.decay or default_decay
    weight = decay_factor(decay, age_days(units._at, as_of))
    units = units.mutate(_earned=units._count * weight * rule.points)
    lines = units.group_by("profile_id").aggregate(
        matched=units._count.sum(), points=units._earned.sum(), last=units._at.max()
    )
    return units_line(rule, lines, table_name, default_decay)


def count_line(rule: Rule, counted: ir.Table, table_name: str, as_of: dt.date) -> ir.Table:
    """The ledger lines of a ``count`` rule from ``profile_id`` and ``matched``."""
    assert rule.count is not None
    return _line(
        rule,
        counted,
        ibis.literal(float(rule.points)),
        counted.matched.cast("string")
        + ibis.literal(
            f" x {_what(rule, table_name)} in the {rule.count.within_days} days before {as_of} "
            f"(at least {rule.count.at_least})"
        ),
    )


def units_line(rule: Rule, lines: ir.Table, table_name: str, default_decay: Decay) -> ir.Table:
    """The ledger lines of a rule from ``profile_id``, ``matched``, ``points`` and ``last``."""
    decay = rule.decay or default_decay
    policy = {
        "every": "each",
        "once": "once",
        "per_object": f"once per {rule.per or DEFAULT_OBJECT[table_name]}",
        "per_day": "once per day",
    }[rule.repeat]
    if rule.max_per_day:
        policy += f", at most {rule.max_per_day} a day"
    if rule.max_per_period:
        policy += f", at most {rule.max_per_period[0]} per {rule.max_per_period[1]} days"
    if rule.max_times:
        policy += f", at most {rule.max_times} in all"
    decay_note = "" if decay.kind == "none" else f", decay {decay.describe()}"
    text = (
        lines.matched.cast("string")
        + ibis.literal(f" x {_what(rule, table_name)} ({policy}{decay_note}), last ")
        + lines.last.date().cast("string")
    )
    return _line(rule, lines, lines.points, text)


def _what(rule: Rule, table_name: str) -> str:
    return ", ".join(rule.activity.types) if rule.activity and rule.activity.types else table_name


def _units(rule: Rule, matched: ir.Table, table_name: str, as_of: dt.date) -> ir.Table:
    """``profile_id``, ``_at`` (when, for its age) and ``_count`` (occurrences) per unit."""
    if rule.repeat == "once":
        return matched.group_by("profile_id").aggregate(_at=matched._at.max(), _count=1)
    if rule.repeat == "per_object":
        key = rule.per or DEFAULT_OBJECT[table_name]
        column = (
            matched[property_column(key.removeprefix("properties."))]
            if key.startswith("properties.")
            else matched[key]
        )
        keyed = matched.mutate(_object=column.cast("string")).filter(lambda t: t._object.notnull())
        units = (
            keyed.group_by(["profile_id", "_object"])
            .aggregate(_at=keyed._at.max(), _count=1)
            .drop("_object")
        )
    elif rule.repeat == "per_day":
        days = matched.mutate(_day=matched._at.date())
        units = (
            days.group_by(["profile_id", "_day"])
            .aggregate(_at=days._at.max(), _count=1)
            .drop("_day")
        )
    elif rule.max_per_day:
        days = matched.mutate(_day=matched._at.date())
        per_day = days.group_by(["profile_id", "_day"]).aggregate(
            _at=days._at.max(), _n=days.count()
        )
        units = per_day.mutate(_count=ibis.least(per_day._n, rule.max_per_day)).drop("_n", "_day")
    elif rule.max_per_period:
        times, days = rule.max_per_period
        periods = matched.mutate(_period=(age_days(matched._at, as_of) / days).floor())
        per_period = periods.group_by(["profile_id", "_period"]).aggregate(
            _at=periods._at.max(), _n=periods.count()
        )
        units = per_period.mutate(_count=ibis.least(per_period._n, times)).drop("_n", "_period")
    else:
        units = matched.select("profile_id", "_at", _count=ibis.literal(1, type="int64"))
    if rule.max_times:
        units = _newest(units, rule.max_times)
    return units


def _newest(units: ir.Table, limit: int) -> ir.Table:
    """The newest units up to ``limit`` occurrences in all (a day's unit may hold several)."""
    newer_first = ibis.window(
        group_by=units.profile_id, order_by=ibis.desc(units._at), rows=(None, -1)
    )
    counted = units.mutate(_before=units._count.sum().over(newer_first).fill_null(0))
    kept = counted.filter(counted._before < limit)
    return kept.mutate(_count=ibis.least(kept._count, limit - kept._before)).drop("_before")


def _line(rule: Rule, lines: ir.Table, points: ir.Value, text: ir.StringValue) -> ir.Table:
    return lines.select(
        profile_id=lines.profile_id,
        rule=ibis.literal(rule.name),
        rule_group=ibis.literal(rule.group, type="string"),
        points=points.cast("float64"),
        matched=lines.matched.cast("int64"),
        evidence=text,
    )
