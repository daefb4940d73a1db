"""Properties of the scoring engine on random data and random models (DuckDB).

For random customers, attributes and events, and random rules (points, repeat policies, caps,
decays, groups, limits): every score is the sum of its ledger lines, and equals a plain-Python
evaluation of the same rules written from the model's documentation; and the events each
behaviour rule counted (``score explain --events``) add up to its line.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from clientela.config import Settings
from clientela.datamart import Datamart, connect, migrate
from clientela.scoring import parse_model_text
from clientela.scoring.definition import ScoringModel
from clientela.services._score_counted import counted_for
from clientela.services.scoring import score_profiles
from tests.scoring._rows import AS_OF, CUTOFF, insert

PROFILES = ("p0", "p1", "p2", "p3")
_NUMBER = re.compile(r"^\s*[-+]?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\s*$")


@pytest.fixture(scope="module")
def mart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Datamart, Settings]]:
    settings_ = Settings(db=str(tmp_path_factory.mktemp("properties") / "datamart.duckdb"))
    dm = connect(settings_)
    migrate(dm)
    yield dm, settings_
    dm.close()


# -- random data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    customer: str
    event_type: str
    hours_ago: int  # 0: at the start of the as-of date, so not counted yet
    object_id: str | None
    page: str | None

    @property
    def at(self) -> dt.datetime:
        return CUTOFF - dt.timedelta(hours=self.hours_ago)

    @property
    def age(self) -> float:
        return self.hours_ago / 24


events_strategy = st.lists(
    st.builds(
        Event,
        customer=st.sampled_from(["p0", "p0", "p0", "p1", "p2", "p3"]),  # p0: many events
        event_type=st.sampled_from(["page_view", "page_view", "email_open"]),
        hours_ago=st.integers(min_value=0, max_value=24 * 30),
        object_id=st.sampled_from(["o1", "o2", "o3", "o4", "o5", None]),
        page=st.sampled_from(["/a", "/b", None]),
    ),
    min_size=10,
    max_size=40,
)
regions = st.fixed_dictionaries({p: st.sampled_from(["X", "Y", " ", None]) for p in PROFILES})
levels = st.fixed_dictionaries(
    {p: st.sampled_from(["1", "5", " 10 ", "abc", None]) for p in PROFILES}
)

# -- random models ----------------------------------------------------------------------------

points = st.integers(min_value=-10, max_value=10)
decays = st.one_of(
    st.just("none"),
    st.builds(lambda d: {"window_days": d}, st.integers(1, 60)),
    st.builds(lambda d: {"half_life_days": d}, st.integers(1, 60)),
    st.builds(
        lambda p, d: {"percent": p, "every_days": d},
        st.sampled_from([10, 50, 100]),
        st.integers(1, 30),
    ),
)
conditions = st.one_of(
    st.just({"field": "region", "equals": "X"}),
    st.just({"field": "region", "missing": True}),
    st.builds(lambda k: {"attribute": "level", "at_least": k}, st.integers(0, 12)),
    st.just({"not": {"attribute": "level", "missing": True}}),
)


@st.composite
def implicit_rules(draw: st.DrawFn) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "points": draw(points),
        "activity": {"type": draw(st.sampled_from(["page_view", "email_open"]))},
    }
    if draw(st.booleans()):
        rule["activity"]["where"] = [{"property": "page", "equals": "/a"}]
    if draw(st.integers(0, 4)) == 0:
        rule["count"] = {
            "at_least": draw(st.integers(1, 3)),
            "within_days": draw(st.integers(1, 60)),
        }
        return rule
    repeat = draw(st.sampled_from(["every", "once", "per_object", "per_day"]))
    rule["repeat"] = repeat
    if repeat == "per_object" and draw(st.booleans()):
        rule["per"] = "properties.page"
    if repeat == "every" and draw(st.booleans()):
        rule["max_per_day"] = draw(st.integers(1, 2))
    if draw(st.booleans()):
        rule["max_times"] = draw(st.integers(1, 3))
    if draw(st.integers(0, 3)) == 0:
        rule["max_points"] = draw(st.integers(1, 15))
    if draw(st.booleans()):
        rule["decay"] = draw(decays)
    return rule


@st.composite
def models(draw: st.DrawFn) -> dict[str, Any]:
    explicit = st.builds(lambda p, c: {"points": p, "when": c}, points, conditions)
    rule = st.one_of(explicit, implicit_rules(), implicit_rules())
    rules = draw(st.lists(rule, min_size=4, max_size=10))
    for i, rule in enumerate(rules):
        rule["name"] = f"r{i}"
        group = draw(st.sampled_from([None, None, None, "up", "down"]))
        if group:
            rule["group"] = group
    model: dict[str, Any] = {"name": "random", "rules": rules}
    model["groups"] = {
        "up": {"max": draw(st.integers(0, 20))},
        "down": {"min": draw(st.integers(-20, 0))},
    }
    if draw(st.booleans()):
        model["decay"] = draw(decays)
    if draw(st.booleans()):
        model["maximum"] = draw(st.integers(0, 40))
    if draw(st.booleans()):
        model["minimum"] = draw(st.integers(-40, 0))
    return model


# -- the same rules in plain Python -----------------------------------------------------------


def _factor(decay: Any, age: float) -> float:
    if decay is None or decay == "none":
        return 1.0
    if "window_days" in decay:
        return 1.0 if age <= decay["window_days"] else 0.0
    if "half_life_days" in decay:
        return float(0.5 ** (age / decay["half_life_days"]))
    periods = math.floor(age / decay["every_days"])
    return float((1 - decay["percent"] / 100) ** periods)


def _holds(condition: dict[str, Any], region: str | None, level: str | None) -> bool:
    if "not" in condition:
        return not _holds(condition["not"], region, level)
    if condition.get("field") == "region":
        if "missing" in condition:
            return region is None or not region.strip()
        return region == condition["equals"]
    if "missing" in condition:
        return level is None or not level.strip()
    return (
        level is not None and bool(_NUMBER.match(level)) and float(level) >= condition["at_least"]
    )


def _implicit(rule: dict[str, Any], mine: list[Event], default_decay: Any) -> float | None:
    """The points of one implicit rule for one profile's events (None: no ledger line)."""
    activity = rule["activity"]
    rows = [e for e in mine if e.hours_ago > 0 and e.event_type == activity["type"]]
    if activity.get("where"):
        rows = [e for e in rows if e.page == "/a"]
    if "count" in rule:
        recent = [e for e in rows if e.age <= rule["count"]["within_days"]]
        return float(rule["points"]) if len(recent) >= rule["count"]["at_least"] else None
    # units: (hours_ago of the newest row of the unit, occurrences)
    repeat = rule["repeat"]
    groups: dict[Any, list[Event]] = {}
    for event in rows:
        if repeat == "once":
            key: Any = "all"
        elif repeat == "per_object":
            key = event.page if rule.get("per") else event.object_id
            if key is None:
                continue
        elif repeat == "per_day" or rule.get("max_per_day"):
            key = event.at.date()
        else:
            key = id(event)
        groups.setdefault(key, []).append(event)
    units = []
    for members in groups.values():
        newest = min(e.hours_ago for e in members)
        count = len(members) if repeat == "every" else 1
        units.append((newest, min(count, rule.get("max_per_day", count))))
    if not units:
        return None
    if "max_times" in rule:
        kept, before = [], 0
        for newest, count in sorted(units):
            if before >= rule["max_times"]:
                break
            kept.append((newest, min(count, rule["max_times"] - before)))
            before += count
        units = kept
    decay = rule.get("decay", default_decay)
    earned = sum(count * _factor(decay, newest / 24) * rule["points"] for newest, count in units)
    earned = round(earned, 4)
    if "max_points" in rule:
        earned = max(-rule["max_points"], min(rule["max_points"], earned))
    return earned


