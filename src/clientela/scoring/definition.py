"""Scoring models as people write them (YAML) and as the engine reads them (frozen values).

A model file is validated by pydantic models with line-precise errors (``clientela.yamlfile``);
:func:`parse_model` turns it into a :class:`ScoringModel`, a tree of frozen dataclasses that the
engine compiles to Ibis.  The file's text is stored in the datamart (``score_models``) with a
version that grows whenever the text changes, so a past run says which rules made it.

The format is documented with examples in ``docs/scoring.md``.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from clientela.errors import ConfigError, suggest
from clientela.scoring._model_errors import ModelProblemError, model_error
from clientela.yamlfile import _LineLoader, read_yaml

__all__ = [
    "ACTIVITY_TABLES",
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

Operator = Literal[
    "equals",
    "not_equals",
    "in",
    "not_in",
    "at_least",
    "at_most",
    "above",
    "below",
    "between",
    "matches",
    "missing",
]
SubjectKind = Literal["field", "attribute", "column", "property"]
Repeat = Literal["every", "once", "per_object", "per_day"]

# The datamart tables an implicit rule can count, and the column its ``type`` filters on.
ACTIVITY_TABLES: dict[str, str] = {
    "events": "event_type",
    "interactions": "kind",
    "transactions": "kind",
    "social": "kind",
}
# What ``per_object`` counts once by default, per table.
DEFAULT_OBJECT: dict[str, str] = {
    "events": "object_id",
    "interactions": "offer_id",
    "transactions": "product_id",
    "social": "network",
}

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
# Look-arounds, named groups and back-references: Python reads them, DuckDB (RE2) or
# PostgreSQL does not.
_UNPORTABLE_PATTERN = re.compile(r"\(\?(<?[=!]|P)|\\[1-9]")


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
            return f"window of {_num(self.days)} days"
        if self.kind == "half_life":
            return f"half-life of {_num(self.days)} days"
        if self.kind == "percent":
            return f"-{_num(self.percent)}% every {_num(self.days)} days"
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
        found: list[str] = []
        for rule in self.rules:
            if rule.when is None:
                continue
            for leaf in rule.when.leaves():
                if leaf.subject_kind == "attribute" and leaf.subject not in found:
                    found.append(str(leaf.subject))
        return found


# -- the file format (pydantic) ---------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_SUBJECTS = ("field", "attribute", "column", "property")
_OPERATORS: tuple[str, ...] = Operator.__args__  # type: ignore[attr-defined]


class ConditionSpec(_Strict):
    """One test (a subject and one operator) or a group (``all``, ``any``, ``not``)."""

    field: str | None = None
    attribute: str | None = None
    column: str | None = None
    property: str | None = None
    equals: str | float | bool | None = None
    not_equals: str | float | bool | None = None
    in_: list[str | float] | None = Field(default=None, alias="in")
    not_in: list[str | float] | None = None
    at_least: float | None = None
    at_most: float | None = None
    above: float | None = None
    below: float | None = None
    between: tuple[float, float] | None = None
    matches: str | None = None
    missing: bool | None = None
    all: list[ConditionSpec] | None = None
    any: list[ConditionSpec] | None = None
    not_: ConditionSpec | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one_test(self) -> ConditionSpec:
        groups = [g for g in ("all", "any", "not_") if getattr(self, g) is not None]
        subjects = [s for s in _SUBJECTS if getattr(self, s) is not None]
        operators = [o for o in _OPERATORS if getattr(self, _attr(o)) is not None]
        if groups:
            if subjects or operators or len(groups) > 1:
                raise ValueError("a group (all, any, not) stands alone in its condition")
            return self
        if len(subjects) != 1:
            raise ValueError(
                "a condition names exactly one of field, attribute, column or property "
                f"(got {', '.join(subjects) or 'none'})"
            )
        if len(operators) != 1:
            raise ValueError(
                f"a condition has exactly one operator of {', '.join(_OPERATORS)} "
                f"(got {', '.join(operators) or 'none'})"
            )
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                raise ValueError(f"'matches' is not a valid pattern: {exc}") from None
            if _UNPORTABLE_PATTERN.search(self.matches):
                raise ValueError(
                    "'matches' uses a look-around, a named group or a back-reference, which "
                    "the datamart's regular expressions (DuckDB, PostgreSQL) do not all support"
                )
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError("'between' needs the lower bound first")
        return self


def _attr(operator: str) -> str:
    return {"in": "in_", "not": "not_"}.get(operator, operator)


class DecaySpec(_Strict):
    half_life_days: float | None = Field(default=None, gt=0)
    window_days: float | None = Field(default=None, gt=0)
    percent: float | None = Field(default=None, gt=0, le=100)
    every_days: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_kind(self) -> DecaySpec:
        kinds = [
            k
            for k, v in (
                ("half_life_days", self.half_life_days),
                ("window_days", self.window_days),
                ("percent", self.percent),
            )
            if v is not None
        ]
        if len(kinds) != 1:
            raise ValueError(
                "a decay is one of half_life_days, window_days or percent with every_days "
                f"(got {', '.join(kinds) or 'none'})"
            )
        if (self.percent is None) != (self.every_days is None):
            raise ValueError("'percent' and 'every_days' go together")
        return self


class CountSpec(_Strict):
    at_least: int = Field(ge=1)
    within_days: int = Field(ge=1)


class ActivitySpec(_Strict):
    table: Literal["events", "interactions", "transactions", "social"] = "events"
    type: str | list[str] | None = None
    where: list[ConditionSpec] = []


class RuleSpec(_Strict):
    name: str
    description: str = ""
    points: float
    group: str | None = None
    when: ConditionSpec | None = None
    activity: ActivitySpec | None = None
    repeat: Repeat = "every"
    per: str | None = None
    max_per_day: int | None = Field(default=None, ge=1)
    max_times: int | None = Field(default=None, ge=1)
    max_points: float | None = Field(default=None, gt=0)
    count: CountSpec | None = None
    decay: Literal["none"] | DecaySpec | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError("a rule name starts with a letter and holds letters, digits, _ . -")
        return name

    @model_validator(mode="after")
    def _explicit_or_implicit(self) -> RuleSpec:
        if (self.when is None) == (self.activity is None):
            raise ValueError(
                f"rule '{self.name}' needs either 'when' (a test on the profile) or 'activity' "
                "(points for behaviour)" + (", not both" if self.when is not None else "")
            )
        if self.activity is None:
            implicit_only = [
                key
                for key in ("per", "max_per_day", "max_times", "count", "decay")
                if getattr(self, key) is not None
            ]
            if self.repeat != "every":
                implicit_only.append("repeat")
            if implicit_only:
                raise ValueError(
                    f"rule '{self.name}': {', '.join(implicit_only)} only apply to 'activity' rules"
                )
        if self.count is not None and (
            self.repeat != "every" or self.max_per_day or self.max_times or self.per
        ):
            raise ValueError(
                f"rule '{self.name}': 'count' gives its points once; it does not combine with "
                "repeat, per, max_per_day or max_times"
            )
        if self.per is not None and self.repeat != "per_object":
            raise ValueError(f"rule '{self.name}': 'per' needs repeat: per_object")
        if self.max_per_day is not None and self.repeat != "every":
            raise ValueError(f"rule '{self.name}': 'max_per_day' needs repeat: every")
        return self


class BandSpec(_Strict):
    name: str
    min: float | None = None
    max: float | None = None


class GroupSpec(_Strict):
    max: float | None = None
    min: float | None = None


class LevelsSpec(_Strict):
    high: float
    medium: float

    @model_validator(mode="after")
    def _ordered(self) -> LevelsSpec:
        if self.medium > self.high:
            raise ValueError("'medium' must not be above 'high'")
        return self


class ModelSpec(_Strict):
    name: str
    description: str = ""
    decay: Literal["none"] | DecaySpec = "none"
    maximum: float | None = None
    minimum: float | None = None
    groups: dict[str, GroupSpec] = {}
    bands: list[BandSpec] = []
    hysteresis: float = Field(default=0.0, ge=0)
    can_move_down: bool = True
    levels: LevelsSpec | None = None
    rules: list[RuleSpec] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError("a model name starts with a letter and holds letters, digits, _ . -")
        return name

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        names = [rule.name for rule in self.rules]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise ModelProblemError(
                    f"rule names must be unique: '{name}' is used twice", "rules", index
                )
        for index, rule in enumerate(self.rules):
            if rule.group is not None and self.groups and rule.group not in self.groups:
                hint = suggest(rule.group, self.groups)
                raise ModelProblemError(
                    f"rule '{rule.name}' names group '{rule.group}', which 'groups' does not "
                    f"define{hint}",
                    "rules",
                    index,
                    "group",
                )
        if self.maximum is not None and self.minimum is not None and self.minimum > self.maximum:
            raise ModelProblemError("'minimum' must not be above 'maximum'", "minimum")
        _check_bands(self.bands)
        return self


def _check_bands(bands: list[BandSpec]) -> None:
    if not bands:
        return
    names = [band.name for band in bands]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise ModelProblemError(
                f"band names must be unique: '{name}' is used twice", "bands", index
            )
    for index, band in enumerate(bands):
        if band.min is not None and band.max is not None and band.min >= band.max:
            raise ModelProblemError(
                f"band '{band.name}' has min {_num(band.min)} >= max {_num(band.max)}",
                "bands",
                index,
            )
    for index, (low, high) in enumerate(itertools.pairwise(bands), start=1):
        if _lower_end(high) < _lower_end(low):
            raise ModelProblemError(
                f"bands must be listed from the lowest to the highest: '{high.name}' comes "
                f"after '{low.name}'",
                "bands",
                index,
            )
    if bands[0].min is not None:
        raise ModelProblemError(
            f"the lowest band '{bands[0].name}' must have no 'min' so that every score has a band",
            "bands",
            0,
            "min",
        )
    if bands[-1].max is not None:
        raise ModelProblemError(
            f"the highest band '{bands[-1].name}' must have no 'max' so that every score has a "
            "band",
            "bands",
            len(bands) - 1,
            "max",
        )
    for index, (low, high) in enumerate(itertools.pairwise(bands), start=1):
        if low.max is None:
            raise ModelProblemError(
                f"band '{low.name}' needs a 'max' (band '{high.name}' follows it)",
                "bands",
                index - 1,
            )
        if high.min is None:
            raise ModelProblemError(
                f"band '{high.name}' needs a 'min' (it follows band '{low.name}')", "bands", index
            )
        if high.min < low.max:
            raise ModelProblemError(
                f"bands '{low.name}' (below {_num(low.max)}) and '{high.name}' (from "
                f"{_num(high.min)}) overlap",
                "bands",
                index,
                "min",
            )
        if high.min > low.max:
            raise ModelProblemError(
                f"bands '{low.name}' and '{high.name}' leave a gap between {_num(low.max)} and "
                f"{_num(high.min)}",
                "bands",
                index,
                "min",
            )


def _lower_end(band: BandSpec) -> float:
    return -math.inf if band.min is None else band.min


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}"


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
    for group in ("all", "any"):
        parts = getattr(spec, group)
        if parts is not None:
            raw_parts = raw.get(group) if isinstance(raw, dict) else None
            raw_list = raw_parts if isinstance(raw_parts, list) else [None] * len(parts)
            return Condition(
                op=group,
                parts=tuple(_condition(p, r) for p, r in zip(parts, raw_list, strict=False)),
                line=line,
            )
    if spec.not_ is not None:
        raw_not = raw.get("not") if isinstance(raw, dict) else None
        return Condition(op="not", parts=(_condition(spec.not_, raw_not),), line=line)
    kind = next(s for s in _SUBJECTS if getattr(spec, s) is not None)
    operator = next(o for o in _OPERATORS if getattr(spec, _attr(o)) is not None)
    value = getattr(spec, _attr(operator))
    if isinstance(value, list):
        value = tuple(value)
    return Condition(
        op=operator,
        subject_kind=kind,  # type: ignore[arg-type]
        subject=getattr(spec, kind),
        value=value,
        line=line,
    )
