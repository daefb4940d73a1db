"""Gamma-Gamma: how much a customer spends per purchase.

Fader, Hardie and Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis",
and Fader and Hardie, "The Gamma-Gamma Model of Monetary Value" (2013).  A purchase's value is
``Gamma(p, nu)``; ``nu ~ Gamma(q, gamma)`` across customers; spend is independent of the
purchase process.  The mean ``m`` of a customer's ``x`` repeat purchases has the density

    f(m | p, q, gamma, x) = G(px+q) / (G(px) G(q)) * gamma^q m^(px-1) x^(px) / (gamma + m x)^(px+q)

Only customers with a repeat purchase (``x > 0``) and a positive mean spend carry information;
the others are left out of the fit.  The expected spend of a customer is

    E[M | x, m] = (q-1)/(px+q-1) * p gamma/(q-1) + px/(px+q-1) * m

a weighted mean of the population's ``p gamma / (q-1)`` (which needs ``q > 1``) and their own.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from clientela.errors import DataError
from clientela.models.clv._fitting import (
    Array,
    ArrayLike,
    Levels,
    check_fitted,
    check_spend,
    collapse,
    maximise,
)

__all__ = ["GammaGammaModel", "gamma_gamma_log_likelihood"]


def gamma_gamma_log_likelihood(
    p: float, q: float, gamma: float, x: ArrayLike, monetary: ArrayLike
) -> Array:
    """The log-density of each customer's mean spend (module docstring); ``x > 0``, ``m > 0``."""
    xs, m = (np.asarray(v, dtype=np.float64) for v in (x, monetary))
    px = p * xs
    result: Array = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(xs)
        - (px + q) * np.log(gamma + m * xs)
    )
    return result


def _objective(
    log_params: Array,
    x: Array,
    m: Array,
    w: Array,
    levels: Levels | None = None,
) -> tuple[float, Array]:
    """The mean negative log-likelihood and its gradient over the log-parameters; the special
    functions are computed once per distinct ``x`` (``levels``, as for BG/NBD)."""
    p, q, gamma = np.exp(log_params)
    distinct, index = levels if levels is not None else np.unique(x, return_inverse=True)
    w_by_x = np.bincount(index, weights=w, minlength=len(distinct))
    total = w.sum()
    p_distinct = p * distinct
    spread = np.log(gamma + m * x)
    w_spread = w * spread
    log_mx = np.log(m) + np.log(x)
    loglik = np.dot(w_by_x, gammaln(p_distinct + q) - gammaln(p_distinct))
    loglik += total * (q * np.log(gamma) - gammaln(q))
    loglik += p * np.dot(w * x, log_mx) - np.dot(w, np.log(m))
    loglik -= p * np.dot(w_spread, x) + q * w_spread.sum()
    shared = digamma(p_distinct + q)
    grad_p = np.dot(w_by_x * distinct, shared - digamma(p_distinct))
    grad_p += np.dot(w * x, log_mx - spread)
    grad_q = np.dot(w_by_x, shared) + total * (np.log(gamma) - digamma(q)) - w_spread.sum()
    grad_gamma = total * q / gamma - np.dot(w, (p * x + q) / (gamma + m * x))
    gradient = np.array([grad_p * p, grad_q * q, grad_gamma * gamma])
    return float(-loglik / total), -gradient / total


class GammaGammaModel:
    """The Gamma-Gamma spend model, fitted by maximum likelihood.

    ``fit(frequency, monetary)`` takes every customer's repeat purchases ``x`` and the mean value
    of those purchases; customers with ``x = 0`` or a mean spend of 0 or less are left out (and
    counted in ``n_excluded_``).  Learned: ``p_``, ``q_``, ``gamma_``, ``loglik_``,
    ``n_customers_`` (those fitted on) and ``n_excluded_``.
    """

    def __init__(self, initial: tuple[float, float, float] | None = None) -> None:
        self.initial = initial

    def fit(
        self, frequency: ArrayLike, monetary: ArrayLike, weights: ArrayLike | None = None
    ) -> GammaGammaModel:
        x, m = check_spend(frequency, monetary)
        w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
        usable = (x > 0) & (m > 0)
        if not usable.any():
            raise DataError(
                "the Gamma-Gamma model needs customers with a repeat purchase of positive "
                "spend, and there are none",
                rule="x > 0 and spend > 0",
            )
        (x, m), counts = collapse(x[usable], m[usable], weights=w[usable])
        start = self.initial or (1.0, 2.0, float(np.dot(counts, m) / counts.sum()))
        levels = np.unique(x, return_inverse=True)
        params, self.n_customers_, self.loglik_ = maximise(
            "Gamma-Gamma",
            lambda p: _objective(p, x, m, counts, levels),
            start,
            counts,
            gradient=True,
        )
        self.p_, self.q_, self.gamma_ = (float(v) for v in params)
        self.n_excluded_ = round(float(w[~usable].sum()))
        return self

    @property
    def params_(self) -> dict[str, float]:
        check_fitted(self, "p_")
        return {"p": self.p_, "q": self.q_, "gamma": self.gamma_}

    def log_likelihood(self, frequency: ArrayLike, monetary: ArrayLike) -> Array:
        """Each customer's log-density of their mean spend (``x > 0`` and spend > 0 only)."""
        check_fitted(self, "p_")
        return gamma_gamma_log_likelihood(self.p_, self.q_, self.gamma_, frequency, monetary)

    @property
    def mean_spend_(self) -> float:
        """The population's mean spend per purchase, ``p gamma / (q - 1)`` (inf when q <= 1)."""
        check_fitted(self, "p_")
        if self.q_ <= 1:
            return float("inf")
        return self.p_ * self.gamma_ / (self.q_ - 1)

    def expected_spend(self, frequency: ArrayLike, monetary: ArrayLike) -> Array:
        """E[M | x, m]: each customer's expected spend per purchase (module docstring).

        A customer without repeat purchases gets the population's mean spend; a mean spend
        of 0 or less counts as 0.  DataError when ``q <= 1`` (the mean spend is infinite).
        """
        check_fitted(self, "p_")
        if self.q_ <= 1:
            raise DataError(
                f"the fitted Gamma-Gamma q is {self.q_:.3f}: the expected spend needs q > 1",
                rule="q > 1",
            )
        x, m = check_spend(frequency, monetary)
        p, q, gamma = self.p_, self.q_, self.gamma_
        observed = np.where(x > 0, np.maximum(m, 0.0), 0.0)
        result: Array = (p * gamma + p * x * observed) / (p * x + q - 1)
        return result
