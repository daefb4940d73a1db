"""Predictive models on the datamart: train (with its evaluation), evaluate, retrain, compare,
list; scoring (:mod:`~clientela.services._model_scoring`) and monitoring
(:mod:`~clientela.services._model_monitor`) are re-exported here.

Training builds the examples of a :class:`~clientela.models.Target` at a cut-off date: the
point-in-time features of every example (data before the cut-off) and its label (the outcome
window after it).  The evaluation is on a time-based holdout by default: a model fitted on the
examples of an earlier cut-off (``outcome_days`` before, so that its outcome window ends where
the later one starts) is tested on the examples of the cut-off itself; ``validation="cv"``
cross-validates on the cut-off's examples instead.  The model stored is then fitted on the
examples of the cut-off, and saved as a new version in ``predictive_models`` with what was asked
(so that :func:`retrain_model` can ask it again at a later cut-off) and the training baseline
that monitoring compares the population with.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import pandas as pd

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.errors import ConfigError, DataError, InsufficientDataError
from clientela.models._checks import binary_target, check_sufficiency, leakage_check
from clientela.models._estimators import PropensityModel
from clientela.models._evaluation import Evaluation, cross_validate, evaluate_scores
from clientela.models._features import FeatureSpec, attribute_dates, feature_column
from clientela.models._labels import Target
from clientela.models._monitoring import fit_baseline
from clientela.progress import NO_PROGRESS, Progress
from clientela.services._model_examples import (
    as_day,
    build_examples,
    check_window,
    choose_features,
    latest_cutoff,
)
from clientela.services._model_monitor import MonitorReport, monitor_model
from clientela.services._model_scoring import ModelScoreRun, score_model
from clientela.services._model_store import (
    StoredModel,
    load_model,
    model_versions,
    next_version,
    save_model,
)

__all__ = [
    "ModelComparison",
    "ModelInfo",
    "ModelScoreRun",
    "MonitorReport",
    "TrainRequest",
    "VersionMetrics",
    "build_examples",
    "choose_features",
    "compare_models",
    "evaluate_model",
    "list_predictive_models",
    "monitor_model",
    "retrain_model",
    "score_model",
    "train_model",
]

log = logging.getLogger(__name__)

Validation = Literal["time", "cv"]


@dataclass(frozen=True)
class TrainRequest:
    """What to train: the target, the cut-off, the algorithm and how to validate it."""

    name: str
    target: Target
    cutoff: dt.date
    algorithm: Literal["gbm", "logistic"] = "gbm"
    validation: Validation = "time"
    folds: int = 5
    min_examples: int = 100
    min_positives: int = 20
    leakage_threshold: float = 0.9
    exclude: tuple[str, ...] = ()
    windows: tuple[int, ...] = (30, 90, 365)
    seed: int = 0
    n_jobs: int = 1


def _model(request: TrainRequest) -> PropensityModel:
    return PropensityModel(
        request.algorithm,
        min_examples=request.min_examples,
        min_positives=request.min_positives,
        n_jobs=request.n_jobs,
        random_state=request.seed,
    )


def _without(frame: pd.DataFrame, exclude: Sequence[str]) -> pd.DataFrame:
    unknown = [name for name in exclude if name not in frame.columns]
    if unknown:
        from clientela.errors import suggest

        hint = suggest(unknown[0], frame.columns)
        raise ConfigError(f"no feature '{unknown[0]}' to exclude{hint}")
    return frame.drop(columns=list(exclude))


def _leakage(
    dm: Datamart, frame: pd.DataFrame, request: TrainRequest, spec: FeatureSpec
) -> list[str]:
    recorded: dict[str, dt.date | None] = {}
    if spec.attributes:
        dates = dm.to_pandas(
            attribute_dates(dm.table("third_party"), request.cutoff, spec.attributes)
        )
        for row in dates.itertuples():
            column = feature_column("attr", str(row.attribute))
            if column in frame.columns:
                recorded[column] = None if row.undated else as_day(row.newest)
    found = leakage_check(
        frame.drop(columns="label"),
        frame["label"],
        threshold=request.leakage_threshold,
        recorded_at=recorded,
        outcome_from=request.cutoff,
        random_state=request.seed,
    )
    return [f"possible leak: {warning}" for warning in found]


def train_model(
    dm: Datamart, settings: Settings, request: TrainRequest, progress: Progress = NO_PROGRESS
) -> StoredModel:
    """Build the examples, check them, evaluate, fit and store a new version (module docstring)."""
    started = time.perf_counter()
    target = request.target
    if request.validation not in ("time", "cv"):
        raise ConfigError(f"unknown validation '{request.validation}'; expected time or cv")
    with progress.task(f"training {request.name}", total=4) as task:
        check_window(dm, request.cutoff, target)
        spec = choose_features(dm, request.cutoff, target, request.windows)
        frame = _without(build_examples(dm, request.cutoff, target, spec), request.exclude)
        task.advance()
        features = frame.drop(columns="label")
        model = _model(request)
        # The guard first, with the cut-off's own counts, before any evaluation is attempted.
        check_sufficiency(
            binary_target(frame["label"]),
            min_examples=request.min_examples,
            min_positives=request.min_positives,
        )
        warnings = _leakage(dm, frame, request, spec)
        task.advance()
        if request.validation == "cv":
            evaluation = cross_validate(
                model, features, frame["label"], folds=request.folds, random_state=request.seed
            )
        else:
            evaluation = _time_holdout(dm, request, spec, features, frame["label"])
        task.advance()
        model.fit(features, frame["label"])
        warnings = _dropped(model.dropped_features_) + warnings
        evaluation = _with_importance(evaluation, model)
        probability = model.predict_proba(features)[:, 1]
        kept = list(model.encoder_.feature_names)
        stored = StoredModel(
            name=request.name,
            version=next_version(dm, request.name),
            target=target,
            algorithm=request.algorithm,
            cutoff=request.cutoff,
            spec=spec,
            features=tuple(str(c) for c in features.columns),
            parameters=_parameters(request, model),
            evaluation=evaluation,
            warnings=tuple(warnings),
            examples=len(frame),
            positives=int(frame["label"].sum()),
            created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
            estimator=model,
            baseline=fit_baseline(features.loc[:, kept], probability),
        )
        with dm.transaction():
            save_model(dm, stored)
        task.advance()
    log.info(
        "trained %s version %d in %.1f s",
        stored.name,
        stored.version,
        time.perf_counter() - started,
    )
    return stored


def _parameters(request: TrainRequest, model: PropensityModel) -> dict[str, Any]:
    """The estimator's parameters and what the training was asked (read back by
    :func:`request_of`)."""
    plain = {k: v for k, v in model.get_params().items() if isinstance(v, int | float | str)}
    return plain | {
        "validation": request.validation,
        "excluded": list(request.exclude),
        "folds": request.folds,
        "leakage_threshold": request.leakage_threshold,
        "windows": list(request.windows),
    }


def request_of(stored: StoredModel, cutoff: dt.date | None = None) -> TrainRequest:
    """The request that trained ``stored``, at ``cutoff`` (by default its own)."""
    p = stored.parameters
    defaults = TrainRequest(stored.name, stored.target, stored.cutoff)
    return TrainRequest(
        name=stored.name,
        target=stored.target,
        cutoff=cutoff or stored.cutoff,
        algorithm="logistic" if stored.algorithm == "logistic" else "gbm",
        validation="cv" if p.get("validation") == "cv" else "time",
        folds=int(p.get("folds", defaults.folds)),
        min_examples=int(p.get("min_examples", defaults.min_examples)),
        min_positives=int(p.get("min_positives", defaults.min_positives)),
        leakage_threshold=float(p.get("leakage_threshold", defaults.leakage_threshold)),
        exclude=tuple(p.get("excluded", ())),
        windows=tuple(int(w) for w in p.get("windows", defaults.windows)),
        seed=int(p.get("random_state", defaults.seed)),
        n_jobs=int(p.get("n_jobs", defaults.n_jobs)),
    )


def retrain_model(
    dm: Datamart,
    settings: Settings,
    name: str,
    cutoff: dt.date | None = None,
    progress: Progress = NO_PROGRESS,
) -> StoredModel:
    """Train a new version of ``name`` with the newest version's request, at ``cutoff`` (by
    default the latest cut-off whose outcome window the data covers); older versions stay."""
    stored = load_model(dm, name, with_estimator=False)
    day = cutoff or latest_cutoff(dm, stored.target)
    return train_model(dm, settings, request_of(stored, day), progress)


def _dropped(dropped: dict[str, str]) -> list[str]:
    """One warning per reason, naming the features dropped for it."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in dropped.items():
        by_reason.setdefault(reason, []).append(name)
    return [
        f"{len(names)} feature(s) dropped, {reason}: {', '.join(names)}"
        for reason, names in by_reason.items()
    ]


