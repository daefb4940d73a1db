"""Checks before training: enough data, and no feature that leaks the outcome.

The data-sufficiency guard refuses to train on too few examples or too few of either class, and
says how many there are and how many are needed.  The leakage check warns about a feature that
alone predicts the target almost perfectly (its out-of-fold ROC AUC reaches ``threshold``), and
about a feature recorded on or after the start of the outcome window, or not dated at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from clientela.errors import InsufficientDataError
from clientela.models._frame import as_frame, coerce_numbers

__all__ = ["LeakageWarning", "binary_target", "check_sufficiency", "leakage_check"]


def binary_target(y: object) -> np.ndarray:
    """The target as 0/1 integers (booleans, 0/1 numbers, or "1"/"0" text)."""
    values = pd.Series(np.asarray(y).ravel())
    if values.isna().any():
        raise InsufficientDataError(
            f"the target has {int(values.isna().sum()):,} missing value(s); every example needs "
            "a label",
            counts={"missing": int(values.isna().sum())},
            needed={"missing": 0},
        )
    if pd.api.types.is_bool_dtype(values):
        return values.astype("int64").to_numpy()
    numbers = pd.to_numeric(values.astype(str), errors="coerce")
    if numbers.isna().any() or not numbers.isin([0, 1]).all():
        seen = ", ".join(repr(v) for v in sorted(values.astype(str).unique())[:5])
        raise InsufficientDataError(
            f"the target must be 0/1 or true/false, got {seen}",
            counts={"classes": int(values.nunique())},
            needed={"classes": 2},
        )
    return numbers.astype("int64").to_numpy()


def check_sufficiency(y: np.ndarray, *, min_examples: int, min_positives: int) -> None:
    """InsufficientDataError unless there are enough examples, positives and negatives."""
    examples = len(y)
    positives = int(y.sum())
    negatives = examples - positives
    counts = {"examples": examples, "positives": positives, "negatives": negatives}
    if examples and (positives == 0 or negatives == 0):
        only = "positive" if negatives == 0 else "negative"
        raise InsufficientDataError(
            f"the target has one class: all {examples:,} examples are {only} "
            f"({positives:,} positives, {negatives:,} negatives); a model needs both",
            counts=counts,
            needed={"positives": min_positives, "negatives": min_positives},
        )
    problems = []
    if examples < min_examples:
        problems.append(f"{examples:,} examples, at least {min_examples:,} needed")
    if positives < min_positives:
        problems.append(f"{positives:,} positives, at least {min_positives:,} needed")
    if negatives < min_positives:
        problems.append(f"{negatives:,} negatives, at least {min_positives:,} needed")
    if problems:
        raise InsufficientDataError(
            "too little data to train: " + "; ".join(problems),
            counts=counts,
            needed={
                "examples": min_examples,
                "positives": min_positives,
                "negatives": min_positives,
            },
        )


@dataclass(frozen=True)
class LeakageWarning:
    """A feature suspected of leaking the outcome, and why."""

    feature: str
    reason: str
    roc_auc: float | None = None

    def __str__(self) -> str:
        return f"{self.feature}: {self.reason}"


def leakage_check(
    X: object,
    y: object,
    *,
    threshold: float = 0.9,
    recorded_at: Mapping[str, dt.date | None] | None = None,
    outcome_from: dt.date | None = None,
    folds: int = 5,
    random_state: int = 0,
) -> list[LeakageWarning]:
    """Warnings for the features that look like they leak the outcome.

    A feature alone is turned into a score out of fold (numbers in up to 20 quantile bins,
    categories as they are, missing as its own level; each level scored by its positive rate in
    the other folds), and flagged when that score's ROC AUC reaches ``threshold``.  With
    ``recorded_at`` (the newest date of the data behind each feature, None when undated) and
    ``outcome_from`` (the first day of the outcome window), a feature recorded on or after that
    day, or not dated, is flagged too.
    """
    frame = as_frame(X)
    target = binary_target(y)
    warnings: list[LeakageWarning] = []
    if recorded_at is not None and outcome_from is not None:
        for feature, when in recorded_at.items():
            if when is None:
                warnings.append(
                    LeakageWarning(
                        feature,
                        "its data is not dated: nothing shows it was known before the outcome",
                    )
                )
            elif when >= outcome_from:
                warnings.append(
                    LeakageWarning(
                        feature,
                        f"recorded on {when.isoformat()}, on or after the start of the outcome "
                        f"window ({outcome_from.isoformat()})",
                    )
                )
    positives = int(target.sum())
    splits = min(folds, positives, len(target) - positives)
    if splits < 2:
        return warnings
    cv = StratifiedKFold(n_splits=splits, shuffle=True, random_state=random_state)
    fold_of = np.empty(len(target), dtype=int)
    for fold, (_, test) in enumerate(cv.split(np.zeros(len(target)), target)):
        fold_of[test] = fold
    for name in frame.columns:
        auc = _single_feature_auc(frame[name], target, fold_of, splits)
        if auc is not None and auc >= threshold:
            warnings.append(
                LeakageWarning(
                    str(name),
                    f"alone it predicts the target almost perfectly (ROC AUC {auc:.3f}, "
                    f"threshold {threshold}): is it known before the outcome?",
                    roc_auc=auc,
                )
            )
    return warnings


def _levels(column: pd.Series) -> np.ndarray:
    numbers = coerce_numbers(column)
    if numbers is not None:
        present = numbers.dropna()
        if present.nunique() > 20:
            edges = np.unique(np.quantile(present, np.linspace(0, 1, 21)))
            binned = np.digitize(numbers.fillna(np.inf), edges[1:-1])
            return np.where(numbers.isna(), -1, binned).astype(str)
        return numbers.fillna(np.inf).astype(str).to_numpy()
    return column.astype("object").where(column.notna(), "\0missing").astype(str).to_numpy()


def _single_feature_auc(
    column: pd.Series, target: np.ndarray, fold_of: np.ndarray, folds: int
) -> float | None:
    if column.isna().all():
        return None
    levels = _levels(column)
    prior = float(target.mean())
    score = np.empty(len(target))
    for fold in range(folds):
        train = fold_of != fold
        rates = (
            pd.DataFrame({"level": levels[train], "y": target[train]})
            .groupby("level")["y"]
            .agg(["sum", "count"])
        )
        # A little smoothing towards the overall rate: a level seen once says little.
        smoothed = (rates["sum"] + prior) / (rates["count"] + 1)
        score[~train] = pd.Series(levels[~train]).map(smoothed).fillna(prior).to_numpy()
    return float(roc_auc_score(target, score))
