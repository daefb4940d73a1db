"""Target selection a marketer can write: a condition over the profile, compiled to Ibis.

A target is the condition language of a scoring rule's ``when`` (one subject, one operator;
``all``, ``any`` and ``not`` groups; see ``docs/scoring.md``) over more subjects::

    field: region                       # a profile field, KPI, RFM (r, f, m, segment), value_tier
    attribute: household_size           # a third-party attribute (its newest value)
    score: engagement                   # the newest score of a scoring model ...
    band: engagement                    # ... and its band
    probability: churn_90               # the newest probability of a predictive model ...
    decile: churn_90                    # ... and its decile (1 = most likely)
    events: page_view                   # how many behaviour rows in the last ``within_days``
    transactions: sale                  #   (a kind or a list of kinds; with filters such as
    interactions: complaint             #   product, category, channel, status, offer...)
    responses: click
    segment: loyal_north                # member of a saved segment (no operator)

Each subject takes one of the operators ``equals``, ``not_equals``, ``in``, ``not_in``,
``at_least``, ``at_most``, ``above``, ``below``, ``between``, ``matches`` or ``missing``, e.g.
``{score: engagement, at_least: 60}``, ``{band: engagement, in: [hot, warm]}``,
``{events: page_view, within_days: 30, at_least: 3}``.  The page ``docs/campaign-targets.md``
documents the language with examples.

This module parses and describes targets; :mod:`clientela.campaigns._target_compile` compiles
them to one Ibis expression and :mod:`clientela.services._campaign_target` checks them against
the datamart and runs them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from clientela.errors import ConfigError
from clientela.scoring._spec import OPERATORS, UNPORTABLE_PATTERN, attr, group_parts
from clientela.yamlfile import _LineLoader, config_error

__all__ = [
    "BEHAVIOUR_FILTERS",
    "BEHAVIOUR_SUBJECTS",
    "MODEL_SUBJECTS",
    "TARGET_SUBJECTS",
    "Target",
    "TargetCondition",
    "TargetSpec",
    "TargetSubject",
    "parse_target",
    "parse_target_text",
    "shown",
]

TargetSubject = Literal[
    "field",
    "attribute",
    "score",
    "band",
    "probability",
    "decile",
    "events",
    "transactions",
    "interactions",
    "responses",
    "segment",
]
TARGET_SUBJECTS: tuple[str, ...] = TargetSubject.__args__  # type: ignore[attr-defined]
# Subjects named after a scoring model (score, band) or a predictive model (probability, decile).
MODEL_SUBJECTS = ("score", "band", "probability", "decile")
# Behaviour tables counted per profile over a window, and the column their value names.
BEHAVIOUR_SUBJECTS: dict[str, str] = {
    "events": "event_type",
    "transactions": "kind",
    "interactions": "kind",
    "responses": "kind",
}
# The filters each behaviour table takes: the key as written and the column(s) it matches.
BEHAVIOUR_FILTERS: dict[str, dict[str, tuple[str, ...]]] = {
    "events": {"channel": ("channel",), "object": ("object_id",)},
    "transactions": {
        "product": ("product_id", "product_name"),
        "category": ("category",),
        "channel": ("channel",),
    },
    "interactions": {
        "channel": ("channel",),
        "status": ("status",),
        "outcome": ("outcome",),
        "offer": ("offer_id",),
        "campaign": ("campaign_id",),
    },
    "responses": {
        "campaign": ("campaign",),
        "channel": ("channel",),
        "offer": ("offer_id",),
        "outcome": ("outcome",),
    },
}
_FILTER_KEYS = (
    "product",
    "category",
    "channel",
    "object",
    "status",
    "outcome",
    "offer",
    "campaign",
)
_NUMERIC_ONLY = ("score", "probability", "decile", *BEHAVIOUR_SUBJECTS)
_TEXT_OPERATORS = ("equals", "not_equals", "in", "not_in", "matches", "missing")
_COUNT_OPERATORS: tuple[str, ...] = ("equals", "not_equals", "in", "not_in", "at_least")
_COUNT_OPERATORS += ("at_most", "above", "below", "between")

Scalar = str | float | bool
Bound = float | str  # a number, or a date written as text (2026-01-31)


class TargetSpec(BaseModel):
    """One test (a subject and one operator) or a group (``all``, ``any``, ``not``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str | None = None
    attribute: str | None = None
    score: str | None = None
    band: str | None = None
    probability: str | None = None
    decile: str | None = None
    events: str | list[str] | None = None
    transactions: str | list[str] | None = None
    interactions: str | list[str] | None = None
    responses: str | list[str] | None = None
    segment: str | None = None
    within_days: int | None = Field(default=None, ge=1)
    product: str | list[str] | None = None
    category: str | list[str] | None = None
    channel: str | list[str] | None = None
    object: str | list[str] | None = None
    status: str | list[str] | None = None
    outcome: str | list[str] | None = None
    offer: str | list[str] | None = None
    campaign: str | list[str] | None = None
    equals: Scalar | None = None
    not_equals: Scalar | None = None
    in_: list[str | float] | None = Field(default=None, alias="in", min_length=1)
    not_in: list[str | float] | None = Field(default=None, min_length=1)
    at_least: Bound | None = None
    at_most: Bound | None = None
    above: Bound | None = None
    below: Bound | None = None
    between: tuple[Bound, Bound] | None = None
    matches: str | None = None
    missing: bool | None = None
    all: list[TargetSpec] | None = Field(default=None, min_length=1)
    any: list[TargetSpec] | None = Field(default=None, min_length=1)
    not_: TargetSpec | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one_test(self) -> TargetSpec:
        groups = [g for g in ("all", "any", "not_") if getattr(self, g) is not None]
        subjects = [s for s in TARGET_SUBJECTS if getattr(self, s) is not None]
        operators = [o for o in OPERATORS if getattr(self, attr(o)) is not None]
        filters = [k for k in _FILTER_KEYS if getattr(self, k) is not None]
        if self.within_days is not None:
            filters.insert(0, "within_days")
        if groups:
            if subjects or operators or filters or len(groups) > 1:
                raise ValueError("a group (all, any, not) stands alone in its condition")
            return self
        if len(subjects) != 1:
            raise ValueError(
                f"a condition names exactly one of {', '.join(TARGET_SUBJECTS)} "
                f"(got {', '.join(subjects) or 'none'})"
            )
        subject = subjects[0]
        self._check_window(subject, filters)
        if subject == "segment":
            if operators:
                raise ValueError(
                    f"'segment: {self.segment}' selects the segment's members and takes no "
                    f"operator (got {', '.join(operators)}); put it in 'not' for non-members"
                )
            return self
        if len(operators) != 1:
            raise ValueError(
                f"a condition has exactly one operator of {', '.join(OPERATORS)} "
                f"(got {', '.join(operators) or 'none'})"
            )
        self._check_operator(subject, operators[0])
        return self

    def _check_window(self, subject: str, filters: list[str]) -> None:
        if subject not in BEHAVIOUR_SUBJECTS:
            if filters:
                raise ValueError(
                    f"{', '.join(filters)} only apply to a count of events, transactions, "
                    f"interactions or responses, not to '{subject}'"
                )
            return
        if self.within_days is None:
            raise ValueError(
                f"counting {subject} needs 'within_days' (the window, in days before the as-of "
                "date)"
            )
        allowed = BEHAVIOUR_FILTERS[subject]
        for key in filters[1:]:
            if key not in allowed:
                raise ValueError(
                    f"'{key}' does not filter {subject}; its filters are: {', '.join(allowed)}"
                )

    def _check_operator(self, subject: str, operator: str) -> None:
        value = getattr(self, attr(operator))
        if operator == "matches":
            assert isinstance(value, str)
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"'matches' is not a valid pattern: {exc}") from None
            if UNPORTABLE_PATTERN.search(value):
                raise ValueError(
                    "'matches' uses a look-around, a named group or a back-reference, which "
                    "the datamart's regular expressions (DuckDB, PostgreSQL) do not all support"
                )
        if subject == "band" and operator not in _TEXT_OPERATORS:
            raise ValueError(
                f"a band is a name: '{operator}' does not apply to it (use equals, in...)"
            )
        if subject in BEHAVIOUR_SUBJECTS and operator not in _COUNT_OPERATORS:
            raise ValueError(f"a count of {subject} is compared with a number, not by '{operator}'")
        if subject in _NUMERIC_ONLY and operator not in ("matches", "missing"):
            values = list(value) if isinstance(value, list | tuple) else [value]
            for item in values:
                if isinstance(item, bool) or not isinstance(item, int | float):
                    what = "a count" if subject in BEHAVIOUR_SUBJECTS else f"a {subject}"
                    raise ValueError(
                        f"type mismatch: {what} is a number, but '{operator}' got '{item}'"
                    )
        if self.between is not None:
            low, high = self.between
            if type(low) is type(high) and low > high:  # type: ignore[operator]
                raise ValueError("'between' needs the lower bound first")


