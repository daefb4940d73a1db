"""Monitoring a stored predictive model: has the population drifted from the training sample,
and do the scores still rank the customers as well as they did?

* **Drift**: the population stability index (:mod:`clientela.models._monitoring`) of the score
  and of each feature, between the training sample (the baseline stored with the version) and
  the model's population as of the day monitored (scored on the fly, nothing is stored).
* **Realised accuracy**: the newest stored snapshot of the version whose outcome window has
  passed by the day monitored (and dated after the training's own outcome window, so that the
  outcomes are new to the model) is compared with what happened in that window (the labels of
  the model's target, from the same code as training): its ROC AUC against the training's.

A retraining is recommended when the score's distribution shifted significantly (PSI above 0.25)
or when the realised ROC AUC is more than ``auc_drop`` below the training's.  Features that
shifted significantly are named in a warning of their own, without deciding: features counted
from a fixed day (``tenure_days``, ``days_since_first_purchase``) grow with time by construction,
and the score's PSI says whether the shifts matter to the model.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.errors import ConfigError, DataError
from clientela.models._labels import labels
from clientela.models._monitoring import PSI_SIGNIFICANT, drift, stability
from clientela.services._model_examples import (
    as_day,
    check_window,
    history_end,
    model_tables,
    scoring_features,
)
from clientela.services._model_store import StoredModel, load_model

__all__ = ["FeatureDrift", "MonitorReport", "RealisedAuc", "monitor_model"]


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    psi: float
    stability: str  # stable, moderate, significant
    importance: float  # the feature's share of the model's importance


@dataclass(frozen=True)
class RealisedAuc:
    """How a stored snapshot's scores ranked what happened in their outcome window."""

    scored_as_of: dt.date
    window_end: dt.date  # the last day of the outcome window
    customers: int
    positives: int
    roc_auc: float
    training_roc_auc: float
    drop: float  # training minus realised


@dataclass(frozen=True)
class MonitorReport:
    model: str
    version: int
    kind: str
    cutoff: dt.date
    as_of: dt.date
    population: int
    score_psi: float | None
    score_stability: str | None
    features: tuple[FeatureDrift, ...]
    realised: RealisedAuc | None
    auc_drop: float
    notes: tuple[str, ...]
    warnings: tuple[str, ...]
    retrain_recommended: bool


def monitor_model(
    dm: Datamart,
    settings: Settings,
    name: str,
    as_of: dt.date | None = None,
    *,
    version: int | None = None,
    auc_drop: float = 0.05,
) -> MonitorReport:
    """Drift and realised accuracy of a stored version (the newest by default) as of ``as_of``
    (by default the day after the newest dated data); see the module docstring."""
    if not 0 <= auc_drop <= 1:
        raise ConfigError(f"the ROC AUC drop must be between 0 and 1, got {auc_drop}")
    stored = load_model(dm, name, version)
    end = history_end(dm)
    day = as_of or (end + dt.timedelta(days=1) if end is not None else stored.cutoff)
    notes: list[str] = []
    score_psi: float | None = None
    shifted: list[FeatureDrift] = []
    features = scoring_features(dm, day, stored.target, stored.spec, stored.features)
    if features.empty:
        raise DataError(
            f"no customers of the model '{name}' as of {day}: nothing to compare with the "
            "training sample",
            value=str(day),
            rule="as-of",
        )
    if stored.baseline is None:
        notes.append("no training baseline is stored with this version: retrain it to see drift")
    else:
        assert stored.estimator is not None
        probability = stored.estimator.predict_proba(features)[:, 1]
        score_psi, per_feature = drift(stored.baseline, features, probability)
        importance = stored.evaluation.feature_importance
        shifted = sorted(
            (
                FeatureDrift(feature, value, stability(value), importance.get(feature, 0.0))
                for feature, value in per_feature.items()
            ),
            key=lambda d: (-d.psi, d.feature),
        )
    realised = _realised(dm, stored, day, notes)
    retrain = _retrain_reasons(score_psi, realised, auc_drop)
    return MonitorReport(
        model=stored.name,
        version=stored.version,
        kind=stored.kind,
        cutoff=stored.cutoff,
        as_of=day,
        population=len(features),
        score_psi=score_psi,
        score_stability=None if score_psi is None else stability(score_psi),
        features=tuple(shifted),
        realised=realised,
        auc_drop=auc_drop,
        notes=tuple(notes),
        warnings=tuple(retrain + _shifted_features(shifted)),
        retrain_recommended=bool(retrain),
    )


