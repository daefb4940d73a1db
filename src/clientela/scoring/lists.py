"""List scoring: a CRM's list of e-mails and phones matched to the datamart, scored, levelled.

The pieces, used by :mod:`clientela.services.score_list`:

* :func:`read_contact_list` reads a CSV/TXT, XLSX or XLS list, finds its e-mail and phone
  columns (by header in several languages, else by content), normalises them like the datamart
  does and merges duplicates (:class:`ContactList`).
* :func:`best_matches`, :func:`filter_facts` and :func:`advertising_consent` are backend-free
  Ibis: contacts to profiles, the profile filters (:class:`ListFilters`), consent to advertise.
* :func:`choose_cutoffs`, :func:`level_of` and :func:`top_reasons` turn scores into interest
  levels (high, medium, low) and explanations.

The values of one run are :class:`ScoreListSummary` (what a person reads), :class:`ListRun` (one
run in a list's history) and :class:`ScoreListResult` (the summary, every contact, the history).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from clientela.errors import ConfigError
from clientela.scoring._list_contacts import ContactList, build_contacts, list_phone, phone_problem
from clientela.scoring._list_match import (
    ADVERTISING_CHANNELS,
    ADVERTISING_PURPOSES,
    ListFilters,
    advertising_consent,
    best_matches,
    confirmed_keys,
    filter_facts,
    on_do_not_contact,
    parse_age_range,
    parse_gender,
)
from clientela.scoring._list_read import read_raw_list
from clientela.scoring.definition import LevelCutoffs

__all__ = [
    "ADVERTISING_CHANNELS",
    "ADVERTISING_PURPOSES",
    "LEVELS",
    "AudienceFile",
    "ContactList",
    "CutoffSource",
    "ListFilters",
    "ListRun",
    "ScoreListResult",
    "ScoreListSummary",
    "advertising_consent",
    "best_matches",
    "choose_cutoffs",
    "confirmed_keys",
    "filter_facts",
    "level_of",
    "list_phone",
    "on_do_not_contact",
    "parse_age_range",
    "parse_gender",
    "phone_problem",
    "read_contact_list",
    "top_reasons",
]

LEVELS = ("high", "medium", "low")
CutoffSource = Literal["options", "model", "terciles", "none"]
REASONS_PER_CONTACT = 3
_EVIDENCE_CHARS = 80


def read_contact_list(
    path: str | Path, *, region: str, name: str | None = None, sheet: str | None = None
) -> ContactList:
    """Read, normalise and deduplicate a contact list.  ``name`` defaults to the file stem."""
    raw = read_raw_list(path, sheet=sheet)
    return build_contacts(raw, name=name or Path(path).stem, region=region.upper())


def choose_cutoffs(
    scores: Sequence[float],
    *,
    model_levels: LevelCutoffs | None,
    high: float | None = None,
    medium: float | None = None,
) -> tuple[LevelCutoffs | None, CutoffSource]:
    """The cut-offs of the levels and where they come from.

    Explicit ``high``/``medium`` win; a missing one comes from the model's ``levels``, else from
    the terciles of ``scores`` (the scored contacts).  None when nothing was scored and nothing
    was given.
    """
    terciles: tuple[float, float] | None = None
    source: CutoffSource
    if scores:
        ordered = sorted(scores)
        terciles = (_quantile(ordered, 2 / 3), _quantile(ordered, 1 / 3))
    if high is not None and medium is not None:
        chosen, source = LevelCutoffs(high=high, medium=medium), "options"
    elif model_levels is not None:
        chosen = LevelCutoffs(
            high=model_levels.high if high is None else high,
            medium=model_levels.medium if medium is None else medium,
        )
        source = "options" if high is not None or medium is not None else "model"
    elif terciles is not None:
        chosen = LevelCutoffs(
            high=terciles[0] if high is None else high,
            medium=terciles[1] if medium is None else medium,
        )
        source = "options" if high is not None or medium is not None else "terciles"
    elif high is not None or medium is not None:
        given = high if high is not None else medium
        assert given is not None
        chosen, source = LevelCutoffs(high=given, medium=given), "options"
    else:
        return None, "none"
    if chosen.medium > chosen.high:
        raise ConfigError(
            f"the medium cut-off ({chosen.medium:g}) is above the high one ({chosen.high:g}); "
            "expected --medium <= --high"
        )
    return chosen, source


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default method)."""
    position = (len(ordered) - 1) * q
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return float(ordered[below] + (ordered[above] - ordered[below]) * (position - below))


