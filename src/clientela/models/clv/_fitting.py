"""What the lifetime value models share: input checks, compressed rows, maximum likelihood.

Every model is fitted by minimising the mean negative log-likelihood over the logarithms of its
parameters (so that they stay positive) with L-BFGS-B.  Customers with the same summary
statistics contribute the same likelihood, so rows are first collapsed to the distinct ones with
a weight each: a million customers whose times are whole days collapse to a few hundred thousand
rows or fewer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

from clientela.errors import DataError, NotFittedError

__all__ = [
    "Array",
    "Levels",
    "check_fitted",
    "check_purchases",
    "check_spend",
    "collapse",
    "collapsed_purchases",
    "maximise",
    "purchase_rate",
]

log = logging.getLogger(__name__)

Array = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike
# The distinct values of a column and each row's index among them (numpy.unique's answer).
Levels = tuple[Array, npt.NDArray[Any]]

# Log-parameters stay within these bounds: exp(+-30) is beyond any sensible rate or shape.
_LOG_BOUND = 30.0
# The optimiser's answer counts as converged when the gradient of the mean negative
# log-likelihood, per log-parameter, is this small even if L-BFGS-B reports a line-search stop.
_GRADIENT_TOLERANCE = 1e-4


def _as_array(values: ArrayLike, name: str) -> Array:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise DataError(f"{name} must be one-dimensional, got shape {array.shape}", column=name)
    if not np.all(np.isfinite(array)):
        raise DataError(f"{name} holds missing or infinite values", column=name)
    return array


def check_purchases(
    frequency: ArrayLike, recency: ArrayLike, tenure: ArrayLike
) -> tuple[Array, Array, Array]:
    """Repeat purchases ``x``, the time of the last one ``t_x`` and the observed time ``T``.

    They must have one length, ``x`` whole and non-negative, ``0 <= t_x <= T``, ``t_x = 0``
    when ``x = 0``; DataError names the first broken rule.
    """
    x = _as_array(frequency, "frequency")
    t_x = _as_array(recency, "recency")
    tenure = _as_array(tenure, "T")
    if not len(x) == len(t_x) == len(tenure):
        raise DataError(
            "frequency, recency and T must have one length, got "
            f"{len(x)}, {len(t_x)} and {len(tenure)}"
        )
    if len(x) == 0:
        raise DataError("there are no customers to fit the model on")
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise DataError("frequency (repeat purchases) must be whole numbers >= 0", column="x")
    if np.any(t_x < 0):
        raise DataError("recency must be >= 0", column="t_x")
    if np.any(t_x > tenure):
        raise DataError("recency (t_x) cannot be later than T", column="t_x")
    if np.any((x == 0) & (t_x != 0)):
        raise DataError("recency must be 0 for a customer without repeat purchases", column="t_x")
    if np.all(tenure == 0):
        raise DataError("every customer has T = 0: there is no time to learn from", column="T")
    return x, t_x, tenure


def check_spend(frequency: ArrayLike, monetary: ArrayLike) -> tuple[Array, Array]:
    """Repeat purchases ``x`` and the mean spend of those purchases, of one length."""
    x = _as_array(frequency, "frequency")
    m = _as_array(monetary, "monetary")
    if len(x) != len(m):
        raise DataError(f"frequency and monetary must have one length, got {len(x)} and {len(m)}")
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise DataError("frequency (repeat purchases) must be whole numbers >= 0", column="x")
    return x, m


def check_fitted(model: Any, attribute: str) -> None:
    """NotFittedError unless ``model`` has the learned ``attribute`` (set by ``fit``)."""
    if getattr(model, attribute, None) is None:
        raise NotFittedError(
            f"this {type(model).__name__} is not fitted yet: call fit() before using it"
        )


def collapse(*columns: Array, weights: Array | None = None) -> tuple[list[Array], Array]:
    """The distinct rows of ``columns`` and how many times (or how much weight) each occurs."""
    n = len(columns[0])
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    order = np.lexsort(columns[::-1])
    sorted_columns = [c[order] for c in columns]
    changed = np.zeros(n, dtype=bool)
    changed[0] = True
    for column in sorted_columns:
        changed[1:] |= column[1:] != column[:-1]
    starts = np.flatnonzero(changed)
    totals = np.add.reduceat(w[order], starts)
    return [c[starts] for c in sorted_columns], totals


def collapsed_purchases(
    frequency: ArrayLike, recency: ArrayLike, tenure: ArrayLike, weights: ArrayLike | None
) -> tuple[Array, Array, Array, Array]:
    """The checked ``x``, ``t_x`` and ``T`` (see :func:`check_purchases`) collapsed to their
    distinct rows, and each row's count (times ``weights`` when given)."""
    x, t_x, t = check_purchases(frequency, recency, tenure)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    (x, t_x, t), counts = collapse(x, t_x, t, weights=w)
    return x, t_x, t, counts


def purchase_rate(x: Array, tenure: Array, counts: Array) -> float:
    """The data's mean purchases per unit of time (at least 1e-6): where a fit starts."""
    return max(float(np.dot(counts, x) / np.dot(counts, tenure)), 1e-6)


def maximise(
    name: str,
    negative_loglik: Callable[[Array], tuple[float, Array]] | Callable[[Array], float],
    start: Sequence[float],
    counts: Array,
    *,
    gradient: bool,
) -> tuple[Array, int, float]:
    """The parameters (not logged) that minimise ``negative_loglik`` over log-parameters.

    ``negative_loglik`` takes log-parameters and returns the mean negative log-likelihood (and its
    gradient when ``gradient``) over rows counted ``counts`` times.  Returns the parameters, the
    customers (the sum of ``counts``) and the total log-likelihood at the minimum.
    """
    result = minimize(
        negative_loglik,
        np.log(np.asarray(start, dtype=np.float64)),
        jac=gradient or None,
        method="L-BFGS-B",
        bounds=[(-_LOG_BOUND, _LOG_BOUND)] * len(start),
        options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9, "maxls": 50},
    )
    value = float(result.fun)
    if not result.success and gradient:
        steepest = float(np.max(np.abs(result.jac)))
        if not np.isfinite(value) or steepest > _GRADIENT_TOLERANCE:
            raise DataError(
                f"the {name} model did not converge ({result.message}); the data may not fit it",
                rule="convergence",
            )
    elif not result.success and not np.isfinite(value):
        raise DataError(
            f"the {name} model did not converge ({result.message}); the data may not fit it",
            rule="convergence",
        )
    log.info("%s fitted in %d iterations: %s", name, result.nit, result.message)
    customers = float(counts.sum())
    return np.exp(result.x), round(customers), -value * customers