def _realised(
    dm: Datamart, stored: StoredModel, as_of: dt.date, notes: list[str]
) -> RealisedAuc | None:
    days = stored.target.outcome_days
    # Scores dated before the training's outcome window ended would be judged on outcomes the
    # model learnt from: only later snapshots measure it.
    first = stored.cutoff + dt.timedelta(days=days)
    latest = as_of - dt.timedelta(days=days)
    rows = dm.sql(
        "SELECT max(as_of) FROM predictive_scores "
        "WHERE model = ? AND version = ? AND as_of >= ? AND as_of <= ?",
        [stored.name, stored.version, first, latest],
    )
    scored = as_day(rows[0][0])
    if scored is None:
        notes.append(
            f"no stored scores of version {stored.version} dated from {first} (after the "
            f"training's outcome window) to {latest} (the {days}-day outcome window passed by "
            f"{as_of}): the realised ROC AUC needs one"
        )
        return None
    try:
        check_window(dm, scored, stored.target)
    except DataError as exc:
        notes.append(f"the outcome of the scores of {scored} is not in the data yet: {exc}")
        return None
    scores = dm.table("predictive_scores")
    snapshot = dm.to_pandas(
        scores.filter(
            (scores.model == stored.name)
            & (scores.version == stored.version)
            & (scores.as_of == scored)
        ).select("profile_id", "probability")
    )
    outcome = dm.to_pandas(labels(model_tables(dm), scored, stored.target))
    joined = snapshot.merge(outcome, on="profile_id", how="inner")
    target = joined["label"].to_numpy(dtype="int64")
    positives = int(target.sum())
    if positives in (0, len(target)):
        notes.append(
            f"the {len(target):,} customers scored on {scored} with an outcome are all of one "
            f"class ({positives:,} positives): no realised ROC AUC"
        )
        return None
    auc = float(roc_auc_score(target, joined["probability"].to_numpy(dtype="float64")))
    trained = stored.evaluation.roc_auc
    return RealisedAuc(
        scored_as_of=scored,
        window_end=scored + dt.timedelta(days=days - 1),
        customers=len(target),
        positives=positives,
        roc_auc=auc,
        training_roc_auc=trained,
        drop=float(np.round(trained - auc, 6)),
    )


def _retrain_reasons(
    score_psi: float | None, realised: RealisedAuc | None, auc_drop: float
) -> list[str]:
    found = []
    if score_psi is not None and score_psi > PSI_SIGNIFICANT:
        found.append(
            f"the score's distribution shifted since training (PSI {score_psi:.2f} > "
            f"{PSI_SIGNIFICANT}): retrain the model"
        )
    if realised is not None and realised.drop > auc_drop:
        found.append(
            f"the realised ROC AUC of the scores of {realised.scored_as_of} is "
            f"{realised.roc_auc:.3f}, {realised.drop:.3f} below the training's "
            f"{realised.training_roc_auc:.3f} (more than {auc_drop}): retrain the model"
        )
    return found


def _shifted_features(features: list[FeatureDrift]) -> list[str]:
    moved = [f for f in features if f.psi > PSI_SIGNIFICANT]
    if not moved:
        return []
    named = ", ".join(f"{f.feature} ({f.psi:.2f})" for f in moved[:5])
    more = f" and {len(moved) - 5} more" if len(moved) > 5 else ""
    return [
        f"{len(moved)} feature(s) shifted since training (PSI > {PSI_SIGNIFICANT}): {named}{more}"
    ]
