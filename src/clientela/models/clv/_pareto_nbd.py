"""Pareto/NBD: purchases at a Poisson rate until an exponential lifetime ends.

Schmittlein, Morrison and Colombo (1987); the likelihood as written by Fader and Hardie, "A Note
on Deriving the Pareto/NBD Model and Related Expressions" (2005).  While alive, a customer buys at
rate ``lambda ~ Gamma(r, alpha)``; the lifetime is exponential with rate ``mu ~ Gamma(s, beta)``:

    L = G(r+x) alpha^r beta^s / G(r)
        * [ 1 / ((alpha+T)^(r+x) (beta+T)^s) + s/(r+s+x) * A0 ]

With ``alpha >= beta``:
``A0 = F(t_x) - F(T)``, ``F(t) = 2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+t)) /
(alpha+t)^(r+s+x)``; with ``alpha < beta`` the roles swap:
``F(t) = 2F1(r+s+x, r+x; r+s+x+1; (beta-alpha)/(beta+t)) / (beta+t)^(r+s+x)``.

Both hypergeometric functions diverge as their argument nears 1; Euler's transformation turns
them into ``2F1(1, .; r+s+x+1; z)``, a series of positive terms that converges at ``z = 1``,
and the difference ``F(t_x) - F(T)`` is taken in logarithms.  The gradient is numerical.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, gammaln

from clientela.models.clv._fitting import (
    Array,
    ArrayLike,
    check_fitted,
    collapsed_purchases,
    maximise,
    purchase_rate,
)
from clientela.models.clv._hypergeometric import hyp2f1

__all__ = ["ParetoNBDModel", "pareto_nbd_log_likelihood"]


def _log_f(params: Array, x: Array, t: Array) -> Array:
    """log F(t) of the module docstring, for either ordering of alpha and beta."""
    r, alpha, s, beta = params
    if alpha >= beta:
        z = (alpha - beta) / (alpha + t)
        series = hyp2f1(1.0, r + x, r + s + x + 1, z)
        return np.log(series) - s * np.log(beta + t) - (r + x) * np.log(alpha + t)  # type: ignore[no-any-return]
    z = (beta - alpha) / (beta + t)
    series = hyp2f1(1.0, s + 1, r + s + x + 1, z)
    return np.log(series) + (1 - r - x) * np.log(alpha + t) - (s + 1) * np.log(beta + t)  # type: ignore[no-any-return]


def _log_a0(params: Array, x: Array, t_x: Array, tenure: Array) -> Array:
    at_last = _log_f(params, x, t_x)
    at_end = _log_f(params, x, tenure)
    # log(e^u - e^v) for u >= v; -inf when t_x = T (nothing between the last purchase and T).
    with np.errstate(divide="ignore"):
        result: Array = at_last + np.log(-np.expm1(np.minimum(at_end - at_last, 0.0)))
    return result


def _parts(params: Array, x: Array, t_x: Array, tenure: Array) -> tuple[Array, Array, Array]:
    """The shared log factor, the 'alive at T' term and the 'died after t_x' term (logged)."""
    r, alpha, s, beta = params
    shared = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + tenure) - s * np.log(beta + tenure)
    died = np.log(s) - np.log(r + s + x) + _log_a0(params, x, t_x, tenure)
    return shared, alive, died


def pareto_nbd_log_likelihood(
    r: float, alpha: float, s: float, beta: float, x: ArrayLike, t_x: ArrayLike, tenure: ArrayLike
) -> Array:
    """The Pareto/NBD log-likelihood of each customer (module docstring)."""
    xs, txs, tenures = (np.asarray(v, dtype=np.float64) for v in (x, t_x, tenure))
    shared, alive, died = _parts(np.array([r, alpha, s, beta]), xs, txs, tenures)
    result: Array = shared + np.logaddexp(alive, died)
    return result


def _objective(log_params: Array, x: Array, t_x: Array, tenure: Array, w: Array) -> float:
    shared, alive, died = _parts(np.exp(log_params), x, t_x, tenure)
    ll = shared + np.logaddexp(alive, died)
    value = -float(np.dot(w, ll) / w.sum())
    return value if np.isfinite(value) else np.inf


class ParetoNBDModel:
    """The Pareto/NBD model, fitted by maximum likelihood (scikit-learn's estimator contract).

    ``fit(frequency, recency, T)`` as :class:`~clientela.models.clv.BGNBDModel`.  Learned:
    ``r_``, ``alpha_``, ``s_``, ``beta_``, ``loglik_`` and ``n_customers_``.
    """

    def __init__(self, initial: tuple[float, float, float, float] | None = None) -> None:
        self.initial = initial

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        tenure: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> ParetoNBDModel:
        x, t_x, tenure, counts = collapsed_purchases(frequency, recency, tenure, weights)
        rate = purchase_rate(x, tenure, counts)
        scale = float(np.dot(counts, tenure) / counts.sum())
        start = self.initial or (1.0, 1.0 / rate, 1.0, scale)
        params, self.n_customers_, self.loglik_ = maximise(
            "Pareto/NBD",
            lambda p: _objective(p, x, t_x, tenure, counts),
            start,
            counts,
            gradient=False,
        )
        self.r_, self.alpha_, self.s_, self.beta_ = (float(v) for v in params)
        return self

    @property
    def params_(self) -> dict[str, float]:
        check_fitted(self, "r_")
        return {"r": self.r_, "alpha": self.alpha_, "s": self.s_, "beta": self.beta_}

    def _params(self) -> Array:
        return np.array([self.r_, self.alpha_, self.s_, self.beta_])

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, tenure: ArrayLike) -> Array:
        """Each customer's log-likelihood under the fitted parameters."""
        check_fitted(self, "r_")
        return pareto_nbd_log_likelihood(
            self.r_, self.alpha_, self.s_, self.beta_, frequency, recency, tenure
        )

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, tenure: ArrayLike
    ) -> Array:
        """P(alive at T) = 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0)."""
        check_fitted(self, "r_")
        x, t_x, tenure = np.broadcast_arrays(
            *(np.asarray(v, dtype=np.float64) for v in (frequency, recency, tenure))
        )
        _, alive, died = _parts(self._params(), x, t_x, tenure)
        result: Array = expit(alive - died)
        return result

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, tenure: ArrayLike
    ) -> Array:
        """E[X(T, T+t) | x, t_x, T] = (r+x)(beta+T)/((alpha+T)(s-1))
        [1 - ((beta+T)/(beta+T+t))^(s-1)] P(alive); its limit ``ln((beta+T+t)/(beta+T))`` for
        the bracket over ``s-1`` when ``s = 1``."""
        check_fitted(self, "r_")
        r, alpha, s, beta = self._params()
        horizon, x, t_x, tenure = np.broadcast_arrays(
            *(np.asarray(v, dtype=np.float64) for v in (t, frequency, recency, tenure))
        )
        log_ratio = np.log(beta + tenure + horizon) - np.log(beta + tenure)
        # [1 - q^(s-1)]/(s-1) with q = (beta+T)/(beta+T+t), written to stay exact near s = 1.
        shape = s - 1.0
        bracket = log_ratio if shape == 0 else -np.expm1(-shape * log_ratio) / shape
        expected = (r + x) * (beta + tenure) / (alpha + tenure) * bracket
        result: Array = expected * self.probability_alive(x, t_x, tenure)
        return result

    def expected_purchases_new(self, t: ArrayLike) -> Array:
        """E[X(t)] for a customer just acquired (``x = 0`` observed for ``T = 0``)."""
        zeros = np.zeros_like(np.asarray(t, dtype=np.float64))
        return self.expected_purchases(t, zeros, zeros, zeros)