def _expected_scores(
    model: dict[str, Any],
    events: list[Event],
    region: dict[str, str | None],
    level: dict[str, str | None],
) -> dict[str, float]:
    scores = {}
    for profile in PROFILES:
        mine = [e for e in events if e.customer == profile]
        lines: list[tuple[str | None, float]] = []
        for rule in model["rules"]:
            if "when" in rule:
                got = (
                    float(rule["points"])
                    if _holds(rule["when"], region[profile], level[profile])
                    else None
                )
            else:
                got = _implicit(rule, mine, model.get("decay", "none"))
            if got is not None:
                lines.append((rule.get("group"), got))
        total = sum(p for _, p in lines)
        for name, group in model["groups"].items():
            members = [p for g, p in lines if g == name]
            if not members:
                continue
            subtotal = sum(members)
            if "max" in group and subtotal > group["max"]:
                total += group["max"] - subtotal
            if "min" in group and subtotal < group["min"]:
                total += group["min"] - subtotal
        if "maximum" in model and total > model["maximum"]:
            total = model["maximum"]
        if "minimum" in model and total < model["minimum"]:
            total = model["minimum"]
        scores[profile] = total
    return scores


# -- the property -----------------------------------------------------------------------------


def _load(dm: Datamart, events: list[Event], region: dict[str, Any], level: dict[str, Any]) -> None:
    for table in ("customers", "events", "third_party"):
        dm.sql(f"DELETE FROM {table}")
    insert(dm, "customers", [{"customer_id": p, "region": region[p]} for p in PROFILES])
    values = [{"customer_id": p, "attribute": "level", "value": v} for p, v in level.items() if v]
    if values:
        insert(dm, "third_party", values)
    if events:
        insert(
            dm,
            "events",
            [
                {
                    "customer_id": e.customer,
                    "event_type": e.event_type,
                    "occurred_at": e.at,
                    "object_id": e.object_id,
                    "properties": json.dumps({"page": e.page}) if e.page else None,
                }
                for e in events
            ],
        )


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # shrinking would rescore hundreds of times
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(model=models(), events=events_strategy, region=regions, level=levels)
def test_scores_are_their_ledgers_and_match_plain_python(
    mart: tuple[Datamart, Settings],
    model: dict[str, Any],
    events: list[Event],
    region: dict[str, str | None],
    level: dict[str, str | None],
) -> None:
    dm, settings_ = mart
    _load(dm, events, region, level)
    parsed = parse_model_text(yaml.safe_dump(model, sort_keys=False))
    result = score_profiles(dm, settings_, parsed, as_of=AS_OF)
    scores = {r["profile_id"]: r["score"] for r in result.scores.to_pylist()}
    sums = dict.fromkeys(PROFILES, 0.0)
    for line in result.ledger.to_pylist():
        sums[line["profile_id"]] += line["points"]
    expected = _expected_scores(model, events, region, level)
    assert scores.keys() == set(PROFILES)
    for profile in PROFILES:
        assert scores[profile] == pytest.approx(sums[profile], abs=1e-6), profile
        assert scores[profile] == pytest.approx(expected[profile], abs=1e-3), profile
    _check_counted(dm, parsed, result.ledger.to_pylist())


