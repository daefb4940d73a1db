"""Triggers: event rules that put customers into a campaign action or call a webhook.

A trigger file lists the rules (``docs/triggers.md`` documents the format)::

    triggers:
      - name: renewal-call
        event: contract_expiring
        days_ahead: 30
        action:
          campaign: ../campaigns/call_centre.yaml

Each rule has a ``name``, an ``event`` with its options (the other keys) and an ``action``: a
campaign (a campaign file, relative to the trigger file, or the name of a stored campaign) or a
webhook URL.  :func:`parse_triggers_file` validates it with line-precise errors;
:mod:`clientela.campaigns._trigger_events` detects the occurrences and
:mod:`clientela.services.triggers` fires them, once each.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from clientela.campaigns._trigger_events import STATEFUL_EVENTS, TriggerTables, detect
from clientela.campaigns._trigger_spec import EVENTS, ActionSpec, EventOptions, TriggerSpec
from clientela.errors import ConfigError, suggest
from clientela.yamlfile import _line_of, _Located, config_error, read_yaml

__all__ = [
    "EVENTS",
    "STATEFUL_EVENTS",
    "Action",
    "Trigger",
    "TriggerTables",
    "detect",
    "parse_triggers",
    "parse_triggers_file",
]

_COMMON = frozenset(TriggerSpec.model_fields)


@dataclass(frozen=True)
class Action:
    """What a firing does: put the profile into ``campaign`` (a file or a stored name) or POST
    it to ``webhook``."""

    campaign: str | None = None
    campaign_file: Path | None = None
    webhook: str | None = None
    timeout: float = 10.0
    max_attempts: int = 5

    @property
    def label(self) -> str:
        if self.webhook is not None:
            return f"webhook {self.webhook}"
        return f"campaign {self.campaign_file or self.campaign}"


@dataclass(frozen=True)
class Trigger:
    name: str
    event: str
    options: EventOptions
    action: Action
    description: str | None = None

    @property
    def stateful(self) -> bool:
        """True when the event compares values with the previous run (``trigger_state``)."""
        return self.event in STATEFUL_EVENTS


def parse_triggers_file(path: Path) -> tuple[Trigger, ...]:
    """Read and validate a trigger file; ConfigError with the line on any problem."""
    data = read_yaml(path)
    if data is None:
        raise ConfigError("the file is empty", file=path)
    return parse_triggers(data, path)


def parse_triggers(data: Any, path: Path | None = None) -> tuple[Trigger, ...]:
    """The triggers of parsed YAML (``{"triggers": [...]}`` or a list)."""
    items = data.get("triggers") if isinstance(data, dict) else data
    if isinstance(data, dict):
        unknown = [k for k in data if k != "triggers"]
        if unknown:
            line = _line_of(data, (unknown[0],))
            raise ConfigError(
                f"unknown key '{unknown[0]}'{suggest(str(unknown[0]), ['triggers'])}; a trigger "
                "file holds one key, triggers: a list of rules",
                file=path,
                line=line,
            )
    if not isinstance(items, list) or not items:
        raise ConfigError("expected 'triggers:' with a list of rules", file=path, line=1)
    triggers = [_trigger(item, path) for item in items]
    seen: set[str] = set()
    for item, trigger in zip(items, triggers, strict=True):
        if trigger.name in seen:
            raise ConfigError(
                f"two triggers are named '{trigger.name}': names must be unique (the firing "
                "log is kept per name)",
                file=path,
                line=getattr(item, "line", None),
            )
        seen.add(trigger.name)
    return tuple(triggers)


def _split(item: dict[Any, Any]) -> tuple[dict[Any, Any], dict[Any, Any]]:
    lines = getattr(item, "lines", {})
    line = getattr(item, "line", 1)
    common = {k: v for k, v in item.items() if k in _COMMON}
    options = {k: v for k, v in item.items() if k not in _COMMON}
    return (
        _Located(common, {k: lines.get(k, line) for k in common}, line),
        _Located(options, {k: lines.get(k, line) for k in options}, line),
    )


def _trigger(item: Any, path: Path | None) -> Trigger:
    if not isinstance(item, dict):
        raise ConfigError(
            f"each trigger is a mapping with name, event and action, got {item!r}", file=path
        )
    common, options = _split(item)
    if "event" in common and common["event"] not in EVENTS:
        event = str(common["event"])
        raise ConfigError(
            f"unknown event '{event}'{suggest(event, EVENTS)}; the events are {', '.join(EVENTS)}",
            file=path,
            line=_line_of(item, ("event",)),
        )
    try:
        spec = TriggerSpec.model_validate(common)
    except ValidationError as exc:
        error = config_error(exc, TriggerSpec, common, path)
        name = common.get("name")
        raise _named(error, name) from None
    model = EVENTS[spec.event]
    try:
        parsed = model.model_validate(options)
    except ValidationError as exc:
        error = config_error(exc, model, options, path)
        raise _named(error, spec.name, spec.event) from None
    return Trigger(
        name=spec.name,
        event=spec.event,
        options=parsed,  # type: ignore[arg-type]
        action=_action(spec.action, path, item),
        description=spec.description,
    )


def _named(error: ConfigError, name: Any, event: str | None = None) -> ConfigError:
    prefix = f"trigger '{name}'" if name else "a trigger"
    if event:
        prefix += f" ({event})"
    return ConfigError(f"{prefix}: {error.message}", file=error.file, line=error.line)


def _action(spec: ActionSpec, path: Path | None, item: Any) -> Action:
    if spec.webhook is not None:
        return Action(webhook=spec.webhook, timeout=spec.timeout, max_attempts=spec.max_attempts)
    assert spec.campaign is not None
    campaign_file: Path | None = None
    if spec.campaign.endswith((".yaml", ".yml")):
        candidate = Path(spec.campaign)
        if not candidate.is_absolute() and path is not None:
            beside = path.parent / candidate
            candidate = beside if beside.exists() or not candidate.exists() else candidate
        if not candidate.exists():
            raise ConfigError(
                f"the campaign file {spec.campaign} does not exist (looked for {candidate})",
                file=path,
                line=_line_of(item, ("action", "campaign")),
            )
        campaign_file = candidate
    return Action(
        campaign=spec.campaign,
        campaign_file=campaign_file,
        timeout=spec.timeout,
        max_attempts=spec.max_attempts,
    )
