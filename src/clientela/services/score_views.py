"""A profile's scores: the score and band with their reasons, the history, manual adjustments.

``show`` reads the stored snapshot of the asked (or newest) date; for a date without a run it
computes the score live (nothing written), and says so in ``source``.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Literal

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.errors import DataError
from clientela.scoring.definition import ScoringModel
from clientela.services._score_counted import CountedUnit, counted_for
from clientela.services._score_models import get_model
from clientela.services._score_ranking import Ranking, ranking, run_day
from clientela.services.profile import resolve_profile
from clientela.services.scoring import score_profiles

__all__ = [
    "Adjustment",
    "BandChange",
    "CountedUnit",
    "HistoryPoint",
    "ProfileScore",
    "Ranking",
    "Reason",
    "ScoreHistory",
    "adjust",
    "adjust_score",
    "history",
    "ranking",
    "score_history",
    "score_ranking",
    "show",
    "show_score",
]

log = logging.getLogger(__name__)

AdjustmentKind = Literal["add", "subtract", "set"]


@dataclass(frozen=True)
class Reason:
    """One ledger line: a rule (or a cap, adjustment or limit) and the points it gave."""

    rule: str
    points: float
    matched: int
    evidence: str
    group: str | None = None


@dataclass(frozen=True)
class ProfileScore:
    customer_id: str
    model: str
    version: int
    as_of: dt.date
    score: float
    band: str | None
    reasons: tuple[Reason, ...]
    source: str  # "snapshot" or "live"
    # What the behaviour rules counted (asked with ``counted=True``), newest first by rule.
    counted: tuple[CountedUnit, ...] | None = None


@dataclass(frozen=True)
class HistoryPoint:
    as_of: dt.date
    score: float
    band: str | None
    version: int


@dataclass(frozen=True)
class BandChange:
    as_of: dt.date
    from_band: str | None
    to_band: str
    direction: str
    score: float


@dataclass(frozen=True)
class ScoreHistory:
    customer_id: str
    model: str
    points: tuple[HistoryPoint, ...]
    band_changes: tuple[BandChange, ...]


@dataclass(frozen=True)
class Adjustment:
    adjustment_id: str
    model: str
    customer_id: str
    kind: str
    points: float
    reason: str
    author: str
    made_at: dt.datetime


def show(
    dm: Datamart,
    settings: Settings,
    key: str,
    model: str,
    as_of: dt.date | None = None,
    counted: bool = False,
) -> ProfileScore:
    """The score, band and reasons of the customer ``key`` names (id, e-mail or phone); with
    ``counted``, also the events (and other behaviour rows) each behaviour rule counted, with
    the points each earned (:mod:`clientela.services._score_counted`)."""
    chosen = get_model(dm, model)
    profile_id = resolve_profile(dm, settings, key)
    if as_of is None:
        rows = dm.sql(
            "SELECT max(as_of) FROM score_snapshots WHERE model = ? AND profile_id = ?",
            [chosen.name, profile_id],
        )
        as_of = run_day(rows[0][0]) if rows and rows[0][0] is not None else None
    if as_of is not None:
        stored = dm.records(
            "SELECT score, band, version FROM score_snapshots "
            "WHERE model = ? AND as_of = ? AND profile_id = ?",
            [chosen.name, as_of, profile_id],
        )
        if stored:
            lines = dm.records(
                "SELECT rule, rule_group, points, matched, evidence FROM score_ledger "
                "WHERE model = ? AND as_of = ? AND profile_id = ?",
                [chosen.name, as_of, profile_id],
            )
            version = int(stored[0]["version"])
            return ProfileScore(
                customer_id=profile_id,
                model=chosen.name,
                version=version,
                as_of=as_of,
                score=float(stored[0]["score"]),
                band=stored[0]["band"],
                reasons=_reasons(lines),
                source="snapshot",
                counted=_counted(dm, chosen, version, profile_id, as_of) if counted else None,
            )
    live = score_profiles(dm, settings, chosen, as_of=as_of, profiles=[profile_id])
    row = live.scores.to_pylist()[0]
    return ProfileScore(
        customer_id=profile_id,
        model=chosen.name,
        version=chosen.version,
        as_of=live.as_of,
        score=float(row["score"]),
        band=row["band"],
        reasons=_reasons(live.ledger.to_pylist()),
        source="live",
        counted=counted_for(dm, chosen, profile_id, live.as_of) if counted else None,
    )


def _counted(
    dm: Datamart, model: ScoringModel, version: int, profile_id: str, as_of: dt.date
) -> tuple[CountedUnit, ...]:
    """What the version of ``model`` that made a stored score counted."""
    made_by = model if model.version == version else get_model(dm, model.name, version)
    return counted_for(dm, made_by, profile_id, as_of)


def _reasons(lines: list[dict[str, object]]) -> tuple[Reason, ...]:
    reasons = [
        Reason(
            rule=str(line["rule"]),
            points=float(line["points"]),  # type: ignore[arg-type]
            matched=int(line["matched"] or 0),  # type: ignore[call-overload]
            evidence=str(line["evidence"] or ""),
            group=str(line["rule_group"]) if line.get("rule_group") else None,
        )
        for line in lines
    ]
    reasons.sort(key=lambda r: (-abs(r.points), r.rule))
    return tuple(reasons)


def history(dm: Datamart, settings: Settings, key: str, model: str) -> ScoreHistory:
    """Every stored snapshot of one customer's score and band, oldest first, and the changes."""
    chosen = get_model(dm, model)
    profile_id = resolve_profile(dm, settings, key)
    points = dm.sql(
        "SELECT as_of, score, band, version FROM score_snapshots "
        "WHERE model = ? AND profile_id = ? ORDER BY as_of",
        [chosen.name, profile_id],
    )
    changes = dm.sql(
        "SELECT as_of, from_band, to_band, direction, score FROM score_band_changes "
        "WHERE model = ? AND profile_id = ? ORDER BY as_of",
        [chosen.name, profile_id],
    )
    return ScoreHistory(
        customer_id=profile_id,
        model=chosen.name,
        points=tuple(HistoryPoint(run_day(d), float(s), b, int(v)) for d, s, b, v in points),
        band_changes=tuple(
            BandChange(run_day(d), f, str(t), str(direction), float(s))
            for d, f, t, direction, s in changes
        ),
    )