def level_of(score: float, cutoffs: LevelCutoffs) -> str:
    """``high`` from the high cut-off, ``medium`` from the medium one, else ``low``."""
    if score >= cutoffs.high:
        return "high"
    if score >= cutoffs.medium:
        return "medium"
    return "low"


def top_reasons(ledger: pa.Table, per_profile: int = REASONS_PER_CONTACT) -> dict[str, str]:
    """Each profile's ledger lines with the largest absolute points, as one line of text.

    ``rule +12 (evidence); other -5 (evidence)``; lines worth no points are left out.
    """
    if ledger.num_rows == 0:
        return {}
    lines = ledger.filter(pc.not_equal(ledger.column("points"), 0.0))
    if lines.num_rows == 0:
        return {}
    magnitude = pc.abs(lines.column("points"))
    lines = lines.append_column("_magnitude", magnitude)
    lines = lines.sort_by([("profile_id", "ascending"), ("_magnitude", "descending"),
                           ("rule", "ascending")])  # fmt: skip
    profiles = lines.column("profile_id").to_pylist()
    rules = lines.column("rule").to_pylist()
    points = lines.column("points").to_pylist()
    evidence = lines.column("evidence").to_pylist()
    reasons: dict[str, list[str]] = {}
    for profile, rule, value, why in zip(profiles, rules, points, evidence, strict=True):
        found = reasons.setdefault(profile, [])
        if len(found) < per_profile:
            found.append(_reason(rule, value, why))
    return {profile: "; ".join(found) for profile, found in reasons.items()}


def _reason(rule: str, points: float, evidence: str | None) -> str:
    text = f"{rule} {points:+g}"
    if evidence:
        short = evidence if len(evidence) <= _EVIDENCE_CHARS else evidence[:_EVIDENCE_CHARS] + "..."
        text += f" ({short})"
    return text


@dataclass(frozen=True)
class ListRun:
    """One run of a list in its history: coverage and contacts per level."""

    run_id: str
    scored_at: dt.datetime
    as_of: dt.date
    version: int
    contacts: int
    matched: int
    high: int
    medium: int
    low: int
    mean_score: float | None


@dataclass(frozen=True)
class AudienceFile:
    """An audience file written for one ad platform."""

    platform: str
    path: str
    rows: int
    emails: int
    phones: int


@dataclass(frozen=True)
class ScoreListSummary:
    """What a run of list scoring found: coverage, levels, cut-offs, files written."""

    run_id: str
    list_name: str
    file: str
    model: str
    version: int
    as_of: dt.date
    scored_at: dt.datetime
    rows: int
    contacts: int
    duplicates: int
    matched: int
    unmatched: int
    excluded: int
    scored: int
    levels: dict[str, int]
    cutoffs: LevelCutoffs | None
    cutoffs_source: CutoffSource
    filters: str
    region: str
    local_phones: int
    invalid_values: int
    email_columns: tuple[str, ...]
    phone_columns: tuple[str, ...]
    previous_run: str | None
    changes: dict[str, int]
    workbook: str | None = None
    audience: tuple[AudienceFile, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def coverage(self) -> float:
        """Share of the contacts that were matched and scored."""
        return self.scored / self.contacts if self.contacts else 0.0


@dataclass(frozen=True)
class ScoreListResult:
    """A run: its summary, every contact (one row each) and the list's runs so far.

    ``contacts`` columns: ``contact``, ``email``, ``phone``, ``line``, ``rows``, ``status``
    (scored, excluded or unmatched), ``customer_id``, ``profile_id``, ``matched_on``,
    ``score``, ``level``, ``reasons``, ``previous_score``, ``previous_level``, ``change``.
    """

    summary: ScoreListSummary
    contacts: pa.Table
    history: tuple[ListRun, ...] = field(default_factory=tuple)
