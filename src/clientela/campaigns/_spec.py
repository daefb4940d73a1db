"""The campaign file format: pydantic models with line-precise errors.

:mod:`clientela.campaigns.definition` turns a validated :class:`CampaignSpec` into the frozen
:class:`~clientela.campaigns.definition.Campaign` the services read.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clientela.config import Channel, PressureLimit

__all__ = [
    "CHANNELS",
    "EXCLUSION_RULES",
    "NAME_PATTERN",
    "CampaignSpec",
    "CapacitySpec",
    "ControlSpec",
    "ExclusionSpec",
    "OfferSpec",
    "PressureSpec",
    "PrioritySpec",
]

CHANNELS: tuple[str, ...] = get_args(Channel)
ExclusionRule = Literal[
    "consent",
    "do_not_contact",
    "no_address",
    "open_issues",
    "incompatible",
    "global_holdout",
    "minors",
    "custom",
]
EXCLUSION_RULES: tuple[str, ...] = get_args(ExclusionRule)
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class OfferSpec(_Strict):
    id: str
    name: str | None = None
    arguments: list[str] = Field(default_factory=list)
    script: str | None = None
    product: str | None = None


class ExclusionSpec(_Strict):
    """One exclusion rule; written as its name alone or as a mapping with ``rule:``."""

    rule: ExclusionRule
    name: str | None = None
    kinds: list[Literal["complaint", "incident", "return"]] | None = None
    min_age: int | None = Field(default=None, ge=0, le=120)
    where: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"rule": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _options_fit(self) -> ExclusionSpec:
        if self.rule == "custom":
            if self.where is None or self.name is None:
                raise ValueError("a custom exclusion needs a 'name' and a 'where' condition")
        elif self.where is not None:
            raise ValueError(f"'where' belongs to a custom exclusion, not to '{self.rule}'")
        if self.kinds is not None and self.rule != "open_issues":
            raise ValueError(f"'kinds' belongs to open_issues, not to '{self.rule}'")
        if self.min_age is not None and self.rule != "minors":
            raise ValueError(f"'min_age' belongs to minors, not to '{self.rule}'")
        return self


# The campaign file's pressure rules have the form of the settings' limits for every campaign.
PressureSpec = PressureLimit


class ControlSpec(_Strict):
    percent: float | None = Field(default=None, gt=0, lt=100)
    count: int | None = Field(default=None, ge=1)
    seed: int = 0
    stratify: Literal["decile", "none"] = "none"

    @model_validator(mode="after")
    def _one_size(self) -> ControlSpec:
        if (self.percent is None) == (self.count is None):
            raise ValueError("a control group has exactly one of 'percent' or 'count'")
        return self


class CapacitySpec(_Strict):
    per_day: int
    days: int = Field(default=1, ge=1, le=366)
    overflow: Literal["defer", "drop"] = "defer"
    start: dt.date | None = None

    @field_validator("per_day")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError(
                "capacity per_day must be positive (leave 'capacity' out for no limit)"
            )
        return value


class PrioritySpec(_Strict):
    """What orders the target for capacity: ``score`` times ``value``."""

    score: str = "rfm"
    value: str = "contribution"


class CampaignSpec(_Strict):
    name: str
    objective: str | None = None
    description: str | None = None
    channel: Channel
    purpose: str = "marketing"
    starts: dt.date | None = None
    ends: dt.date | None = None
    offers: list[OfferSpec] = Field(default_factory=list)
    target: dict[str, Any] | None = None
    segment: str | None = None
    exclusions: list[ExclusionSpec] | None = None
    pressure: list[PressureSpec] = Field(default_factory=list)
    control: ControlSpec | None = None
    capacity: CapacitySpec | None = None
    priority: int = 0
    weight: float = Field(default=1.0, ge=0)
    priority_by: PrioritySpec | Literal["score_x_value"] | None = None
    incompatible_with: list[str] = Field(default_factory=list)
    response_window_days: int = Field(default=30, ge=1)
    attribution: Literal["first", "last", "every"] = "last"
    attribute_by: Literal["any", "offer", "product"] = "any"
    cost_per_contact: float = Field(default=0.0, ge=0)
    fixed_cost: float = Field(default=0.0, ge=0)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not NAME_PATTERN.match(name):
            raise ValueError(
                "a campaign name starts with a letter and holds letters, digits, _ . -"
            )
        return name

    @model_validator(mode="after")
    def _consistent(self) -> CampaignSpec:
        if self.target is not None and self.segment is not None:
            raise ValueError("give 'target' or 'segment', not both")
        if self.starts and self.ends and self.ends < self.starts:
            raise ValueError(f"the campaign ends ({self.ends}) before it starts ({self.starts})")
        ids = [o.id for o in self.offers]
        if len(set(ids)) != len(ids):
            raise ValueError("offer ids repeat")
        return self
