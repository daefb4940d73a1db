"""Drift between the training sample and a later population: the population stability index.

At training, :func:`fit_baseline` bins the training score (at its deciles) and each feature
(numbers at their deciles, categoricals by their 20 most frequent levels plus "other"; missing
values are a bin of their own) and keeps each bin's share.  Later, :func:`drift` puts the
population of the day into the same bins and compares the shares:

    PSI = sum over the bins of (actual - expected) x ln(actual / expected)

with empty bins counted as a share of 0.0001 so that the logarithm is defined.  The usual reading:
below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a significant one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from clientela.models._frame import coerce_numbers

__all__ = [
    "PSI_MODERATE",
    "PSI_SIGNIFICANT",
    "Baseline",
    "Bins",
    "drift",
    "fit_baseline",
    "fit_bins",
    "psi",
    "stability",
]

PSI_MODERATE = 0.1
PSI_SIGNIFICANT = 0.25
_FLOOR = 1e-4
_LEVELS = 20


@dataclass(frozen=True)
class Bins:
    """How a column was binned at training, and each bin's share of the training sample.

    ``numeric``: ``edges`` are the inner edges (a value ``v`` falls in bin ``i``, the number of
    edges ``<= v``), then one bin for the missing values.  ``categorical``: one bin per level in
    ``levels``, one for the others, one for the missing values.
    """

    kind: Literal["numeric", "categorical"]
    shares: tuple[float, ...]
    edges: tuple[float, ...] = ()
    levels: tuple[str, ...] = ()

    def counts(self, values: pd.Series) -> np.ndarray:
        """How many of ``values`` fall in each bin."""
        if self.kind == "numeric":
            numbers = coerce_numbers(values)
            if numbers is None:  # text that no longer reads as numbers: those are missing
                numbers = pd.to_numeric(values.astype("object"), errors="coerce")
            array = numbers.to_numpy(dtype="float64", na_value=np.nan)
            missing = np.isnan(array)
            index = np.searchsorted(np.asarray(self.edges), array[~missing], side="right")
            inside = np.bincount(index, minlength=len(self.edges) + 1)
            return np.append(inside, missing.sum()).astype("float64")
        text = values.astype("object")
        missing = text.isna().to_numpy()
        present = text[~missing].astype(str)
        codes = pd.Index(list(self.levels), dtype="object").get_indexer(
            pd.Index(present, dtype="object")
        )
        known = np.bincount(codes[codes >= 0], minlength=len(self.levels))
        return np.append(known, [(codes < 0).sum(), missing.sum()]).astype("float64")


def fit_bins(values: pd.Series, *, bins: int = 10) -> Bins:
    """The bins of a column of the training sample (see :class:`Bins`)."""
    numbers = coerce_numbers(values)
    if numbers is not None:
        present = numbers.dropna().to_numpy(dtype="float64")
        quantiles = np.arange(1, bins) / bins
        edges = np.unique(np.quantile(present, quantiles)) if len(present) else np.empty(0)
        plan = Bins("numeric", (), edges=tuple(float(e) for e in edges))
    else:
        counted = values.dropna().astype(str).value_counts(sort=True)
        ordered = counted.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
        plan = Bins("categorical", (), levels=tuple(str(v) for v in ordered.index[:_LEVELS]))
    counts = plan.counts(values)
    total = counts.sum()
    shares = counts / total if total else counts
    return Bins(plan.kind, tuple(float(s) for s in shares), plan.edges, plan.levels)


def psi(expected: object, actual: object) -> float:
    """The population stability index of two share vectors (see the module docstring)."""
    e = np.maximum(np.asarray(expected, dtype="float64"), _FLOOR)
    a = np.maximum(np.asarray(actual, dtype="float64"), _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def stability(value: float) -> str:
    """ "stable", "moderate" or "significant" (the thresholds of the module docstring)."""
    if value > PSI_SIGNIFICANT:
        return "significant"
    return "moderate" if value >= PSI_MODERATE else "stable"


@dataclass(frozen=True)
class Baseline:
    """The training sample's bins: of the score and of each feature."""

    score: Bins
    features: Mapping[str, Bins] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        def plain(bins: Bins) -> dict[str, Any]:
            return {
                "kind": bins.kind,
                "shares": list(bins.shares),
                "edges": list(bins.edges),
                "levels": list(bins.levels),
            }

        return {
            "score": plain(self.score),
            "features": {name: plain(b) for name, b in self.features.items()},
        }

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Baseline:
        def bins(part: Mapping[str, Any]) -> Bins:
            return Bins(
                part["kind"],
                tuple(part["shares"]),
                tuple(part.get("edges", ())),
                tuple(part.get("levels", ())),
            )

        return cls(
            bins(document["score"]),
            {name: bins(part) for name, part in document["features"].items()},
        )


def fit_baseline(features: pd.DataFrame, probability: object) -> Baseline:
    """The bins of the training score and of every feature column."""
    score = pd.Series(np.asarray(probability, dtype="float64"))
    return Baseline(
        fit_bins(score),
        {str(name): fit_bins(features[name]) for name in features.columns},
    )


def _shares(bins: Bins, values: pd.Series) -> np.ndarray:
    counts = bins.counts(values)
    total = counts.sum()
    return counts / total if total else counts


def drift(
    baseline: Baseline, features: pd.DataFrame, probability: object
) -> tuple[float, dict[str, float]]:
    """The PSI of the score, and of each feature the baseline binned, against ``baseline``."""
    score = psi(baseline.score.shares, _shares(baseline.score, pd.Series(np.asarray(probability))))
    per_feature = {
        name: psi(bins.shares, _shares(bins, features[name]))
        for name, bins in baseline.features.items()
        if name in features.columns
    }
    return score, per_feature
