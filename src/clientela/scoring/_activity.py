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
import functools
import hashlib
import math
import operator
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
    "FlagLayout",
    "activity_rows",
    "age_days",
    "count_line",
    "counted_units",
    "cutoff_at",
    "decay_factor",
    "implicit_ledger",
    "match_column",
    "object_column",
    "pack_flags",
    "profile_activity",
    "property_column",
    "rule_matches",
    "tested_columns",
    "units_line",
    "unpack_flags",
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
    """The rows of ``table`` that any of ``rules`` counts, with their profile and, for each
    rule, a flag column (:func:`match_column`) that says whether the rule counts the row; to be
    stored, then read by the rules through :func:`rule_matches`.

    ``json_text`` reads a key of the events' JSON ``properties`` (the datamart's backend
    knows how: :meth:`clientela.datamart.Datamart.json_text`).

    Reading the large behaviour tables once for every rule (and resolving profiles once) is
    what keeps scoring set-based and fast; the caller materialises this expression.  Each
    rule's types and conditions are tested here, once per row (rules that test the same share
    a flag), so that the queries that group the rows only read narrow boolean columns.
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
    used = _properties_used(rules) if table_name == "events" else {}
    if table_name == "events":
        rows = rows.filter(rows.customer_id.notnull())
        if used:
            rows = _with_properties(rows, used, json_text)
    flags = {match_column(rule): _test(rule, rows, table_name) for rule in rules}
    flagged = rows.mutate(**flags)
    unread = _unread(rules, types if types and not any_rule_without_type else None)
    if unread is not None:
        # Rows of a type that only rules with a ``where`` read, and that pass none of them.
        whole = _counted_whole(rules)
        tests = [flagged[flag] for flag in unread]
        if whole:
            tests.append(flagged[type_column].isin(whole))
        flagged = flagged.filter(functools.reduce(operator.or_, tests))
    # Only what the rules group by travels on, and only on the rows they count: the copy of a
    # large table stays narrow.
    objects = _object_columns(table_name, rules)
    time_name = _TIME[table_name]
    narrow = flagged.select(
        "customer_id",
        *flags,
        _time=flagged[time_name],
        **{
            f"_object_{number}": ibis.ifelse(
                functools.reduce(operator.or_, [flagged[flag] for flag in counted_by]),
                flagged[column],
                ibis.null(flagged[column].type()),
            )
            for number, (column, counted_by) in enumerate(objects.items())
        },
    )
    linked = with_profile(narrow, identity)
    return linked.select(
        "profile_id",
        *flags,
        **{column: linked[f"_object_{number}"] for number, column in enumerate(objects)},
        _at=linked._time,
    )


# Where each flag column of :func:`activity_rows` is kept once packed: its integer column and bit.
FlagLayout = dict[str, tuple[str, int]]

# Bits per packed column: a 32-bit integer's, sign bit aside, on every backend.
_BITS = 31


def pack_flags(rows: ir.Table) -> tuple[ir.Table, FlagLayout]:
    """``rows`` of :func:`activity_rows` with their flag columns packed into integers (31 flags
    each), and where each flag went.

    The behaviour rows are the largest table a run writes (about 50 million at 1 million
    customers): a boolean column per test takes a byte per row each, where a bit does.  A
    smaller table is quicker to write and to read again, and stays in memory rather than
    spilling to disk.  :func:`unpack_flags` gives the flags back as boolean columns, computed
    as the rows are read.
    """
    flags = [column for column in rows.columns if column.startswith("_match_")]
    layout: FlagLayout = {
        flag: (f"_flags_{position // _BITS}", position % _BITS)
        for position, flag in enumerate(flags)
    }
    packed: dict[str, ir.IntegerValue] = {}
    for flag, (column, bit) in layout.items():
        value = ibis.ifelse(rows[flag], ibis.literal(1 << bit, type="int32"), 0)
        packed[column] = packed[column] | value if column in packed else value
    others = [column for column in rows.columns if column not in layout]
    return rows.select(*others, **{c: v.cast("int32") for c, v in packed.items()}), layout


def unpack_flags(packed: ir.Table, layout: FlagLayout) -> ir.Table:
    """The rows :func:`pack_flags` packed, with their flag columns back (as expressions)."""
    return packed.mutate(
        **{
            flag: (packed[column] & ibis.literal(1 << bit, type="int32")) != 0
            for flag, (column, bit) in layout.items()
        }
    )


def _with_properties(
    rows: ir.Table, used: dict[str, list[str] | None], json_text: JsonText
) -> ir.Table:
    """``rows`` (events) with a column per JSON property the rules read.

    Parsing JSON is the costly part of reading behaviour: each row's properties are parsed
    once, and only on rows of a type whose rules read some.  When every property is read by
    rules of given types, each type's rows are parsed for the properties of that type only
    (a page view for its page, not for a cart's price); a property read on rows of any type
    makes one parse of every row for all the properties."""
    type_column = ACTIVITY_TABLES["events"]
    readers = list(used.values())
    if None in readers:
        parsed = rows.mutate(_properties=json_text(rows.properties, list(used)))
        return parsed.mutate(
            **{
                property_column(name): parsed._properties[index].nullif("")
                for index, name in enumerate(used)
            }
        ).drop("_properties")
    by_type: dict[str, list[str]] = {}
    for name, read_by in used.items():
        for event_type in read_by or ():
            by_type.setdefault(event_type, []).append(name)
    arrays = {
        event_type: f"_properties_{number}" for number, event_type in enumerate(sorted(by_type))
    }
    parsed = rows.mutate(
        **{
            arrays[event_type]: json_text(
                ibis.ifelse(rows[type_column] == event_type, rows.properties, ibis.null("string")),
                names,
            )
            for event_type, names in by_type.items()
        }
    )
    # A row is of one type: the arrays of the other types are null on it.
    columns = {
        property_column(name): ibis.coalesce(
            *[
                parsed[arrays[event_type]][by_type[event_type].index(name)]
                for event_type in sorted(read_by or ())
            ]
        ).nullif("")
        for name, read_by in used.items()
    }
    return parsed.mutate(**columns).drop(*arrays.values())


def _counted_whole(rules: Sequence[Rule]) -> list[str]:
    """The types some rule counts every row of (it has no ``where``)."""
    return sorted(
        {
            t
            for rule in rules
            if rule.activity and not rule.activity.where
            for t in rule.activity.types
        }
    )


def _unread(rules: Sequence[Rule], read_types: list[str] | None) -> list[str] | None:
    """The flags of the rules with a ``where``, when some rows of the types read
    (``read_types``, None for all) may pass none of the rules; None when every row counts."""
    if any(rule.activity and not rule.activity.where and not rule.activity.types for rule in rules):
        return None
    whole = set(_counted_whole(rules))
    if read_types is not None and whole.issuperset(read_types):
        return None
    return list(
        dict.fromkeys(match_column(rule) for rule in rules if rule.activity and rule.activity.where)
    )


def match_column(rule: Rule) -> str:
    """The name of the flag column of :func:`activity_rows` that is true on the rows ``rule``
    counts; rules that test the same types and conditions share it."""
    assert rule.activity is not None
    shape = repr((sorted(rule.activity.types), [_shape(c) for c in rule.activity.where]))
    return "_match_" + hashlib.sha1(shape.encode()).hexdigest()[:16]


def _shape(condition: Condition) -> tuple[object, ...]:
    """What a condition tests, without where it was written."""
    parts = tuple(_shape(part) for part in condition.parts)
    return (condition.op, condition.subject_kind, condition.subject, condition.value, parts)


def _object_columns(table_name: str, rules: Sequence[Rule]) -> dict[str, list[str]]:
    """The columns (or JSON properties) ``per_object`` rules count once per value of, each
    with the flags of the rules that read it."""
    found: dict[str, list[str]] = {}
    for rule in rules:
        if rule.repeat != "per_object":
            continue
        flags = found.setdefault(object_column(rule, table_name), [])
        if match_column(rule) not in flags:
            flags.append(match_column(rule))
    return found


def object_column(rule: Rule, table_name: str) -> str:
    """The column of the behaviour rows a ``per_object`` rule counts once per value of (a JSON
    property's column when it counts per ``properties.<name>``)."""
    key = rule.per or DEFAULT_OBJECT[table_name]
    if key.startswith("properties."):
        return property_column(key.removeprefix("properties."))
    return key


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
    """True for the rows of ``rows`` that ``rule`` counts: its flag column when ``rows`` come
    from :func:`activity_rows`, else its types and its ``where`` tested on the row."""
    flag = match_column(rule)
    if flag in rows.columns:
        matches: ir.BooleanValue = rows[flag]
        return matches
    return _test(rule, rows, table_name)


def _test(rule: Rule, rows: ir.Table, table_name: str) -> ir.BooleanValue:
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
        # A whole number of periods, multiplied as a float: an integer times the logarithm
        # would be exact decimal arithmetic, several times slower on DuckDB.
        periods = (age / decay.days).floor().cast("float64")
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


def profile_activity(
    table_name: str,
    table: ir.Table,
    profile_id: str,
    customers: Sequence[str],
    rules: Sequence[Rule],
    as_of: dt.date,
    json_text: JsonText,
) -> ir.Table:
    """The rows of ``table`` before ``as_of`` of one profile (its ``customers``), as ``rules``
    read them: the table's columns, ``profile_id``, ``_at`` and a column per JSON property the
    rules read (no flag columns: :func:`rule_matches` tests the rows themselves)."""
    time = table[_TIME[table_name]]
    rows = table.filter(time < cutoff_at(as_of), table.customer_id.isin(list(customers)))
    used = _properties_used(rules) if table_name == "events" else {}
    if used:
        rows = _with_properties(rows, used, json_text)
    return rows.mutate(profile_id=ibis.literal(profile_id), _at=rows[_TIME[table_name]])


def tested_columns(rule: Rule, table_name: str) -> list[str]:
    """The columns of a rule's rows that say why it counts them: what its ``where`` tests and
    what it counts once per (a JSON property as its :func:`property_column`)."""
    assert rule.activity is not None
    found = [
        property_column(str(leaf.subject)) if leaf.subject_kind == "property" else str(leaf.subject)
        for condition in rule.activity.where
        for leaf in condition.leaves()
    ]
    if rule.repeat == "per_object":
        found.append(object_column(rule, table_name))
    return list(dict.fromkeys(found))


def counted_units(
    rule: Rule,
    rows: ir.Table,
    table_name: str,
    as_of: dt.date,
    default_decay: Decay,
    keep: Sequence[str],
) -> ir.Table:
    """What ``rule`` counted in ``rows``, one row per unit with the ``keep`` columns of its
    newest row: ``_at``, ``occurrences``, ``weight`` (its decay factor) and ``points``, which
    add up to the rule's ledger line before its ``max_points``.  For a ``count`` rule, the
    rows of its window, without weight or points: the rule earns its points once, when there
    are enough of them."""
    matched = _matching(rule, rows, table_name)
    if rule.count is not None:
        since = cutoff_at(as_of) - ibis.interval(days=rule.count.within_days)
        recent = matched.filter(matched._at >= since)
        return recent.select(
            "profile_id",
            *keep,
            _at=recent._at,
            occurrences=ibis.literal(1, type="int64"),
            weight=ibis.null("float64"),
            points=ibis.null("float64"),
        )
    units = _units(rule, matched, table_name, as_of, keep)
    weight = decay_factor(rule.decay or default_decay, age_days(units._at, as_of))
    return units.select(
        "profile_id",
        *keep,
        _at=units._at,
        occurrences=units._count.cast("int64"),
        weight=weight.cast("float64"),
        points=(units._count * weight * rule.points).cast("float64"),
    )


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


def _units(
    rule: Rule,
    matched: ir.Table,
    table_name: str,
    as_of: dt.date,
    keep: Sequence[str] = (),
) -> ir.Table:
    """``profile_id``, ``_at`` (when, for its age) and ``_count`` (occurrences) per unit, with
    the ``keep`` columns of the unit's newest row."""
    if rule.repeat == "once":
        return matched.group_by("profile_id").aggregate(
            _at=matched._at.max(), _count=1, **_newest_row(matched, keep)
        )
    if rule.repeat == "per_object":
        column = matched[object_column(rule, table_name)]
        keyed = matched.mutate(_object=column.cast("string")).filter(lambda t: t._object.notnull())
        units = (
            keyed.group_by(["profile_id", "_object"])
            .aggregate(_at=keyed._at.max(), _count=1, **_newest_row(keyed, keep))
            .drop("_object")
        )
    elif rule.repeat == "per_day":
        days = matched.mutate(_day=matched._at.date())
        units = (
            days.group_by(["profile_id", "_day"])
            .aggregate(_at=days._at.max(), _count=1, **_newest_row(days, keep))
            .drop("_day")
        )
    elif rule.max_per_day:
        days = matched.mutate(_day=matched._at.date())
        per_day = days.group_by(["profile_id", "_day"]).aggregate(
            _at=days._at.max(), _n=days.count(), **_newest_row(days, keep)
        )
        units = per_day.mutate(_count=ibis.least(per_day._n, rule.max_per_day)).drop("_n", "_day")
    elif rule.max_per_period:
        times, days = rule.max_per_period
        periods = matched.mutate(_period=(age_days(matched._at, as_of) / days).floor())
        per_period = periods.group_by(["profile_id", "_period"]).aggregate(
            _at=periods._at.max(), _n=periods.count(), **_newest_row(periods, keep)
        )
        units = per_period.mutate(_count=ibis.least(per_period._n, times)).drop("_n", "_period")
    else:
        units = matched.select("profile_id", "_at", *keep, _count=ibis.literal(1, type="int64"))
    if rule.max_times:
        units = _newest(units, rule.max_times)
    return units


def _newest_row(rows: ir.Table, keep: Sequence[str]) -> dict[str, ir.Value]:
    """Aggregates of ``keep``: the values of the newest row of each group."""
    return {column: rows[column].argmax(rows._at) for column in keep}


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
