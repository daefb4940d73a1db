"""The baseline of the scoring benchmark: the same rules applied the way event-at-a-time tools
score, in plain Python.

The data is already in memory (:func:`load`, not timed): each profile's customer record, its
third-party attribute records, and its events and interactions as dictionaries (properties
parsed from JSON), grouped by profile.  :func:`score_model` (timed) then walks every profile:
it tests the explicit rules on the record and the attributes, streams the profile's rows
through the implicit rules interested in each row's type (a dictionary from type to rules, so
a row only meets the rules that may count it), keeps each rule's running state (a sum, the
newest row, the newest row per object or per day, a per-day count, the rows in a window), and
finally applies decay, group caps, the model's limits and bands with hysteresis.

It reads the :class:`~clientela.scoring.definition.ScoringModel` the engine reads, and follows
the engine's definitions (rounding each line to 4 decimals as DuckDB's ``round`` does, ages in
days from the as-of midnight), so that the scores can be checked equal.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from clientela.scoring.definition import (
    ACTIVITY_TABLES,
    DEFAULT_OBJECT,
    Condition,
    Decay,
    Rule,
    ScoringModel,
)

_NUMBER = re.compile(r"^\s*[-+]?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\s*$")
_DOMAIN = re.compile(r"@([^@]+)$")
_LN_HALF = math.log(0.5)
_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")


@dataclass
class LoopData:
    """What the loop scores, in memory: plain dictionaries and lists."""

    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    attributes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    activity: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    previous_bands: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(len(rows) for table in self.activity.values() for rows in table.values())


def load(dm: Any, previous_as_of: dt.date, models: Iterable[str]) -> LoopData:
    """Read the datamart into :class:`LoopData` (the baseline's load, not timed)."""
    data = LoopData()
    con = dm.backend.con
    profile_of = dict(con.execute("SELECT customer_id, profile_id FROM identity").fetchall())
    cursor = con.execute("SELECT * FROM customers ORDER BY customer_id")
    names = [c[0] for c in cursor.description]
    for row in cursor.fetchall():
        record = dict(zip(names, row, strict=True))
        customer = record["customer_id"]
        profile = profile_of.get(customer, customer)
        kept = data.profiles.get(profile)
        # The profile's own record, else its first member (customers come in id order).
        if kept is None or customer == profile:
            data.profiles[profile] = record
    for row in con.execute(
        "SELECT customer_id, attribute_id, as_of, attribute, value FROM third_party"
    ).fetchall():
        customer, attribute_id, as_of, attribute, value = row
        data.attributes.setdefault(profile_of.get(customer, customer), []).append(
            {"attribute_id": attribute_id, "as_of": as_of, "attribute": attribute, "value": value}
        )
    for table in ("events", "interactions"):
        grouped: dict[str, list[dict[str, Any]]] = {}
        reader = con.execute(
            f"SELECT * FROM {table} WHERE customer_id IS NOT NULL"
        ).fetch_record_batch(1_000_000)
        for batch in reader:
            for row in batch.to_pylist():
                if table == "events":
                    row["properties"] = _parse(row["properties"])
                customer = row["customer_id"]
                grouped.setdefault(profile_of.get(customer, customer), []).append(row)
        data.activity[table] = grouped
    for model in models:
        data.previous_bands[model] = dict(
            con.execute(
                "SELECT profile_id, band FROM score_snapshots WHERE model = ? AND as_of = ?",
                [model, previous_as_of],
            ).fetchall()
        )
    return data


def _parse(text: str | None) -> dict[str, Any] | None:
    """A JSON object, numbers kept as their text (what the engine compares)."""
    if text is None:
        return None
    parsed: dict[str, Any] = json.loads(text, parse_float=str, parse_int=str)
    return parsed


# -- conditions ---------------------------------------------------------------------------------

_PATTERNS: dict[str, re.Pattern[str]] = {}


def _pattern(text: str) -> re.Pattern[str]:
    found = _PATTERNS.get(text)
    if found is None:
        found = _PATTERNS[text] = re.compile(text)
    return found


def _text(value: Any) -> str:
    """A value as the engine shows it: whole floating-point numbers without a fraction."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value == math.floor(value) and abs(value) < 1e15:
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def _read_as(value: Any, text: str) -> Any:
    """``text`` read in the type of the row's value; None when it does not read as one."""
    try:
        if isinstance(value, dt.datetime):
            return dt.datetime.fromisoformat(text)
        if isinstance(value, dt.date):
            return dt.date.fromisoformat(text)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(text)
    except ValueError:
        return None
    if isinstance(value, bool):
        word = text.strip().lower()
        return True if word in _TRUE else False if word in _FALSE else None
    return text


def _comparable(value: Any, expected: Any) -> Any:
    if isinstance(expected, bool):
        return value if isinstance(value, bool) else _text(value).lower() in _TRUE
    if isinstance(expected, int | float):
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int | float):
            return value
        text = _text(value)
        return float(text.strip()) if _NUMBER.match(text) else None
    if isinstance(expected, str) and _read_as(value, expected) is None:
        return _text(value)
    if isinstance(value, dt.date | int | float | bool):
        return value
    return _text(value)