def adjust(
    dm: Datamart,
    settings: Settings,
    model: str,
    key: str,
    kind: str,
    points: float,
    reason: str,
    author: str,
    made_at: dt.datetime | None = None,
) -> Adjustment:
    """Record a manual adjustment (add, subtract or set) with its reason and author.

    It counts in every score as of a date after ``made_at`` (default: now, UTC)."""
    if kind not in ("add", "subtract", "set"):
        raise DataError(
            f"an adjustment is add, subtract or set, got '{kind}'", value=kind, rule="kind"
        )
    if not reason.strip():
        raise DataError("an adjustment needs a reason", rule="reason")
    if not author.strip():
        raise DataError("an adjustment needs an author", rule="author")
    if kind != "set" and points < 0:
        raise DataError(
            f"give the points of an {kind} as a positive number, got {points:g}",
            value=points,
            rule=">= 0",
        )
    chosen = get_model(dm, model)
    profile_id = resolve_profile(dm, settings, key)
    made_at = made_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    adjustment = Adjustment(
        adjustment_id=uuid.uuid4().hex,
        model=chosen.name,
        customer_id=profile_id,
        kind=kind,
        points=float(points),
        reason=reason.strip(),
        author=author.strip(),
        made_at=made_at,
    )
    dm.sql(
        "INSERT INTO score_adjustments (adjustment_id, model, profile_id, kind, points, reason, "
        "author, made_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            adjustment.adjustment_id,
            adjustment.model,
            profile_id,
            kind,
            adjustment.points,
            adjustment.reason,
            adjustment.author,
            made_at,
        ],
    )
    log.info("adjusted %s for %s: %s %g (%s)", chosen.name, profile_id, kind, points, author)
    return adjustment


# The names the package's public API uses (``clientela.show_score`` and so on).
show_score = show
score_history = history
adjust_score = adjust
score_ranking = ranking
