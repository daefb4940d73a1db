"""The Gaussian hypergeometric function 2F1, with a fallback where SciPy's gives up.

``scipy.special.hyp2f1`` returns inf or nan for some arguments whose ``c - a - b`` is a whole
number and ``z`` is near 1 (``2F1(1, 1; 101; 0.96)``, for one), although the series converges.
Those entries are summed term by term instead; the models only call it with ``0 <= z < 1``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import hyp2f1 as _scipy_hyp2f1

from clientela.models.clv._fitting import Array, ArrayLike

__all__ = ["hyp2f1"]

_MAX_TERMS = 2_000_000


def hyp2f1(a: ArrayLike, b: ArrayLike, c: ArrayLike, z: ArrayLike) -> Array:
    """2F1(a, b; c; z) for ``0 <= z < 1``, broadcast over its arguments."""
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c, z)))
    result: Array = np.array(_scipy_hyp2f1(a, b, c, z), dtype=np.float64)
    failed = ~np.isfinite(result)
    if failed.any():
        result[failed] = _series(a[failed], b[failed], c[failed], z[failed])
    return result


def _series(a: Array, b: Array, c: Array, z: Array) -> Array:
    """The power series sum_k (a)_k (b)_k / ((c)_k k!) z^k, summed until the terms vanish."""
    total = np.ones_like(z)
    term = np.ones_like(z)
    active = np.arange(len(z))
    for k in range(_MAX_TERMS):
        term[active] *= (a[active] + k) * (b[active] + k) / ((c[active] + k) * (k + 1)) * z[active]
        total[active] += term[active]
        active = active[np.abs(term[active]) > 1e-17 * np.abs(total[active])]
        if not active.size:
            break
    return total
