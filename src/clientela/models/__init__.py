"""Predictive models and lifetime value: scikit-learn style estimators.

Lifetime value models (BG/NBD, Pareto/NBD, Gamma-Gamma) live in :mod:`clientela.models.clv`.
The names below are imported when first used (PEP 562): scikit-learn and LightGBM take seconds
to import, and the label and feature definitions (which the CLI reads at start) need neither.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clientela.models._checks import LeakageWarning, check_sufficiency, leakage_check
    from clientela.models._estimators import ALGORITHMS, PropensityModel
    from clientela.models._evaluation import (
        CalibrationBin,
        Decile,
        Evaluation,
        cross_validate,
        evaluate_scores,
    )
    from clientela.models._features import FeatureSpec, FeatureTables, point_in_time_features
    from clientela.models._labels import KINDS, Target, labels
    from clientela.models._reasons import Reason, Reasons, explain

_HOME = {
    "ALGORITHMS": "_estimators",
    "KINDS": "_labels",
    "CalibrationBin": "_evaluation",
    "Decile": "_evaluation",
    "Evaluation": "_evaluation",
    "FeatureSpec": "_features",
    "FeatureTables": "_features",
    "LeakageWarning": "_checks",
    "PropensityModel": "_estimators",
    "Reason": "_reasons",
    "Reasons": "_reasons",
    "Target": "_labels",
    "check_sufficiency": "_checks",
    "cross_validate": "_evaluation",
    "evaluate_scores": "_evaluation",
    "explain": "_reasons",
    "labels": "_labels",
    "leakage_check": "_checks",
    "point_in_time_features": "_features",
}

__all__ = [
    "ALGORITHMS",
    "KINDS",
    "CalibrationBin",
    "Decile",
    "Evaluation",
    "FeatureSpec",
    "FeatureTables",
    "LeakageWarning",
    "PropensityModel",
    "Reason",
    "Reasons",
    "Target",
    "check_sufficiency",
    "cross_validate",
    "evaluate_scores",
    "explain",
    "labels",
    "leakage_check",
    "point_in_time_features",
]


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(importlib.import_module(f"clientela.models.{_HOME[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'clientela.models' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})