def _constant(value: Any, expected: Any) -> Any:
    if isinstance(expected, str):
        typed = _read_as(value, expected)
        return expected if typed is None else typed
    return expected


def holds(condition: Condition, resolve: Callable[[Condition], Any]) -> bool:
    """The condition on one profile or row; a test on a missing value is false."""
    if condition.op == "all":
        return all(holds(part, resolve) for part in condition.parts)
    if condition.op == "any":
        return any(holds(part, resolve) for part in condition.parts)
    if condition.op == "not":
        return not holds(condition.parts[0], resolve)
    value = resolve(condition)
    op, expected = condition.op, condition.value
    if op == "missing":
        absent = value is None or (isinstance(value, str) and value.strip() == "")
        return absent if expected else not absent
    if value is None:
        return False
    if op == "matches":
        return _pattern(str(expected)).search(_text(value)) is not None
    if op in ("in", "not_in"):
        mixed = len({isinstance(v, str) for v in expected}) > 1
        if mixed or any(isinstance(v, str) and _read_as(value, v) is None for v in expected):
            found = _text(value) in [v if isinstance(v, str) else f"{v:g}" for v in expected]
        else:
            comparable = _comparable(value, expected[0])
            if comparable is None:
                return False
            found = comparable in [_constant(value, v) for v in expected]
        return found if op == "in" else not found
    if op == "between":
        low, high = expected
        number = _comparable(value, low)
        if number is None:
            return False
        return bool(_constant(value, low) <= number <= _constant(value, high))
    comparable = _comparable(value, expected)
    if comparable is None:
        return False
    constant = _constant(value, expected)
    if op == "equals":
        return bool(comparable == constant)
    if op == "not_equals":
        return bool(comparable != constant)
    if op == "at_least":
        return bool(comparable >= constant)
    if op == "at_most":
        return bool(comparable <= constant)
    if op == "above":
        return bool(comparable > constant)
    if op == "below":
        return bool(comparable < constant)
    raise ValueError(f"unknown operator {op}")


def _property(row: dict[str, Any], name: str) -> Any:
    properties = row["properties"]
    if properties is None:
        return None
    value = properties.get(name)
    return None if value == "" else value


def _row_value(row: dict[str, Any], leaf: Condition) -> Any:
    if leaf.subject_kind == "property":
        return _property(row, str(leaf.subject))
    return row.get(str(leaf.subject))


# -- facts of a profile -------------------------------------------------------------------------


def _fact(record: dict[str, Any], name: str, as_of: dt.date, cutoff: dt.datetime) -> Any:
    if name == "age":
        born = record["birth_date"]
        if born is None:
            return None
        before_birthday = born.month * 100 + born.day > as_of.month * 100 + as_of.day
        return as_of.year - born.year - (1 if before_birthday else 0)
    if name == "email_domain":
        email = record["email"]
        if email is None:
            return None
        found = _DOMAIN.search(email.strip().lower())
        return found.group(1) if found and found.group(1) else None
    if name == "days_since_signup":
        created = record["created_at"]
        if created is None:
            return None
        return math.floor((cutoff - created).total_seconds() / 86400)
    return record.get(name)


def _latest_attribute(records: list[dict[str, Any]], name: str, as_of: dt.date) -> Any:
    best: dict[str, Any] | None = None
    best_key: tuple[Any, ...] = ()
    for record in records:
        if record["attribute"] != name:
            continue
        if record["as_of"] is not None and record["as_of"] >= as_of:
            continue
        key = (record["as_of"] is not None, record["as_of"] or dt.date.min, record["attribute_id"])
        if best is None or key > best_key:
            best, best_key = record, key
    return best["value"] if best is not None else None


# -- implicit rules -----------------------------------------------------------------------------


def _round(value: float) -> float:
    """DuckDB's ``round(x, 4)``: half away from zero of x * 10^4."""
    return math.copysign(math.floor(abs(value) * 10_000.0 + 0.5), value) / 10_000.0


def _weight(decay: Decay, at: dt.datetime, cutoff: dt.datetime) -> float:
    age = (cutoff - at).total_seconds() / 86400.0
    if decay.kind == "half_life":
        assert decay.days is not None
        return math.exp(age / decay.days * _LN_HALF)
    if decay.kind == "percent":
        assert decay.days is not None and decay.percent is not None
        periods = math.floor(age / decay.days)
        if decay.percent >= 100:
            return 1.0 if periods < 1 else 0.0
        return math.exp(periods * math.log(1 - decay.percent / 100))
    if decay.kind == "window":
        assert decay.days is not None
        return 1.0 if age <= decay.days else 0.0
    return 1.0


