"""The scoring-model file format: pydantic models with line-precise errors.

:mod:`clientela.scoring.definition` turns a validated :class:`ModelSpec` into the frozen values
the engine reads.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clientela.errors import suggest
from clientela.scoring._model_errors import ModelProblemError

__all__ = [
    "ACTIVITY_TABLES",
    "DEFAULT_OBJECT",
    "OPERATORS",
    "SUBJECTS",
    "ActivitySpec",
    "BandSpec",
    "ConditionSpec",
    "CountSpec",
    "DecaySpec",
    "GroupSpec",
    "LevelsSpec",
    "ModelSpec",
    "Operator",
    "PeriodCapSpec",
    "Repeat",
    "RuleSpec",
    "SubjectKind",
    "attr",
    "group_parts",
    "num",
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

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
# Look-arounds, named groups and back-references: Python reads them, DuckDB (RE2) or
# PostgreSQL does not.
UNPORTABLE_PATTERN = re.compile(r"\(\?(<?[=!]|P)|\\[1-9]")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


SUBJECTS = ("field", "attribute", "column", "property")
OPERATORS: tuple[str, ...] = Operator.__args__  # type: ignore[attr-defined]


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
        subjects = [s for s in SUBJECTS if getattr(self, s) is not None]
        operators = [o for o in OPERATORS if getattr(self, attr(o)) is not None]
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
                f"a condition has exactly one operator of {', '.join(OPERATORS)} "
                f"(got {', '.join(operators) or 'none'})"
            )
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                raise ValueError(f"'matches' is not a valid pattern: {exc}") from None
            if UNPORTABLE_PATTERN.search(self.matches):
                raise ValueError(
                    "'matches' uses a look-around, a named group or a back-reference, which "
                    "the datamart's regular expressions (DuckDB, PostgreSQL) do not all support"
                )
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError("'between' needs the lower bound first")
        return self


def attr(operator: str) -> str:
    return {"in": "in_", "not": "not_"}.get(operator, operator)


def group_parts(spec: Any, raw: Any) -> tuple[str, list[tuple[Any, Any]]] | None:
    """The group of a condition as written (``all``, ``any`` or ``not``) and its parts, each
    with its YAML node (for the line numbers); None for a test.  Shared by every condition
    language (scoring rules, segments, campaign targets)."""
    for group in ("all", "any"):
        parts = getattr(spec, group)
        if parts is not None:
            raw_parts = raw.get(group) if isinstance(raw, dict) else None
            raw_list = raw_parts if isinstance(raw_parts, list) else [None] * len(parts)
            return group, list(zip(parts, raw_list, strict=False))
    if spec.not_ is not None:
        return "not", [(spec.not_, raw.get("not") if isinstance(raw, dict) else None)]
    return None


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


class PeriodCapSpec(_Strict):
    """At most ``times`` rows in each period of ``days`` days, counted back from the as-of date."""

    times: int = Field(ge=1)
    days: int = Field(ge=1)


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
    max_per_period: PeriodCapSpec | None = None
    max_times: int | None = Field(default=None, ge=1)
    max_points: float | None = Field(default=None, gt=0)
    count: CountSpec | None = None
    decay: Literal["none"] | DecaySpec | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not NAME_PATTERN.match(name):
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
                for key in ("per", "max_per_day", "max_per_period", "max_times", "count", "decay")
                if getattr(self, key) is not None
            ]
            if self.repeat != "every":
                implicit_only.append("repeat")
            if implicit_only:
                raise ValueError(
                    f"rule '{self.name}': {', '.join(implicit_only)} only apply to 'activity' rules"
                )
        if self.count is not None and (
            self.repeat != "every"
            or self.max_per_day
            or self.max_per_period
            or self.max_times
            or self.per
        ):
            raise ValueError(
                f"rule '{self.name}': 'count' gives its points once; it does not combine with "
                "repeat, per, max_per_day, max_per_period or max_times"
            )
        if self.per is not None and self.repeat != "per_object":
            raise ValueError(f"rule '{self.name}': 'per' needs repeat: per_object")
        if self.max_per_day is not None and self.repeat != "every":
            raise ValueError(f"rule '{self.name}': 'max_per_day' needs repeat: every")
        if self.max_per_period is not None and (self.repeat != "every" or self.max_per_day):
            raise ValueError(
                f"rule '{self.name}': 'max_per_period' needs repeat: every and no max_per_day"
            )
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
        if not NAME_PATTERN.match(name):
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
                f"band '{band.name}' has min {num(band.min)} >= max {num(band.max)}",
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
                f"bands '{low.name}' (below {num(low.max)}) and '{high.name}' (from "
                f"{num(high.min)}) overlap",
                "bands",
                index,
                "min",
            )
        if high.min > low.max:
            raise ModelProblemError(
                f"bands '{low.name}' and '{high.name}' leave a gap between {num(low.max)} and "
                f"{num(high.min)}",
                "bands",
                index,
                "min",
            )


def _lower_end(band: BandSpec) -> float:
    return -math.inf if band.min is None else band.min


def num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}"
