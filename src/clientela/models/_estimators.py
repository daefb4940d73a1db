"""The predictive model: a scikit-learn classifier over a frame of mixed features.

:class:`PropensityModel` follows scikit-learn's contract (``__init__`` stores parameters, ``fit``
returns ``self``, learned attributes end in ``_``, ``predict_proba`` checks it was fitted, no
training data is kept).  It chains the :class:`~clientela.models._frame.FrameEncoder`, a
classifier and a calibration of its scores:

* ``algorithm="gbm"``: LightGBM gradient boosting, with the categoricals as native categorical
  splits; reasons are its SHAP values (``pred_contrib``);
* ``algorithm="logistic"``: an L2-regularised logistic regression on standardised numbers and
  one-hot categoricals, the explainable baseline; reasons are ``coefficient x value``.

Calibration (``"sigmoid"``, Platt's, or ``"isotonic"``) is fitted on out-of-fold scores of the
training data (``calibration_folds`` stratified folds); the classifier itself is then fitted on
all of it, as scikit-learn's ``CalibratedClassifierCV(ensemble=False)`` does.  Sigmoid
calibration keeps the order of the scores, so the ROC AUC is the classifier's own.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from clientela.errors import ConfigError, DataError, NotFittedError
from clientela.models._checks import binary_target, check_sufficiency
from clientela.models._frame import FrameEncoder, as_frame
from clientela.models._treeshap import grouped_contributions

__all__ = ["ALGORITHMS", "PropensityModel"]

log = logging.getLogger(__name__)

Algorithm = Literal["gbm", "logistic"]
Calibration = Literal["sigmoid", "isotonic", "none"]
ALGORITHMS: tuple[str, ...] = ("gbm", "logistic")
CALIBRATIONS: tuple[str, ...] = ("sigmoid", "isotonic", "none")
# From this many rows, SHAP values are computed once per distinct path of each tree
# (:mod:`~clientela.models._treeshap`); below, LightGBM's pred_contrib row by row is as quick.
_GROUPED_ROWS = 500


class PropensityModel(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A calibrated binary classifier over a DataFrame of features; see the module docstring.

    ``min_examples`` and ``min_positives`` are the data-sufficiency guard: ``fit`` raises
    :class:`~clientela.errors.InsufficientDataError` below them (``min_positives`` applies to
    the negatives too).
    """

    def __init__(
        self,
        algorithm: Algorithm = "gbm",
        *,
        calibration: Calibration = "sigmoid",
        calibration_folds: int = 3,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 20,
        regularization: float = 1.0,
        max_levels: int = 30,
        min_level_count: int = 20,
        min_examples: int = 100,
        min_positives: int = 20,
        n_jobs: int = 1,
        random_state: int = 0,
    ):
        self.algorithm = algorithm
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.regularization = regularization
        self.max_levels = max_levels
        self.min_level_count = min_level_count
        self.min_examples = min_examples
        self.min_positives = min_positives
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, X: object, y: object) -> PropensityModel:
        if self.algorithm not in ALGORITHMS:
            raise ConfigError(
                f"unknown algorithm '{self.algorithm}'; expected one of {', '.join(ALGORITHMS)}"
            )
        if self.calibration not in CALIBRATIONS:
            raise ConfigError(
                f"unknown calibration '{self.calibration}'; expected one of "
                f"{', '.join(CALIBRATIONS)}"
            )
        frame = as_frame(X)
        target = binary_target(y)
        if len(frame) != len(target):
            raise DataError(f"{len(frame):,} rows of features but {len(target):,} labels")
        check_sufficiency(target, min_examples=self.min_examples, min_positives=self.min_positives)
        encoder = FrameEncoder(self.max_levels, self.min_level_count).fit(frame)
        if not encoder.plans_:
            raise DataError(
                f"no usable feature among the {frame.shape[1]} given: "
                + "; ".join(f"{k}: {v}" for k, v in encoder.dropped_.items())
            )
        matrix = self._matrix(encoder, frame)
        calibrator: Any = None
        if self.calibration != "none":
            raw = np.empty(len(target))
            folds = StratifiedKFold(
                n_splits=self.calibration_folds, shuffle=True, random_state=self.random_state
            )
            for train, test in folds.split(matrix, target):
                fold_model = self._classifier(encoder).fit(
                    matrix[train], target[train], **self._fit_params(encoder)
                )
                raw[test] = self._raw(fold_model, matrix[test])
            calibrator = self._calibrator(raw, target)
        estimator = self._classifier(encoder).fit(matrix, target, **self._fit_params(encoder))
        self.encoder_ = encoder
        self.estimator_ = estimator
        self.calibrator_ = calibrator
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.array([str(c) for c in frame.columns], dtype=object)
        self.n_features_in_ = frame.shape[1]
        self.dropped_features_ = dict(encoder.dropped_)
        self.n_examples_ = len(target)
        self.n_positives_ = int(target.sum())
        return self

    def _matrix(self, encoder: FrameEncoder, frame: pd.DataFrame) -> np.ndarray:
        if self.algorithm == "gbm":
            return encoder.tree_matrix(frame)
        return encoder.linear_matrix(frame)

    def _classifier(self, encoder: FrameEncoder) -> Any:
        if self.algorithm == "gbm":
            from lightgbm import LGBMClassifier

            return LGBMClassifier(
                n_estimators=self.n_estimators,
                learning_rate=self.learning_rate,
                num_leaves=self.num_leaves,
                min_child_samples=self.min_child_samples,
                subsample=0.8,
                subsample_freq=1,
                colsample_bytree=0.8,
                reg_lambda=1.0,
                n_jobs=self.n_jobs,
                random_state=self.random_state,
                deterministic=True,
                force_row_wise=True,
                verbose=-1,
            )
        return LogisticRegression(C=self.regularization, max_iter=5000)

    def _fit_params(self, encoder: FrameEncoder) -> dict[str, Any]:
        if self.algorithm == "gbm":
            return {"categorical_feature": encoder.categorical_indices or "auto"}
        return {}

    def _raw(self, estimator: Any, matrix: np.ndarray) -> np.ndarray:
        """The uncalibrated score in log-odds."""
        if self.algorithm == "gbm":
            return np.asarray(estimator.predict(matrix, raw_score=True), dtype="float64")
        return np.asarray(estimator.decision_function(matrix), dtype="float64")

    def _calibrator(self, raw: np.ndarray, target: np.ndarray) -> Any:
        if self.calibration == "isotonic":
            return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, target)
        return LogisticRegression(C=1e6, max_iter=1000).fit(raw[:, None], target)

    # -- predicting --------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "estimator_"):
            raise NotFittedError(
                "this model is not trained yet: call fit (or 'clientela model train') first"
            )

    def decision_function(self, X: object) -> np.ndarray:
        """The classifier's uncalibrated score (log-odds)."""
        self._check_fitted()
        return self._raw(self.estimator_, self._matrix(self.encoder_, as_frame(X)))

    def predict_proba(self, X: object) -> np.ndarray:
        return self.proba_from_score(self.decision_function(X))

    def proba_from_score(self, raw: np.ndarray) -> np.ndarray:
        """The calibrated probabilities (of 0 and of 1) of uncalibrated scores in log-odds:
        ``predict_proba`` of rows whose ``decision_function`` is ``raw``.  Scoring a
        population sums each row's contributions instead of reading the trees a second time."""
        self._check_fitted()
        raw = np.asarray(raw, dtype="float64")
        if self.calibrator_ is None:
            positive = 1.0 / (1.0 + np.exp(-raw))
        elif isinstance(self.calibrator_, IsotonicRegression):
            positive = np.asarray(self.calibrator_.predict(raw), dtype="float64")
        else:
            positive = self.calibrator_.predict_proba(raw[:, None])[:, 1]
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: object) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype("int64")

    # -- explaining --------------------------------------------------------------------------
    def contributions(self, X: object) -> pd.DataFrame:
        """Each feature's contribution to each row's score, in log-odds, plus ``(baseline)``.

        A row's contributions add up to its uncalibrated score: SHAP values for ``gbm``,
        ``coefficient x standardised value`` (summed over a categorical's levels) for
        ``logistic``.
        """
        self._check_fitted()
        frame = as_frame(X)
        names = list(self.encoder_.feature_names)
        if self.algorithm == "gbm":
            if len(frame) < _GROUPED_ROWS:
                matrix = self.encoder_.tree_matrix(frame)
                raw = np.asarray(self.estimator_.predict(matrix, pred_contrib=True))
            else:
                raw = grouped_contributions(
                    self.estimator_.booster_,
                    self.encoder_.tree_columns(frame),
                    threads=self.n_jobs,
                )
            result = pd.DataFrame(raw[:, :-1], columns=names, index=frame.index)
            result["(baseline)"] = raw[:, -1]
            return result
        matrix = self.encoder_.linear_matrix(frame)
        terms = matrix * self.estimator_.coef_[0]
        per_column = pd.DataFrame(terms, columns=list(self.encoder_.linear_names_))
        grouped = per_column.T.groupby(list(self.encoder_.linear_groups_), sort=False).sum().T
        result = grouped.reindex(columns=names).fillna(0.0)
        result.index = frame.index
        result["(baseline)"] = float(self.estimator_.intercept_[0])
        return result

    @property
    def feature_importances_(self) -> dict[str, float]:
        """Each kept feature's share of the model's importance (they add up to 1).

        ``gbm``: the total gain of the splits on it; ``logistic``: the sum of its standardised
        coefficients' absolute values.
        """
        self._check_fitted()
        names = list(self.encoder_.feature_names)
        if self.algorithm == "gbm":
            gains = self.estimator_.booster_.feature_importance(importance_type="gain")
            weights = pd.Series(np.asarray(gains, dtype="float64"), index=names)
        else:
            coefs = pd.Series(np.abs(self.estimator_.coef_[0]), index=self.encoder_.linear_groups_)
            weights = coefs.groupby(level=0, sort=False).sum().reindex(names).fillna(0.0)
        total = float(weights.sum())
        shares = weights / total if total > 0 else weights
        ordered = shares.sort_values(ascending=False, kind="mergesort")
        return {str(k): float(v) for k, v in ordered.items()}