@dataclass(frozen=True)
class TargetCondition:
    """A test on one subject (``op`` an operator, or ``member`` for a segment) or a group (``op``
    all / any / not).

    ``subject`` is the field, attribute, model or segment named; for a count of behaviour it is
    the table (``events``...) and ``types`` the event types or kinds counted over the last
    ``within_days`` days, with ``filters`` (key as written, values) on the rows counted.
    """

    op: str
    subject_kind: TargetSubject | None = None
    subject: str | None = None
    value: Any = None
    parts: tuple[TargetCondition, ...] = ()
    types: tuple[str, ...] = ()
    within_days: int | None = None
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    line: int | None = None

    def leaves(self) -> list[TargetCondition]:
        if self.subject_kind is not None:
            return [self]
        return [leaf for part in self.parts for leaf in part.leaves()]

    def describe(self) -> str:
        """The test in words, e.g. ``at least 3 events page_view in the last 30 days``."""
        if self.subject_kind is None:
            inner = [part.describe() for part in self.parts]
            if self.op == "not":
                return f"not ({inner[0]})"
            return f" {'and' if self.op == 'all' else 'or'} ".join(f"({p})" for p in inner)
        if self.subject_kind == "segment":
            return f"member of segment {self.subject}"
        test = f"{self.op.replace('_', ' ')} {shown(self.value)}"
        if self.subject_kind in BEHAVIOUR_SUBJECTS:
            what = f"{self.subject} {' or '.join(self.types)}"
            where = "".join(f", {key} {' or '.join(values)}" for key, values in self.filters)
            return f"{what}{where} in the last {self.within_days} days: {test}"
        return f"{self.subject_kind} {self.subject} {test}"