def _with_importance(evaluation: Evaluation, model: PropensityModel) -> Evaluation:
    return replace(evaluation, feature_importance=model.feature_importances_)


def _time_holdout(
    dm: Datamart,
    request: TrainRequest,
    spec: FeatureSpec,
    holdout: pd.DataFrame,
    holdout_labels: pd.Series,
) -> Evaluation:
    earlier = request.cutoff - dt.timedelta(days=request.target.outcome_days)
    hint = (
        f"the time-based holdout trains on the examples of {earlier} (the cut-off minus the "
        "outcome window); choose a later cut-off, or cross-validate with --validation cv"
    )
    try:
        check_window(dm, earlier, request.target)
        past = _without(build_examples(dm, earlier, request.target, spec), request.exclude)
        fitted = _model(request).fit(past.drop(columns="label"), past["label"])
    except InsufficientDataError as exc:
        raise InsufficientDataError(
            f"{exc.message}; {hint}", counts=exc.counts, needed=exc.needed
        ) from None
    except DataError as exc:
        raise DataError(f"{exc.message}; {hint}", value=exc.value, rule=exc.rule) from None
    probability = fitted.predict_proba(holdout.loc[:, past.drop(columns="label").columns])[:, 1]
    return evaluate_scores(
        holdout_labels,
        probability,
        validation=f"time holdout: trained on {earlier}, tested on {request.cutoff}",
    )


