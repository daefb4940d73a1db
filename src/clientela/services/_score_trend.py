"""The rule-based scores shown on the 360-degree profile, read from the stored snapshots."""

from __future__ import annotations

import datetime as dt

from clientela.datamart import Datamart
from clientela.profile.view import ModelScore, ScorePoint

__all__ = ["TREND_RUNS", "profile_scores"]

# Runs shown in a profile's trend, per model.
TREND_RUNS = 8


def profile_scores(dm: Datamart, profile_id: str, as_of: dt.date) -> tuple[ModelScore, ...]:
    """Per model, the newest snapshot on or before ``as_of``, its change since the run before
    and the trend of the last :data:`TREND_RUNS` runs (oldest first)."""
    rows = dm.sql(
        "SELECT model, as_of, score, band, version FROM score_snapshots "
        "WHERE profile_id = ? AND as_of <= ? ORDER BY model, as_of DESC",
        [profile_id, as_of],
    )
    found: dict[str, list[tuple[ScorePoint, int]]] = {}
    for model, day, score, band, version in rows:
        kept = found.setdefault(str(model), [])
        if len(kept) < TREND_RUNS:
            day = day.date() if isinstance(day, dt.datetime) else day
            kept.append((ScorePoint(day, float(score), band), int(version)))
    scores = []
    for model, points in found.items():
        newest, version = points[0]
        before = points[1][0].score if len(points) > 1 else None
        scores.append(
            ModelScore(
                model=model,
                version=version,
                as_of=newest.as_of,
                score=newest.score,
                band=newest.band,
                change=None if before is None else round(newest.score - before, 4),
                trend=tuple(point for point, _ in reversed(points)),
            )
        )
    return tuple(scores)
