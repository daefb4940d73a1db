"""Behavioural clusters: k-means on standardised RFM and behaviour features.

The number of clusters is the one with the best silhouette over a range (2 to 8 by default),
measured on a seeded sample of at most 3,000 customers for speed, unless it is given.  The final
k-means is fitted on every customer.  Clusters are numbered by size, 1 the largest, so that the
same data and seed give the same numbering.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clientela.errors import ConfigError, InsufficientDataError

__all__ = ["Clustering", "cluster_customers"]

_SAMPLE = 3_000
# Restarts of k-means: fewer while k is searched (on the sample), more for the final fit.
_SEARCH_INITS = 4
_INITS = 10


@dataclass(frozen=True)
class Clustering:
    """``labels``: the cluster of each row (1 = largest); ``silhouettes``: the silhouette of
    each k tried (empty when k was given)."""

    k: int
    labels: np.ndarray
    silhouettes: dict[int, float]


def cluster_customers(
    values: np.ndarray,
    *,
    k: int | None = None,
    candidates: Sequence[int] = range(2, 9),
    seed: int = 0,
    sample: int = _SAMPLE,
) -> Clustering:
    """Cluster the rows of a standardised matrix (k chosen by silhouette unless given)."""
    # scikit-learn takes seconds to import: only when clusters are computed.
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    rows = len(values)
    if k is not None and k < 2:
        raise ConfigError(f"the number of clusters must be at least 2, got {k}")
    needed = (k if k is not None else min(candidates)) + 1
    if rows < needed or values.shape[1] == 0:
        raise InsufficientDataError(
            f"clustering needs at least {needed} customers with behaviour to compare; the base "
            f"has {rows}" + ("" if values.shape[1] else " and no feature that varies"),
            counts={"customers": rows},
            needed={"customers": needed},
        )
    silhouettes: dict[int, float] = {}
    if k is None:
        random = np.random.default_rng(seed)
        picked = np.sort(random.choice(rows, size=min(sample, rows), replace=False))
        subset = values[picked]
        distinct = len(np.unique(subset, axis=0))
        for candidate in candidates:
            if candidate >= distinct:
                break
            fitted = KMeans(n_clusters=candidate, n_init=_SEARCH_INITS, random_state=seed).fit(
                subset
            )
            silhouettes[candidate] = float(silhouette_score(subset, fitted.labels_))
        if not silhouettes:
            raise InsufficientDataError(
                "clustering needs customers whose behaviour differs; every one looks the same",
                counts={"distinct customers": distinct},
                needed={"distinct customers": 3},
            )
        k = max(silhouettes, key=lambda c: (silhouettes[c], -c))
    fitted = KMeans(n_clusters=k, n_init=_INITS, random_state=seed).fit(values)
    raw = fitted.labels_
    sizes = np.bincount(raw, minlength=k)
    # By size, largest first; equal sizes by the first row each cluster holds.
    first_row = np.array([np.flatnonzero(raw == c)[0] if sizes[c] else rows for c in range(k)])
    order = sorted(range(k), key=lambda c: (-sizes[c], first_row[c]))
    number = np.empty(k, dtype="int64")
    number[order] = np.arange(1, k + 1)
    return Clustering(k, number[raw], silhouettes)
