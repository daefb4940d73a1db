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
from clientela.scoring._model_errors import ModelProblemError

__all__ = [
    "CHANNELS",
    "EXCLUSION_RULES",
    "NAME_PATTERN",
    "CampaignSpec",
    "CapacitySpec",
    "ChannelCapacitySpec",
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


class ChannelCapacitySpec(_Strict):
    """``capacity:`` as written: one capacity (``per_day``...) or one per channel
    (``email: {per_day: ...}``...)."""

    per_day: int | None = None
    days: int = Field(default=1, ge=1, le=366)
    overflow: Literal["defer", "drop"] = "defer"
    start: dt.date | None = None
    call: CapacitySpec | None = None
    email: CapacitySpec | None = None
    sms: CapacitySpec | None = None
    mail: CapacitySpec | None = None
    ads: CapacitySpec | None = None
    push: CapacitySpec | None = None

    @field_validator("per_day")
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
        if value is not None and value <= 0:
            raise ValueError(
                "capacity per_day must be positive (leave 'capacity' out for no limit)"
            )
        return value

    @property
    def per_channel(self) -> dict[str, CapacitySpec]:
        """The capacities given per channel (empty for one capacity)."""
        found = {c: getattr(self, c) for c in CHANNELS}
        return {c: spec for c, spec in found.items() if spec is not None}

    @property
    def single(self) -> CapacitySpec | None:
        """The one capacity, when it is not given per channel."""
        if self.per_day is None:
            return None
        return CapacitySpec(
            per_day=self.per_day, days=self.days, overflow=self.overflow, start=self.start
        )

    @model_validator(mode="after")
    def _one_form(self) -> ChannelCapacitySpec:
        flat = self.model_fields_set & {"per_day", "days", "overflow", "start"}
        if self.per_channel and flat:
            raise ValueError(
                f"give one capacity (per_day...) or one per channel, not both "
                f"('{sorted(flat)[0]}' beside '{next(iter(self.per_channel))}')"
            )
        if not self.per_channel and self.per_day is None:
            raise ValueError("a capacity needs 'per_day' (or one capacity per channel)")
        return self


class PrioritySpec(_Strict):
    """What orders the target for capacity: ``score`` times ``value``."""

    score: str = "rfm"
    value: str = "contribution"


class CampaignSpec(_Strict):
    name: str
    objective: str | None = None
    description: str | None = None
    channel: Channel | None = None
    channels: list[Channel] | None = Field(default=None, min_length=1)
    purpose: str = "marketing"
    starts: dt.date | None = None
    ends: dt.date | None = None
    offers: list[OfferSpec] = Field(default_factory=list)
    target: dict[str, Any] | None = None
    segment: str | None = None
    exclusions: list[ExclusionSpec] | None = None
    pressure: list[PressureSpec] = Field(default_factory=list)
    control: ControlSpec | None = None
    capacity: ChannelCapacitySpec | None = None
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

    @property
    def channel_list(self) -> list[str]:
        """The channels in order of preference (``channel: X`` is ``channels: [X]``)."""
        if self.channels is not None:
            return list(self.channels)
        return [self.channel] if self.channel is not None else []

    @model_validator(mode="after")
    def _channels(self) -> CampaignSpec:
        if self.channel is not None and self.channels is not None:
            raise ModelProblemError(
                "give 'channel' or 'channels', not both ('channel: X' is 'channels: [X]')",
                "channels",
            )
        if self.channel is None and self.channels is None:
            raise ValueError("a campaign needs 'channel' (or 'channels', in order of preference)")
        channels = self.channel_list
        repeated = sorted({c for c in channels if channels.count(c) > 1})
        if repeated:
            raise ModelProblemError(f"the channel '{repeated[0]}' is listed twice", "channels")
        if self.capacity is not None and self.capacity.per_channel:
            for name in self.capacity.per_channel:
                if name not in channels:
                    raise ModelProblemError(
                        f"capacity for '{name}', which is not a channel of the campaign "
                        f"({', '.join(channels)})",
                        "capacity",
                        name,
                    )
        elif self.capacity is not None and len(channels) > 1:
            raise ModelProblemError(
                "with several channels, give the capacity per channel "
                "(capacity: {email: {per_day: ..., days: ...}, ...})",
                "capacity",
            )
        return self

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
