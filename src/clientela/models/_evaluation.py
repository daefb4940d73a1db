"""How good a model's probabilities are: ROC AUC, PR AUC, Brier score, lift and cumulative gains
by decile, the calibration curve; on a holdout or by cross-validation.

Deciles rank the examples by probability, highest first, into ten groups as equal as can be
(ties broken by position, so a constant score still makes ten groups): decile 1 holds the 10%
the model rates highest.  ``lift`` is a decile's positive rate over the overall rate;
``cumulative_gain`` the share of all positives found in the deciles up to this one.
The calibration curve has ten bins of equal width of predicted probability (empty bins left
out): the mean prediction against the observed rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from clientela.errors import InsufficientDataError
from clientela.models._checks import binary_target
from clientela.models._frame import as_frame

__all__ = ["CalibrationBin", "Decile", "Evaluation", "cross_validate", "evaluate_scores"]


@dataclass(frozen=True)
class Decile:
    decile: int
    examples: int
    positives: int
    rate: float
    lift: float
    cumulative_gain: float


@dataclass(frozen=True)
class CalibrationBin:
    predicted: float
    observed: float
    examples: int


@dataclass(frozen=True)
class Evaluation:
    """The quality of a model's probabilities on examples it was not fitted on."""

    validation: str
    examples: int
    positives: int
    base_rate: float
    roc_auc: float
    pr_auc: float
    brier: float
    deciles: tuple[Decile, ...]
    calibration: tuple[CalibrationBin, ...]
    fold_roc_auc: tuple[float, ...] = ()
    feature_importance: dict[str, float] = field(default_factory=dict)


def evaluate_scores(
    y: object,
    probability: object,
    *,
    validation: str,
    fold_roc_auc: tuple[float, ...] = (),
    feature_importance: dict[str, float] | None = None,
) -> Evaluation:
    """The :class:`Evaluation` of ``probability`` (of the positive class) against ``y``."""
    target = binary_target(y)
    scores = np.asarray(probability, dtype="float64").ravel()
    positives = int(target.sum())
    if positives in (0, len(target)):
        raise InsufficientDataError(
            f"cannot evaluate on {len(target):,} examples of one class ({positives:,} "
            "positives): the holdout needs both",
            counts={"examples": len(target), "positives": positives},
            needed={"positives": 1, "negatives": 1},
        )
    base_rate = positives / len(target)
    auc = float(roc_auc_score(target, scores))
    return Evaluation(
        validation=validation,
        examples=len(target),
        positives=positives,
        base_rate=base_rate,
        roc_auc=float(np.mean(fold_roc_auc)) if fold_roc_auc else auc,
        pr_auc=float(average_precision_score(target, scores)),
        brier=float(brier_score_loss(target, scores)),
        deciles=_deciles(target, scores, base_rate),
        calibration=_calibration(target, scores),
        fold_roc_auc=fold_roc_auc,
        feature_importance=dict(feature_importance or {}),
    )


def _deciles(target: np.ndarray, scores: np.ndarray, base_rate: float) -> tuple[Decile, ...]:
    order = np.argsort(-scores, kind="stable")
    groups = np.array_split(target[order], 10)
    total = int(target.sum())
    found = 0
    deciles = []
    for number, group in enumerate(groups, start=1):
        if len(group) == 0:
            continue
        hits = int(group.sum())
        found += hits
        rate = hits / len(group)
        deciles.append(
            Decile(
                decile=number,
                examples=len(group),
                positives=hits,
                rate=rate,
                lift=rate / base_rate,
                cumulative_gain=found / total,
            )
        )
    return tuple(deciles)


def _calibration(target: np.ndarray, scores: np.ndarray) -> tuple[CalibrationBin, ...]:
    bins = np.minimum((scores * 10).astype(int), 9)
    curve = []
    for number in range(10):
        inside = bins == number
        if inside.any():
            curve.append(
                CalibrationBin(
                    predicted=float(scores[inside].mean()),
                    observed=float(target[inside].mean()),
                    examples=int(inside.sum()),
                )
            )
    return tuple(curve)


def cross_validate(
    model: object, X: object, y: object, *, folds: int = 5, random_state: int = 0
) -> Evaluation:
    """Stratified k-fold cross-validation of a fresh copy of ``model`` per fold.

    ``roc_auc`` is the mean of the folds' ROC AUCs (each in ``fold_roc_auc``); the other
    measures are computed on the pooled out-of-fold probabilities.
    """
    frame = as_frame(X)
    target = binary_target(y)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    probability = np.empty(len(target))
    fold_auc = []
    for train, test in splitter.split(np.zeros(len(target)), target):
        fitted = clone(model).fit(frame.iloc[train], target[train])
        probability[test] = fitted.predict_proba(frame.iloc[test])[:, 1]
        fold_auc.append(float(roc_auc_score(target[test], probability[test])))
    return evaluate_scores(
        target,
        probability,
        validation=f"{folds}-fold cross-validation",
        fold_roc_auc=tuple(fold_auc),
    )