def _newest(units: list[tuple[int, dt.datetime]], limit: int) -> list[tuple[int, dt.datetime]]:
    """The newest units up to ``limit`` occurrences in all (a day's unit may hold several)."""
    kept: list[tuple[int, dt.datetime]] = []
    before = 0
    for n, at in sorted(units, key=lambda unit: unit[1], reverse=True):
        if before >= limit:
            break
        kept.append((min(n, limit - before), at))
        before += n
    return kept


class _State:
    """One implicit rule's running state for one profile."""

    __slots__ = ("by_key", "count", "earned", "newest", "rule", "times")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.count = 0
        self.earned = 0.0
        self.newest: dt.datetime | None = None
        self.by_key: dict[Any, Any] = {}
        self.times: list[dt.datetime] = []


class _Rule:
    """An implicit rule prepared for the loop: its table, policy and decay."""

    def __init__(self, rule: Rule, default_decay: Decay, cutoff: dt.datetime) -> None:
        assert rule.activity is not None
        self.rule = rule
        self.table = rule.activity.table
        self.where = rule.activity.where
        self.decay = rule.decay or default_decay
        self.cutoff = cutoff
        self.window_start = (
            cutoff - dt.timedelta(days=rule.count.within_days) if rule.count else None
        )
        key = rule.per or DEFAULT_OBJECT[self.table]
        self.property_key = (
            key.removeprefix("properties.") if key.startswith("properties.") else None
        )
        self.column_key = None if self.property_key else key
        if rule.count is not None:
            self.kind = "count"
        elif rule.repeat != "every":
            self.kind = rule.repeat
        elif rule.max_per_day:
            self.kind = "max_per_day"
        elif rule.max_per_period:
            self.kind = "max_per_period"
        elif rule.max_times:
            self.kind = "max_times"
        else:
            self.kind = "every"

    def matches(self, row: dict[str, Any]) -> bool:
        return all(holds(c, lambda leaf: _row_value(row, leaf)) for c in self.where)

    def add(self, state: _State, row: dict[str, Any], at: dt.datetime) -> None:
        kind = self.kind
        if kind == "every":
            state.count += 1
            state.earned += _weight(self.decay, at, self.cutoff) * self.rule.points
        elif kind == "count":
            assert self.window_start is not None
            if at >= self.window_start:
                state.count += 1
        elif kind == "once":
            if state.newest is None or at > state.newest:
                state.newest = at
        elif kind == "per_object":
            key = _property(row, self.property_key) if self.property_key else row[self.column_key]
            if key is not None:
                key = _text(key)
                kept = state.by_key.get(key)
                if kept is None or at > kept:
                    state.by_key[key] = at
        elif kind == "per_day":
            day = at.date()
            kept = state.by_key.get(day)
            if kept is None or at > kept:
                state.by_key[day] = at
        elif kind in ("max_per_day", "max_per_period"):
            if kind == "max_per_day":
                day: Any = at.date()
            else:
                assert self.rule.max_per_period is not None
                age = (self.cutoff - at).total_seconds() / 86400.0
                day = math.floor(age / self.rule.max_per_period[1])
            kept = state.by_key.get(day)
            if kept is None:
                state.by_key[day] = [1, at]
            else:
                kept[0] += 1
                if at > kept[1]:
                    kept[1] = at
        else:
            state.times.append(at)

    def finish(self, state: _State) -> tuple[int, float] | None:
        """(matched, points) of the profile's line, or None when the rule gave it none."""
        rule, kind = self.rule, self.kind
        units: list[tuple[int, dt.datetime]]
        if kind == "every":
            if state.count == 0:
                return None
            return state.count, self._cap(state.earned)
        if kind == "count":
            assert rule.count is not None
            if state.count < rule.count.at_least:
                return None
            return state.count, self._cap(float(rule.points))
        if kind == "once":
            if state.newest is None:
                return None
            units = [(1, state.newest)]
        elif kind in ("per_object", "per_day"):
            units = [(1, at) for at in state.by_key.values()]
        elif kind == "max_per_day":
            assert rule.max_per_day is not None
            units = [(min(n, rule.max_per_day), at) for n, at in state.by_key.values()]
        elif kind == "max_per_period":
            assert rule.max_per_period is not None
            times = rule.max_per_period[0]
            units = [(min(n, times), at) for n, at in state.by_key.values()]
        else:
            units = [(1, at) for at in state.times]
        if rule.max_times:
            units = _newest(units, rule.max_times)
        if not units:
            return None
        earned = sum(n * _weight(self.decay, at, self.cutoff) * rule.points for n, at in units)
        return sum(n for n, _ in units), self._cap(earned)

    def _cap(self, points: float) -> float:
        points = _round(points)
        cap = self.rule.max_points
        if cap is None:
            return points
        return max(-cap, min(cap, points))


