"""The scores shown on the 360-degree profile, read from the stored snapshots: the rule-based
scores with their trend, the predictive models' probabilities with their reasons."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from clientela.datamart import Datamart
from clientela.profile.view import ModelScore, PredictiveScore, ScorePoint, ScoreReason

__all__ = ["TREND_RUNS", "profile_predictions", "profile_scores"]

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


def _reasons(listed: list[dict[str, Any]]) -> tuple[ScoreReason, ...]:
    return tuple(
        ScoreReason(str(r["feature"]), str(r["value"]), float(r["effect"])) for r in listed
    )


def profile_predictions(
    dm: Datamart, profile_id: str, as_of: dt.date
) -> tuple[PredictiveScore, ...]:
    """Per predictive model, the newest stored score on or before ``as_of``, with its reasons."""
    rows = dm.sql(
        "SELECT model, version, as_of, probability, decile, reasons FROM predictive_scores "
        "WHERE profile_id = ? AND as_of <= ? ORDER BY model, as_of DESC",
        [profile_id, as_of],
    )
    newest: dict[str, PredictiveScore] = {}
    for model, version, day, probability, decile, reasons in rows:
        if str(model) in newest:
            continue
        document = json.loads(reasons) if reasons else {}
        newest[str(model)] = PredictiveScore(
            model=str(model),
            version=int(version),
            as_of=day.date() if isinstance(day, dt.datetime) else day,
            probability=float(probability),
            decile=int(decile),
            raising=_reasons(document.get("raising", [])),
            lowering=_reasons(document.get("lowering", [])),
        )
    return tuple(newest.values())
