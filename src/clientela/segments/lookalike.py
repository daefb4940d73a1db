"""Look-alikes: how much a customer outside a segment resembles its members.

A regularised (L2) logistic regression learns members against everyone else on the standardised
features (:mod:`clientela.segments._matrix`), with balanced class weights so that a small segment
counts as much as the rest.  The scores are cross-fitted: the base is cut into folds (stratified,
seeded), and each customer is scored by the model fitted on the other folds, so a non-member's
score never comes from a model that was told it is a non-member.  A high score means the
customer's traits are those that tell members apart, which is what "customers with the traits of
tier A who are not yet A" asks.  Why this and not a distance to the members: see
``docs/segments.md``.

The closest traits of a customer are the features that raise its score most (coefficient times
standardised value, in the model that scored it).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from clientela.errors import InsufficientDataError
from clientela.segments._matrix import DesignMatrix

__all__ = ["MIN_MEMBERS", "LookalikeScores", "lookalike_scores"]

MIN_MEMBERS = 5
_FOLDS = 5
_REASONS = 3


@dataclass(frozen=True)
class LookalikeScores:
    """``scores``: each row's cross-fitted score (0-1); ``reasons``: per row, the matrix
    columns that raise its score most (indices, strongest first, only positive ones)."""

    scores: np.ndarray
    reasons: list[list[int]]


def lookalike_scores(
    matrix: DesignMatrix,
    members: np.ndarray,
    *,
    folds: int = _FOLDS,
    regularisation: float = 1.0,
    seed: int = 0,
) -> LookalikeScores:
    """Cross-fitted look-alike scores of every row (``members``: a boolean mask)."""
    # scikit-learn takes seconds to import: only when look-alikes are computed.
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    member_count = int(members.sum())
    others = len(members) - member_count
    if member_count < MIN_MEMBERS or others < MIN_MEMBERS:
        raise InsufficientDataError(
            f"look-alikes need at least {MIN_MEMBERS} members and {MIN_MEMBERS} customers "
            f"outside the segment; it has {member_count} and {others}",
            counts={"members": member_count, "others": others},
            needed={"members": MIN_MEMBERS, "others": MIN_MEMBERS},
        )
    values = matrix.values
    labels = members.astype("int64")
    scores = np.zeros(len(labels))
    reasons: list[list[int]] = [[] for _ in range(len(labels))]
    splitter = StratifiedKFold(n_splits=min(folds, member_count), shuffle=True, random_state=seed)
    for train, test in splitter.split(values, labels):
        model = LogisticRegression(
            C=regularisation, class_weight="balanced", max_iter=2000, random_state=seed
        )
        with warnings.catch_warnings():
            # A segment defined by the features themselves separates perfectly; the
            # regularisation keeps the coefficients finite, so the solver's note is noise.
            warnings.simplefilter("ignore", category=UserWarning)
            model.fit(values[train], labels[train])
        scores[test] = model.predict_proba(values[test])[:, 1]
        contributions = values[test] * model.coef_[0]
        strongest = np.argsort(-contributions, axis=1, kind="stable")[:, :_REASONS]
        for position, (row, order) in enumerate(zip(test, strongest, strict=True)):
            reasons[row] = [int(c) for c in order if contributions[position, c] > 0]
    return LookalikeScores(scores, reasons)
