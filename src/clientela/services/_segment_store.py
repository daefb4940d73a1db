"""Saved segments: a name and its definition (YAML text) in the ``segments`` table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from clientela.datamart import Datamart
from clientela.errors import ConfigError, NotFoundError, suggest
from clientela.segments.definition import NAME_PATTERN, Segment, parse_segment_text

__all__ = ["SavedSegment", "list_segments", "load_segment", "store_segment"]


@dataclass(frozen=True)
class SavedSegment:
    name: str
    kind: str
    definition: str
    created_at: dt.datetime


def store_segment(dm: Datamart, name: str, segment: Segment, *, replace: bool = False) -> bool:
    """Save (or with ``replace``, overwrite) a segment; True when one was replaced."""
    if not NAME_PATTERN.match(name):
        raise ConfigError(
            f"segment name '{name}': a name starts with a letter and holds letters, digits, _ . -"
        )
    exists = bool(dm.sql("SELECT 1 FROM segments WHERE name = ?", [name]))
    if exists and not replace:
        raise ConfigError(f"a segment '{name}' is already saved; add --replace to overwrite it")
    with dm.transaction():
        dm.sql("DELETE FROM segments WHERE name = ?", [name])
        dm.sql(
            "INSERT INTO segments (name, definition, created_at) VALUES (?, ?, ?)",
            [name, segment.text, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
        )
    return exists


def load_segment(dm: Datamart, name: str) -> Segment:
    """The saved segment ``name``; NotFoundError naming the close match."""
    rows = dm.sql("SELECT definition FROM segments WHERE name = ?", [name])
    if not rows:
        known = [s.name for s in list_segments(dm)]
        listed = ", ".join(known) if known else "none (save one with 'clientela segment save')"
        raise NotFoundError(
            f"no saved segment '{name}'{suggest(name, known)}; the saved segments are: {listed}"
        )
    return parse_segment_text(str(rows[0][0]), name=name, source=f"saved segment '{name}'")


def list_segments(dm: Datamart) -> list[SavedSegment]:
    rows = dm.records("SELECT name, definition, created_at FROM segments ORDER BY name")
    return [
        SavedSegment(
            name=str(row["name"]),
            kind=parse_segment_text(str(row["definition"]), name=str(row["name"])).kind,
            definition=str(row["definition"]),
            created_at=row["created_at"],
        )
        for row in rows
    ]
