"""Campaigns as people write them (YAML) and as the services read them (frozen values).

A campaign file is validated by pydantic models with line-precise errors
(:mod:`clientela.campaigns._spec`, :mod:`clientela.yamlfile`); :func:`parse_campaign_file` turns
it into a :class:`Campaign`.  Its text is stored in the datamart (``campaigns``) with a version
that grows whenever the text changes.  The format is documented in ``docs/campaigns.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

import yaml
from pydantic import ValidationError

from clientela.campaigns._spec import (
    CHANNELS,
    EXCLUSION_RULES,
    CampaignSpec,
    CapacitySpec,
    ExclusionSpec,
    PrioritySpec,
)
from clientela.campaigns.targeting import Target, parse_target
from clientela.errors import ConfigError
from clientela.scoring._model_errors import model_error
from clientela.yamlfile import _line_of, _LineLoader, read_yaml

__all__ = [
    "CHANNELS",
    "EXCLUSION_RULES",
    "MANDATORY_EXCLUSIONS",
    "Campaign",
    "Capacity",
    "Control",
    "Exclusion",
    "Offer",
    "PressureRule",
    "PriorityBy",
    "campaign_yaml",
    "parse_campaign",
    "parse_campaign_file",
    "parse_campaign_text",
]

# Applied to every campaign: when a file does not list them, they run first, in this order.
MANDATORY_EXCLUSIONS: tuple[str, ...] = (
    "consent",
    "do_not_contact",
    "no_address",
    "global_holdout",
)


@dataclass(frozen=True)
class Offer:
    """What a contact proposes; ``arguments`` and ``script`` are for call-centre agents."""

    offer_id: str
    name: str
    arguments: tuple[str, ...] = ()
    script: str | None = None
    product: str | None = None


@dataclass(frozen=True)
class Exclusion:
    """One exclusion step; ``name`` is the reason recorded for every profile it removes."""

    rule: str
    name: str
    kinds: tuple[str, ...] = ()
    min_age: int = 18
    target: Target | None = None


@dataclass(frozen=True)
class PressureRule:
    """At most ``max`` contacts in ``days`` days, or at least ``min_gap_days`` between two;
    on ``channel`` (None: every channel)."""

    channel: str | None = None
    max: int | None = None
    days: int | None = None
    min_gap_days: int | None = None

    @property
    def label(self) -> str:
        on = self.channel or "any channel"
        if self.min_gap_days is not None:
            return f"at least {self.min_gap_days} days between contacts ({on})"
        return f"at most {self.max} contacts in {self.days} days ({on})"

    @property
    def window_days(self) -> int:
        return self.min_gap_days if self.min_gap_days is not None else int(self.days or 1)

    @property
    def allowed(self) -> int:
        """Contacts allowed in the window (a minimum gap of N days allows 1 in N days)."""
        return 1 if self.min_gap_days is not None else int(self.max or 0)


@dataclass(frozen=True)
class Control:
    """A random hold-out: ``percent`` of the target or ``count`` profiles, from ``seed``."""

    percent: float | None = None
    count: int | None = None
    seed: int = 0
    stratify: Literal["decile", "none"] = "none"


@dataclass(frozen=True)
class Capacity:
    """At most ``per_day`` contacts a day for ``days`` days from ``start`` (or the campaign's
    start, or the as-of date); the rest is deferred or dropped."""

    per_day: int
    days: int = 1
    overflow: Literal["defer", "drop"] = "defer"
    start: dt.date | None = None


@dataclass(frozen=True)
class PriorityBy:
    """What orders the target for capacity: ``score`` x ``value``.

    ``score``: ``rfm`` (r + f + m), ``rule:MODEL`` (a rule-based score), ``model:NAME`` (a
    predictive probability) or ``none``; ``value``: a KPI of the summary (``contribution``,
    ``revenue``, ``margin``...) or ``none``.
    """

    score: str = "rfm"
    value: str = "contribution"

    @property
    def label(self) -> str:
        parts = [p for p in (self.score, self.value) if p != "none"]
        return " x ".join(parts) or "profile id"


@dataclass(frozen=True)
class Campaign:
    """A campaign definition; ``text`` is the YAML as written (stored and versioned)."""

    name: str
    channel: str
    text: str = ""
    objective: str = ""
    description: str = ""
    purpose: str = "marketing"
    offers: tuple[Offer, ...] = ()
    starts: dt.date | None = None
    ends: dt.date | None = None
    target: Target | None = None
    segment: str | None = None
    exclusions: tuple[Exclusion, ...] = ()
    pressure: tuple[PressureRule, ...] = ()
    control: Control | None = None
    capacity: Capacity | None = None
    priority: int = 0
    weight: float = 1.0
    priority_by: PriorityBy = field(default_factory=PriorityBy)
    incompatible_with: tuple[str, ...] = ()
    response_window_days: int = 30
    attribution: Literal["first", "last", "every"] = "last"
    attribute_by: Literal["any", "offer", "product"] = "any"
    cost_per_contact: float = 0.0
    fixed_cost: float = 0.0
    source_file: str | None = None
    # The channels in order of preference (``channel`` is the first); empty: ``(channel,)``.
    channels: tuple[str, ...] = ()
    # Capacity per channel (several channels); ``capacity`` is then None.
    channel_capacity: tuple[tuple[str, Capacity], ...] = ()

    def __post_init__(self) -> None:
        if not self.channels:
            object.__setattr__(self, "channels", (self.channel,))
        elif self.channels[0] != self.channel:
            raise ValueError(
                f"campaign '{self.name}': 'channel' ({self.channel}) is not the first of "
                f"'channels' ({', '.join(self.channels)})"
            )
        # Whoever builds a campaign, the legal exclusions apply (first, when not listed).
        rules = {e.rule for e in self.exclusions}
        missing = tuple(Exclusion(r, r) for r in MANDATORY_EXCLUSIONS if r not in rules)
        extra: tuple[Exclusion, ...] = ()
        if self.incompatible_with and "incompatible" not in rules:
            extra = (Exclusion("incompatible", "incompatible"),)
        if missing or extra:
            object.__setattr__(self, "exclusions", (*missing, *self.exclusions, *extra))
        if not self.text:
            # Built in Python: the YAML that parses back to it is what the datamart stores.
            object.__setattr__(self, "text", campaign_yaml(self))

    def capacity_for(self, channel: str) -> Capacity | None:
        """The capacity of ``channel`` (None: no limit)."""
        if self.channel_capacity:
            return dict(self.channel_capacity).get(channel)
        return self.capacity

    @property
    def offer(self) -> Offer | None:
        """The offer every contact of this campaign carries (the first one)."""
        return self.offers[0] if self.offers else None

    def rank(self) -> tuple[float, float, str]:
        """Sort key: the campaign that wins a contested customer comes first."""
        return (-self.priority, -self.weight, self.name)


def campaign_yaml(campaign: Campaign) -> str:
    """The YAML text of a campaign built in Python (parse_campaign_text reads it back)."""
    data: dict[str, Any] = {"name": campaign.name}
    if len(campaign.channels) > 1:
        data["channels"] = list(campaign.channels)
    else:
        data["channel"] = campaign.channel
    for key in ("objective", "description"):
        if getattr(campaign, key):
            data[key] = getattr(campaign, key)
    if campaign.purpose != "marketing":
        data["purpose"] = campaign.purpose
    for key in ("starts", "ends"):
        if getattr(campaign, key) is not None:
            data[key] = getattr(campaign, key).isoformat()
    if campaign.offers:
        data["offers"] = [_offer_data(o) for o in campaign.offers]
    if campaign.target is not None:
        data["target"] = yaml.safe_load(campaign.target.text)
    if campaign.segment is not None:
        data["segment"] = campaign.segment
    if campaign.exclusions:
        data["exclusions"] = [_exclusion_data(e) for e in campaign.exclusions]
    if campaign.pressure:
        data["pressure"] = [
            {k: v for k, v in vars(p).items() if v is not None} for p in campaign.pressure
        ]
    if campaign.control is not None:
        data["control"] = {k: v for k, v in vars(campaign.control).items() if v is not None}
    if campaign.capacity is not None:
        data["capacity"] = _capacity_data(campaign.capacity)
    elif campaign.channel_capacity:
        data["capacity"] = {
            channel: _capacity_data(capacity) for channel, capacity in campaign.channel_capacity
        }
    data["priority"] = campaign.priority
    data["weight"] = campaign.weight
    data["priority_by"] = {"score": campaign.priority_by.score, "value": campaign.priority_by.value}
    if campaign.incompatible_with:
        data["incompatible_with"] = list(campaign.incompatible_with)
    data["response_window_days"] = campaign.response_window_days
    data["attribution"] = campaign.attribution
    data["attribute_by"] = campaign.attribute_by
    data["cost_per_contact"] = campaign.cost_per_contact
    data["fixed_cost"] = campaign.fixed_cost
    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return text


def _capacity_data(capacity: Capacity) -> dict[str, Any]:
    data = {k: v for k, v in vars(capacity).items() if v is not None}
    if capacity.start is not None:
        data["start"] = capacity.start.isoformat()
    return data


def _offer_data(offer: Offer) -> dict[str, Any]:
    data: dict[str, Any] = {"id": offer.offer_id, "name": offer.name}
    if offer.arguments:
        data["arguments"] = list(offer.arguments)
    if offer.script is not None:
        data["script"] = offer.script
    if offer.product is not None:
        data["product"] = offer.product
    return data


def _exclusion_data(exclusion: Exclusion) -> dict[str, Any] | str:
    if exclusion.rule == "custom":
        assert exclusion.target is not None
        where = yaml.safe_load(exclusion.target.text)
        return {"rule": "custom", "name": exclusion.name, "where": where}
    data: dict[str, Any] = {"rule": exclusion.rule}
    if exclusion.name != exclusion.rule:
        data["name"] = exclusion.name
    if exclusion.rule == "open_issues":
        data["kinds"] = list(exclusion.kinds)
    if exclusion.rule == "minors":
        data["min_age"] = exclusion.min_age
    return data if len(data) > 1 else exclusion.rule


def parse_campaign_file(path: Path) -> Campaign:
    """Read and validate a campaign file; ConfigError with the line on any problem."""
    data = read_yaml(path)
    if data is None:
        raise ConfigError("the file is empty", file=path)
    return parse_campaign(data, path.read_text(encoding="utf-8-sig"), path)


def parse_campaign_text(text: str, *, source: str | Path | None = None) -> Campaign:
    """Parse a campaign from its YAML text (as stored in the datamart)."""
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise ConfigError(f"invalid YAML: {exc.problem}", file=source, line=line) from None
    if data is None:
        raise ConfigError("the campaign definition is empty", file=source)
    return parse_campaign(data, text, Path(source) if source is not None else None)


def parse_campaign(data: Any, text: str, path: Path | None) -> Campaign:
    """A :class:`Campaign` from parsed YAML ``data`` and its ``text``."""
    if not isinstance(data, dict):
        raise ConfigError(
            "a campaign is a mapping (name, channel, target, offers...)", file=path, line=1
        )
    try:
        spec = CampaignSpec.model_validate(data)
    except ValidationError as exc:
        raise model_error(exc, CampaignSpec, data, path) from None
    target = None
    if spec.target is not None:
        target = parse_target(data["target"], source=path)
    priority_by = spec.priority_by if isinstance(spec.priority_by, PrioritySpec) else PrioritySpec()
    return Campaign(
        name=spec.name,
        channel=spec.channel_list[0],
        channels=tuple(spec.channel_list),
        text=text,
        objective=spec.objective or "",
        description=spec.description or "",
        purpose=spec.purpose,
        offers=tuple(
            Offer(o.id, o.name or o.id, tuple(o.arguments), o.script, o.product)
            for o in spec.offers
        ),
        starts=spec.starts,
        ends=spec.ends,
        target=target,
        segment=spec.segment,
        exclusions=_exclusions(spec, data, path),
        pressure=tuple(
            PressureRule(p.channel, p.max, p.days, p.min_gap_days) for p in spec.pressure
        ),
        control=(
            Control(
                spec.control.percent, spec.control.count, spec.control.seed, spec.control.stratify
            )
            if spec.control
            else None
        ),
        capacity=_capacity(spec.capacity.single) if spec.capacity is not None else None,
        channel_capacity=(
            tuple(
                (channel, _capacity(spec.capacity.per_channel[channel]))
                for channel in spec.channel_list
                if channel in spec.capacity.per_channel
            )
            if spec.capacity is not None
            else ()
        ),
        priority=spec.priority,
        weight=spec.weight,
        priority_by=PriorityBy(priority_by.score, priority_by.value),
        incompatible_with=tuple(spec.incompatible_with),
        response_window_days=spec.response_window_days,
        attribution=spec.attribution,
        attribute_by=spec.attribute_by,
        cost_per_contact=spec.cost_per_contact,
        fixed_cost=spec.fixed_cost,
        source_file=str(path) if path is not None else None,
    )


@overload
def _capacity(spec: CapacitySpec) -> Capacity: ...
@overload
def _capacity(spec: None) -> None: ...
def _capacity(spec: CapacitySpec | None) -> Capacity | None:
    if spec is None:
        return None
    return Capacity(spec.per_day, spec.days, spec.overflow, spec.start)


def _exclusions(spec: CampaignSpec, data: Any, path: Path | None) -> tuple[Exclusion, ...]:
    written = list(spec.exclusions) if spec.exclusions is not None else []
    raw = data.get("exclusions") or []
    steps: list[Exclusion] = []
    names: set[str] = set()
    for index, item in enumerate(written):
        step = _exclusion(item, raw[index] if index < len(raw) else None, path)
        if step.name in names:
            line = _line_of(data, ("exclusions", index)) if path is not None else None
            raise ConfigError(
                f"'exclusions.{index}': the exclusion '{step.name}' is listed twice",
                file=path,
                line=line,
            )
        names.add(step.name)
        steps.append(step)
    missing = [Exclusion(r, r) for r in MANDATORY_EXCLUSIONS if r not in names]
    if spec.incompatible_with and "incompatible" not in names:
        steps.append(Exclusion("incompatible", "incompatible"))
    return (*missing, *steps)


def _exclusion(item: ExclusionSpec, raw: Any, path: Path | None) -> Exclusion:
    if item.rule == "custom":
        assert item.name is not None and item.where is not None
        where = raw.get("where") if isinstance(raw, dict) else item.where
        return Exclusion("custom", item.name, target=parse_target(where, source=path))
    if item.rule == "open_issues":
        kinds = tuple(item.kinds) if item.kinds else ("complaint", "incident", "return")
        return Exclusion("open_issues", item.name or "open_issues", kinds=kinds)
    if item.rule == "minors":
        return Exclusion("minors", item.name or "minors", min_age=item.min_age or 18)
    return Exclusion(item.rule, item.name or item.rule)