def evaluate_model(dm: Datamart, name: str, version: int | None = None) -> StoredModel:
    """The stored model with its evaluation (the estimator is not read)."""
    return load_model(dm, name, version, with_estimator=False)


# -- comparing ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class VersionMetrics:
    """One version's training window and evaluation, for a comparison."""

    version: int
    algorithm: str
    cutoff: dt.date
    outcome_days: int
    created_at: dt.datetime
    examples: int
    positives: int
    validation: str
    roc_auc: float
    pr_auc: float
    brier: float
    top_decile_lift: float | None
    top_features: tuple[str, ...]


@dataclass(frozen=True)
class ModelComparison:
    name: str
    kind: str
    versions: tuple[VersionMetrics, ...]


def compare_models(
    dm: Datamart, name: str, versions: Sequence[int] | None = None, *, features: int = 5
) -> ModelComparison:
    """The metrics of ``versions`` of a model side by side (by default its two newest)."""
    chosen: list[int | None] = list(versions or model_versions(dm, name)[-2:]) or [None]
    stored = [load_model(dm, name, version, with_estimator=False) for version in chosen]
    return ModelComparison(
        name=stored[0].name,
        kind=stored[0].kind,
        versions=tuple(
            VersionMetrics(
                version=s.version,
                algorithm=s.algorithm,
                cutoff=s.cutoff,
                outcome_days=s.target.outcome_days,
                created_at=s.created_at,
                examples=s.examples,
                positives=s.positives,
                validation=s.evaluation.validation,
                roc_auc=s.evaluation.roc_auc,
                pr_auc=s.evaluation.pr_auc,
                brier=s.evaluation.brier,
                top_decile_lift=s.evaluation.deciles[0].lift if s.evaluation.deciles else None,
                top_features=tuple(list(s.evaluation.feature_importance)[:features]),
            )
            for s in stored
        ),
    )


# -- listing -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: int
    kind: str
    algorithm: str
    cutoff: dt.date
    outcome_days: int
    examples: int
    positives: int
    roc_auc: float | None
    created_at: dt.datetime


def list_predictive_models(dm: Datamart) -> list[ModelInfo]:
    """The newest version of every predictive model, by name."""
    rows = dm.records(
        "SELECT name, version, kind, algorithm, cutoff, outcome_days, examples, positives, "
        "metrics, created_at FROM predictive_models ORDER BY name, version"
    )
    newest: dict[str, dict[str, Any]] = {}
    for row in rows:
        newest[str(row["name"])] = row
    return [
        ModelInfo(
            name=str(row["name"]),
            version=int(row["version"]),
            kind=str(row["kind"]),
            algorithm=str(row["algorithm"]),
            cutoff=as_day(row["cutoff"]) or dt.date.min,
            outcome_days=int(row["outcome_days"]),
            examples=int(row["examples"]),
            positives=int(row["positives"]),
            roc_auc=json.loads(row["metrics"]).get("roc_auc"),
            created_at=row["created_at"],
        )
        for row in newest.values()
    ]
