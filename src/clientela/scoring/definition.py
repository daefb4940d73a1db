"""Scoring models as people write them (YAML) and as the engine reads them (frozen values).

A model file is validated by pydantic models with line-precise errors (``clientela.yamlfile``);
:func:`parse_model` turns it into a :class:`ScoringModel`, a tree of frozen dataclasses that the
engine compiles to Ibis.  The file's text is stored in the datamart (``score_models``) with a
version that grows whenever the text changes, so a past run says which rules made it.

The format is documented with examples in ``docs/scoring.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from clientela.errors import ConfigError
from clientela.scoring._model_errors import model_error
from clientela.scoring._spec import (
    ACTIVITY_TABLES,
    DEFAULT_OBJECT,
    OPERATORS,
    SUBJECTS,
    ConditionSpec,
    DecaySpec,
    ModelSpec,
    Repeat,
    RuleSpec,
    SubjectKind,
    attr,
    group_parts,
    num,
)
from clientela.yamlfile import _LineLoader, read_yaml

__all__ = [
    "ACTIVITY_TABLES",
    "DEFAULT_OBJECT",
    "Activity",
    "Band",
    "Condition",
    "CountWindow",
    "Decay",
    "Group",
    "LevelCutoffs",
    "Rule",
    "ScoringModel",
    "load_model_file",
    "parse_model",
    "parse_model_text",
]

# -- values the engine reads ------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """A test on one subject (``op`` a comparison) or a group (``op`` all / any / not)."""

    op: str
    subject_kind: SubjectKind | None = None
    subject: str | None = None
    value: Any = None
    parts: tuple[Condition, ...] = ()
    line: int | None = None

    def leaves(self) -> list[Condition]:
        if self.subject is not None:
            return [self]
        return [leaf for part in self.parts for leaf in part.leaves()]


@dataclass(frozen=True)
class Decay:
    """How implicit points lose weight with age (days before the as-of date).

    ``none``: factor 1. ``window``: 1 up to ``days`` old, else 0. ``half_life``: 0.5 ** (age /
    days). ``percent``: (1 - percent / 100) ** floor(age / days).
    """

    kind: Literal["none", "window", "half_life", "percent"] = "none"
    days: float | None = None
    percent: float | None = None

    def describe(self) -> str:
        if self.kind == "window":
            return f"window of {num(self.days)} days"
        if self.kind == "half_life":
            return f"half-life of {num(self.days)} days"
        if self.kind == "percent":
            return f"-{num(self.percent)}% every {num(self.days)} days"
        return "none"


@dataclass(frozen=True)
class CountWindow:
    """Points once when at least ``at_least`` matching rows fall in the last ``within_days``."""

    at_least: int
    within_days: int


@dataclass(frozen=True)
class Activity:
    table: str
    types: tuple[str, ...]
    where: tuple[Condition, ...]
    line: int | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    points: float
    description: str = ""
    group: str | None = None
    when: Condition | None = None
    activity: Activity | None = None
    repeat: Repeat = "every"
    per: str | None = None
    max_per_day: int | None = None
    # (times, days): at most ``times`` rows in each ``days``-day period back from the as-of date
    max_per_period: tuple[int, int] | None = None
    max_times: int | None = None
    max_points: float | None = None
    count: CountWindow | None = None
    decay: Decay | None = None
    line: int | None = None

    @property
    def implicit(self) -> bool:
        return self.activity is not None


@dataclass(frozen=True)
class Band:
    name: str
    min: float | None
    max: float | None

    def holds(self, score: float) -> bool:
        low = -math.inf if self.min is None else self.min
        high = math.inf if self.max is None else self.max
        return low <= score < high


@dataclass(frozen=True)
class Group:
    name: str
    max: float | None = None
    min: float | None = None


@dataclass(frozen=True)
class LevelCutoffs:
    """Interest levels of list scoring: high from ``high``, medium from ``medium``, else low."""

    high: float
    medium: float


@dataclass(frozen=True)
class ScoringModel:
    name: str
    description: str
    rules: tuple[Rule, ...]
    bands: tuple[Band, ...]
    groups: dict[str, Group]
    decay: Decay
    maximum: float | None
    minimum: float | None
    hysteresis: float
    can_move_down: bool
    levels: LevelCutoffs | None
    text: str
    source_file: str | None = None
    version: int = 0

    def band_of(self, score: float) -> str | None:
        """The band a score falls in without history (no hysteresis, free to move down)."""
        for band in self.bands:
            if band.holds(score):
                return band.name
        return None

    def rule(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def attributes(self) -> list[str]:
        """Third-party attribute names that explicit rules test."""
        return self._subjects("attribute")

    def fields(self) -> list[str]:
        """Profile fields (customer columns, derived values, KPIs) that explicit rules test."""
        return self._subjects("field")

    def _subjects(self, kind: str) -> list[str]:
        found: list[str] = []
        for rule in self.rules:
            if rule.when is None:
                continue
            for leaf in rule.when.leaves():
                if leaf.subject_kind == kind and leaf.subject not in found:
                    found.append(str(leaf.subject))
        return found


# -- from the file to the values --------------------------------------------------------------


def load_model_file(path: Path) -> ScoringModel:
    """Read and validate a model file; ConfigError with the line on any problem."""
    data = read_yaml(path)
    if data is None:
        raise ConfigError("the file is empty", file=path)
    return parse_model(data, path.read_text(encoding="utf-8-sig"), path)


def parse_model_text(text: str, source: str | None = None) -> ScoringModel:
    """Parse a model from its YAML text (as stored in the datamart)."""
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise ConfigError(f"invalid YAML: {exc.problem}", file=source, line=line) from None
    return parse_model(data, text, Path(source) if source else None)


def parse_model(data: Any, text: str, path: Path | None) -> ScoringModel:
    if not isinstance(data, dict):
        raise ConfigError("a scoring model is a mapping (name, rules, bands...)", file=path, line=1)
    try:
        spec = ModelSpec.model_validate(data)
    except ValidationError as exc:
        raise model_error(exc, ModelSpec, data, path) from None
    rule_lines = _lines(data, "rules")
    rules = tuple(
        _rule(rule, raw, rule_lines[i] if i < len(rule_lines) else None)
        for i, (rule, raw) in enumerate(zip(spec.rules, data.get("rules") or [], strict=False))
    )
    return ScoringModel(
        name=spec.name,
        description=spec.description,
        rules=rules,
        bands=tuple(Band(b.name, b.min, b.max) for b in spec.bands),
        groups={name: Group(name, g.max, g.min) for name, g in spec.groups.items()},
        decay=_decay(spec.decay) or Decay(),
        maximum=spec.maximum,
        minimum=spec.minimum,
        hysteresis=spec.hysteresis,
        can_move_down=spec.can_move_down,
        levels=LevelCutoffs(spec.levels.high, spec.levels.medium) if spec.levels else None,
        text=text,
        source_file=str(path) if path is not None else None,
    )


def _lines(data: Any, key: str) -> list[int | None]:
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    return [getattr(item, "line", None) for item in items]


def _rule(spec: RuleSpec, raw: Any, line: int | None) -> Rule:
    raw_activity = raw.get("activity") if isinstance(raw, dict) else None
    activity = None
    if spec.activity is not None:
        types = spec.activity.type
        type_list = (types,) if isinstance(types, str) else tuple(types or ())
        raw_where = raw_activity.get("where") if isinstance(raw_activity, dict) else None
        activity = Activity(
            table=spec.activity.table,
            types=type_list,
            where=tuple(
                _condition(c, w) for c, w in zip(spec.activity.where, raw_where or [], strict=False)
            ),
            line=getattr(raw_activity, "line", line),
        )
    return Rule(
        name=spec.name,
        points=spec.points,
        description=spec.description,
        group=spec.group,
        when=_condition(spec.when, raw.get("when") if isinstance(raw, dict) else None)
        if spec.when
        else None,
        activity=activity,
        repeat=spec.repeat,
        per=spec.per,
        max_per_day=spec.max_per_day,
        max_per_period=(
            (spec.max_per_period.times, spec.max_per_period.days) if spec.max_per_period else None
        ),
        max_times=spec.max_times,
        max_points=spec.max_points,
        count=CountWindow(spec.count.at_least, spec.count.within_days) if spec.count else None,
        decay=_decay(spec.decay),
        line=line,
    )


def _decay(spec: Literal["none"] | DecaySpec | None) -> Decay | None:
    if spec is None:
        return None
    if spec == "none":
        return Decay()
    assert isinstance(spec, DecaySpec)
    if spec.half_life_days is not None:
        return Decay("half_life", spec.half_life_days)
    if spec.window_days is not None:
        return Decay("window", spec.window_days)
    return Decay("percent", spec.every_days, spec.percent)


def _condition(spec: ConditionSpec, raw: Any) -> Condition:
    line = getattr(raw, "line", None)
    group = group_parts(spec, raw)
    if group is not None:
        op, parts = group
        return Condition(op=op, parts=tuple(_condition(p, r) for p, r in parts), line=line)
    kind = next(s for s in SUBJECTS if getattr(spec, s) is not None)
    operator = next(o for o in OPERATORS if getattr(spec, attr(o)) is not None)
    value = getattr(spec, attr(operator))
    if isinstance(value, list):
        value = tuple(value)
    return Condition(
        op=operator,
        subject_kind=kind,  # type: ignore[arg-type]
        subject=getattr(spec, kind),
        value=value,
        line=line,
    )
