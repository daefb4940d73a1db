"""What a segment is: a value tier, an RFM segment, a band of a scoring model, or a condition.

A definition is a small YAML mapping with exactly one key::

    tier: A
    rfm: Champions
    band: {model: engagement, band: hot}
    where: {all: [{field: region, equals: North}, {field: orders, at_least: 3}]}

``where`` takes a condition in the syntax of a scoring rule's ``when`` (``field`` or
``attribute``; ``equals``, ``in``, ``between``, ``matches``, ``missing``...; ``all``, ``any``,
``not``): it is validated by the scoring model's own :class:`ConditionSpec` and compiled by the
same code (:mod:`clientela.scoring._conditions`), so there is one condition language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from clientela.errors import ConfigError
from clientela.scoring._spec import ConditionSpec
from clientela.scoring.definition import Condition, _condition
from clientela.yamlfile import _LineLoader, config_error

__all__ = ["NAME_PATTERN", "Segment", "SegmentKind", "parse_segment", "parse_segment_text"]

SegmentKind = Literal["tier", "rfm", "band", "where"]
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


class _BandSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    band: str


class SegmentSpec(BaseModel):
    """A segment definition as written: exactly one of tier, rfm, band or where."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tier: str | None = None
    rfm: str | None = None
    band: _BandSpec | None = None
    where: ConditionSpec | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SegmentSpec:
        given = [k for k in ("tier", "rfm", "band", "where") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a segment is exactly one of tier, rfm, band or where "
                f"(got {', '.join(given) or 'none'})"
            )
        return self


@dataclass(frozen=True)
class Segment:
    """A segment definition the services read.

    ``value`` is the tier, the RFM segment or the band; ``model`` the scoring model of a band;
    ``condition`` the compiled condition of ``where``; ``text`` the definition as YAML.
    """

    kind: SegmentKind
    text: str
    name: str | None = None
    value: str | None = None
    model: str | None = None
    condition: Condition | None = None

    @property
    def label(self) -> str:
        """How the segment is named in messages and reports."""
        if self.name is not None:
            return self.name
        if self.kind == "tier":
            return f"value tier {self.value}"
        if self.kind == "rfm":
            return f"RFM segment {self.value}"
        if self.kind == "band":
            return f"band {self.value} of {self.model}"
        return "the condition"

    def fields(self) -> list[str]:
        """Profile fields the condition tests."""
        return self._subjects("field")

    def attributes(self) -> list[str]:
        """Third-party attributes the condition tests."""
        return self._subjects("attribute")

    def _subjects(self, kind: str) -> list[str]:
        if self.condition is None:
            return []
        found: list[str] = []
        for leaf in self.condition.leaves():
            if leaf.subject_kind == kind and str(leaf.subject) not in found:
                found.append(str(leaf.subject))
        return found


def parse_segment(
    data: Any, *, name: str | None = None, source: str | Path | None = None
) -> Segment:
    """A :class:`Segment` from a parsed definition; ConfigError (with the line) when wrong."""
    path = Path(source) if source is not None else None
    if not isinstance(data, dict):
        raise ConfigError(
            "a segment definition is a mapping with one of tier, rfm, band or where",
            file=path,
            line=1 if path is not None else None,
        )
    try:
        spec = SegmentSpec.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, SegmentSpec, data, path) from None
    text = yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True).strip()
    if spec.tier is not None:
        return Segment("tier", text, name, value=spec.tier)
    if spec.rfm is not None:
        return Segment("rfm", text, name, value=spec.rfm)
    if spec.band is not None:
        return Segment("band", text, name, value=spec.band.band, model=spec.band.model)
    assert spec.where is not None
    return Segment("where", text, name, condition=_condition(spec.where, data.get("where")))


def parse_segment_text(
    text: str, *, name: str | None = None, source: str | Path | None = None
) -> Segment:
    """A segment from YAML text (a file, ``--where``, or the ``segments`` table)."""
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise ConfigError(
            f"invalid YAML: {exc.problem}", file=source, line=line if source else None
        ) from None
    if data is None:
        raise ConfigError("the segment definition is empty", file=source)
    return parse_segment(data, name=name, source=source)


def _plain(value: Any) -> Any:
    """Plain dicts and lists (the line-aware loader's mappings are dict subclasses)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