def shown(value: Any) -> str:
    """A constant of a test as written (``3``, not ``3.0``)."""
    if isinstance(value, tuple):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Target:
    """A parsed target condition, its text (YAML) as written and where it was read from."""

    condition: TargetCondition
    text: str
    source: str | None = None

    def leaves(self) -> list[TargetCondition]:
        return self.condition.leaves()

    def describe(self) -> list[str]:
        """One readable line per test (``not`` written before a negated one), for the funnel."""
        lines: list[str] = []
        _describe(self.condition, False, lines)
        return lines

    def names(self, kind: str) -> list[str]:
        """The fields, attributes, models or segments the target reads for a subject kind."""
        found: list[str] = []
        for leaf in self.leaves():
            if leaf.subject_kind == kind and str(leaf.subject) not in found:
                found.append(str(leaf.subject))
        return found


def _describe(condition: TargetCondition, negated: bool, lines: list[str]) -> None:
    if condition.subject_kind is not None:
        lines.append(("not: " if negated else "") + condition.describe())
        return
    for part in condition.parts:
        _describe(part, negated != (condition.op == "not"), lines)


def parse_target(data: Any, *, source: Path | str | None = None) -> Target:
    """A :class:`Target` from a parsed ``target:`` mapping; ConfigError with the line."""
    path = Path(source) if source is not None else None
    if not isinstance(data, dict):
        raise ConfigError(
            "a target is a condition mapping, e.g. {field: region, equals: North} or "
            "{segment: loyal_north}",
            file=path,
            line=getattr(data, "line", 1) if path is not None else None,
        )
    try:
        spec = TargetSpec.model_validate(data)
    except ValidationError as exc:
        error = config_error(exc, TargetSpec, data, path)
        # A problem of the whole condition, not of one key: its message says it all.
        message = error.message.removeprefix("'(top level)': ")
        unknown = re.fullmatch(r"unknown key '([^']*)'", message)
        if unknown:
            message += (
                f"; a test names its subject with one of {', '.join(TARGET_SUBJECTS)} (to test "
                f"a field, write {{field: {unknown.group(1)}, equals: ...}})"
            )
        raise ConfigError(message, file=error.file, line=error.line) from None
    text = yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True).strip()
    return Target(_condition(spec, data), text, str(path) if path is not None else None)


def parse_target_text(text: str, *, source: Path | str | None = None) -> Target:
    """A target from YAML text (a ``--where`` option, a stored definition)."""
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise ConfigError(
            f"invalid YAML: {exc.problem}", file=source, line=line if source else None
        ) from None
    if data is None:
        raise ConfigError("the target is empty", file=source)
    return parse_target(data, source=source)


def _condition(spec: TargetSpec, raw: Any) -> TargetCondition:
    line = getattr(raw, "line", None)
    group = group_parts(spec, raw)
    if group is not None:
        op, parts = group
        return TargetCondition(op=op, parts=tuple(_condition(p, r) for p, r in parts), line=line)
    kind: TargetSubject = next(
        s  # type: ignore[misc]
        for s in TARGET_SUBJECTS
        if getattr(spec, s) is not None
    )
    if kind == "segment":
        return TargetCondition(op="member", subject_kind=kind, subject=spec.segment, line=line)
    operator = next(o for o in OPERATORS if getattr(spec, attr(o)) is not None)
    value = getattr(spec, attr(operator))
    if isinstance(value, list):
        value = tuple(value)
    if kind in BEHAVIOUR_SUBJECTS:
        filters = tuple(
            (key, _words(getattr(spec, key)))
            for key in _FILTER_KEYS
            if getattr(spec, key) is not None
        )
        return TargetCondition(
            op=operator,
            subject_kind=kind,
            subject=kind,
            value=value,
            types=_words(getattr(spec, kind)),
            within_days=spec.within_days,
            filters=filters,
            line=line,
        )
    return TargetCondition(
        op=operator, subject_kind=kind, subject=getattr(spec, kind), value=value, line=line
    )


def _words(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _plain(value: Any) -> Any:
    """Plain dicts and lists (the line-aware loader's mappings are dict subclasses)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