# -- the model ----------------------------------------------------------------------------------


@dataclass
class LoopScores:
    scores: dict[str, float]
    bands: dict[str, str | None]
    lines: dict[tuple[str, str], float]


def score_model(model: ScoringModel, data: LoopData, as_of: dt.date) -> LoopScores:
    """Every profile's score, band and ledger lines, one profile and one row at a time."""
    cutoff = dt.datetime.combine(as_of, dt.time())
    explicit = [rule for rule in model.rules if rule.when is not None]
    implicit = [_Rule(rule, model.decay, cutoff) for rule in model.rules if rule.activity]
    routes: dict[str, dict[str, list[int]]] = {}
    for index, prepared in enumerate(implicit):
        assert prepared.rule.activity is not None
        by_type = routes.setdefault(prepared.table, defaultdict(list))
        for kind in prepared.rule.activity.types:
            by_type[kind].append(index)
    previous = data.previous_bands.get(model.name, {})
    result = LoopScores({}, {}, {})
    for profile, record in data.profiles.items():
        attributes = data.attributes.get(profile, [])
        lines: list[tuple[str, str | None, float]] = []

        def resolve(leaf: Condition) -> Any:
            if leaf.subject_kind == "attribute":
                return _latest_attribute(attributes, str(leaf.subject), as_of)  # noqa: B023
            return _fact(record, str(leaf.subject), as_of, cutoff)  # noqa: B023

        for rule in explicit:
            assert rule.when is not None
            if holds(rule.when, resolve):
                points = _round(float(rule.points))
                if rule.max_points is not None:
                    points = max(-rule.max_points, min(rule.max_points, points))
                lines.append((rule.name, rule.group, points))
        states = [_State(prepared.rule) for prepared in implicit]
        for table, by_type in routes.items():
            type_column = ACTIVITY_TABLES[table]
            for row in data.activity.get(table, {}).get(profile, ()):
                at = row["occurred_at"]
                if at >= cutoff:
                    continue
                for index in by_type.get(row[type_column], ()):
                    prepared = implicit[index]
                    if prepared.matches(row):
                        prepared.add(states[index], row, at)
        for prepared, state in zip(implicit, states, strict=True):
            line = prepared.finish(state)
            if line is not None:
                lines.append((prepared.rule.name, prepared.rule.group, line[1]))
        lines.extend(_group_caps(model, lines))
        lines.extend(_limits(model, lines))
        score = _round(sum(points for _, _, points in lines))
        result.scores[profile] = score
        result.bands[profile] = _band(model, score, previous.get(profile))
        for name, _group, points in lines:
            result.lines[(profile, name)] = points
    return result


def _group_caps(
    model: ScoringModel, lines: list[tuple[str, str | None, float]]
) -> list[tuple[str, str | None, float]]:
    extra: list[tuple[str, str | None, float]] = []
    for name, group in model.groups.items():
        in_group = [points for _, g, points in lines if g == name]
        if not in_group:
            continue
        total = sum(in_group)
        if group.max is not None and total > group.max:
            extra.append((f"cap:{name}", name, _round(group.max - total)))
        if group.min is not None and total < group.min:
            extra.append((f"cap:{name}", name, _round(group.min - total)))
    return extra


def _limits(
    model: ScoringModel, lines: list[tuple[str, str | None, float]]
) -> list[tuple[str, str | None, float]]:
    if not lines:
        return []
    total = sum(points for _, _, points in lines)
    if model.maximum is not None and total > model.maximum:
        return [("limit:maximum", None, _round(model.maximum - total))]
    if model.minimum is not None and total < model.minimum:
        return [("limit:minimum", None, _round(model.minimum - total))]
    return []


def _band(model: ScoringModel, score: float, previous: str | None) -> str | None:
    if not model.bands:
        return None
    rank = 0
    for index, band in enumerate(model.bands[1:], start=1):
        assert band.min is not None
        if score >= band.min:
            rank = index
    names = [band.name for band in model.bands]
    previous_rank = names.index(previous) if previous in names else None
    if previous_rank is not None:
        if not model.can_move_down:
            rank = max(rank, previous_rank)
        elif model.hysteresis > 0 and rank < previous_rank:
            low = model.bands[previous_rank].min
            if score >= (-math.inf if low is None else low) - model.hysteresis:
                rank = previous_rank
    return names[rank]