def _check_counted(dm: Datamart, model: ScoringModel, ledger: list[dict[str, Any]]) -> None:
    """Each behaviour rule's counted units add up to its line: the points (before its
    ``max_points``) and the occurrences; a count rule's rows in its window are its matches,
    and it has a line exactly when there are enough of them."""
    rules = {rule.name: rule for rule in model.rules if rule.activity is not None}
    lines = {(line["profile_id"], line["rule"]): line for line in ledger if line["rule"] in rules}
    for profile in PROFILES:
        units: dict[str, list[Any]] = {}
        for unit in counted_for(dm, model, profile, AS_OF):
            units.setdefault(unit.rule, []).append(unit)
        for name, rule in rules.items():
            mine = units.get(name, [])
            line = lines.get((profile, name))
            if rule.count is not None:
                assert (line is not None) == (len(mine) >= rule.count.at_least), (profile, name)
                if line is not None:
                    assert line["matched"] == len(mine), (profile, name)
                continue
            assert (line is not None) == bool(mine), (profile, name)
            if line is None:
                continue
            total = sum(unit.points for unit in mine)
            if rule.max_points is not None:
                total = max(-rule.max_points, min(rule.max_points, total))
            assert line["points"] == pytest.approx(total, abs=1e-3), (profile, name)
            assert line["matched"] == sum(unit.occurrences for unit in mine), (profile, name)


def test_the_plain_python_decay_formulas() -> None:
    """The reference above reads the decays as the engine documents them."""
    assert _factor({"half_life_days": 30}, 30) == 0.5
    assert _factor({"window_days": 7}, 7) == 1.0
    assert _factor({"percent": 50, "every_days": 30}, 59.9) == 0.5
    assert _factor({"percent": 100, "every_days": 30}, 30) == 0.0
