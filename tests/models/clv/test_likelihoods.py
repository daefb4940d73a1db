"""The closed-form likelihoods and predictions against independent computations.

* Each model's likelihood for a few customers equals the individual-level likelihood integrated
  numerically over the mixing distributions (scipy.integrate, no closed form shared).
* The analytic gradients equal finite differences.
* Expected purchases and P(alive) of customers without repeat purchases equal what a simulation
  of the purchase process gives (fixed seed).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.optimize import check_grad

from clientela.models.clv import (
    BGNBDModel,
    GammaGammaModel,
    ParetoNBDModel,
    _bgnbd,
    _gamma_gamma,
    bgnbd_log_likelihood,
    gamma_gamma_log_likelihood,
    pareto_nbd_log_likelihood,
)

# (x, t_x, T) in weeks: no repeat, a few, many, the last purchase at T.
CUSTOMERS = [(0, 0.0, 38.86), (2, 30.43, 38.86), (1, 1.71, 27.0), (9, 20.0, 33.0), (3, 12.5, 12.5)]
BGNBD = (0.243, 4.414, 0.793, 2.426)


def _gamma_weight(shape: float, rate: float) -> tuple[float, float]:
    """The gamma density's constant; with lambda = u^(1/shape) its mass is const/shape du."""
    return shape * math.log(rate) - math.lgamma(shape), shape


def _bgnbd_integrated(
    r: float, alpha: float, a: float, b: float, x: int, t_x: float, T: float
) -> float:
    # lambda = u^(1/r) and p = v^(1/a) remove the densities' singularities at 0.
    def inner(u: float, v: float) -> float:
        lam, p = u ** (1 / r), v ** (1 / a)
        alive = (1 - p) ** x * lam**x * math.exp(-lam * T)
        died = p * (1 - p) ** (x - 1) * lam**x * math.exp(-lam * t_x) if x > 0 else 0.0
        lam_density = math.exp(r * math.log(alpha) - math.lgamma(r) - alpha * lam) / r
        p_density = (
            (1 - p) ** (b - 1) / math.exp(math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)) / a
        )
        return (alive + died) * lam_density * p_density

    value, _ = integrate.dblquad(inner, 0, 1, 0, np.inf, epsabs=1e-13, epsrel=1e-10)
    return math.log(value)


def _pareto_integrated(
    r: float, alpha: float, s: float, beta: float, x: int, t_x: float, T: float
) -> float:
    def inner(u: float, v: float) -> float:
        lam, mu = u ** (1 / r), v ** (1 / s)
        likelihood = lam**x * mu / (lam + mu) * math.exp(-(lam + mu) * t_x)
        likelihood += lam ** (x + 1) / (lam + mu) * math.exp(-(lam + mu) * T)
        lam_density = math.exp(r * math.log(alpha) - math.lgamma(r) - alpha * lam) / r
        mu_density = math.exp(s * math.log(beta) - math.lgamma(s) - beta * mu) / s
        return likelihood * lam_density * mu_density

    value, _ = integrate.dblquad(inner, 0, np.inf, 0, np.inf, epsabs=1e-13, epsrel=1e-10)
    return math.log(value)


def _gamma_gamma_integrated(p: float, q: float, gamma: float, x: int, m: float) -> float:
    # The mean of x Gamma(p, nu) values is Gamma(px, nu x); nu ~ Gamma(q, gamma).
    def density(nu: float) -> float:
        mean = math.exp(
            p * x * math.log(nu * x) + (p * x - 1) * math.log(m) - nu * x * m - math.lgamma(p * x)
        )
        return mean * math.exp(
            q * math.log(gamma) + (q - 1) * math.log(nu) - gamma * nu - math.lgamma(q)
        )

    value, _ = integrate.quad(density, 0, np.inf, epsabs=1e-15, epsrel=1e-11, limit=200)
    return math.log(value)


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_bgnbd_likelihood_is_the_mixture_of_the_individual_one(
    customer: tuple[int, float, float],
) -> None:
    x, t_x, T = customer
    closed = bgnbd_log_likelihood(*BGNBD, [x], [t_x], [T])[0]
    assert closed == pytest.approx(_bgnbd_integrated(*BGNBD, x, t_x, T), abs=1e-6)


@pytest.mark.parametrize(
    "params",
    [(0.553, 10.578, 0.606, 11.669), (0.553, 11.669, 0.606, 10.578)],
    ids=["alpha<beta", "alpha>beta"],
)
@pytest.mark.parametrize("customer", CUSTOMERS)
def test_pareto_nbd_likelihood_is_the_mixture_of_the_individual_one(
    params: tuple[float, float, float, float], customer: tuple[int, float, float]
) -> None:
    x, t_x, T = customer
    closed = pareto_nbd_log_likelihood(*params, [x], [t_x], [T])[0]
    assert closed == pytest.approx(_pareto_integrated(*params, x, t_x, T), abs=1e-6)


@pytest.mark.parametrize("customer", [(1, 11.77), (2, 22.345), (7, 48.0), (20, 5.5)])
def test_gamma_gamma_density_is_the_mixture_of_the_individual_one(
    customer: tuple[int, float],
) -> None:
    x, m = customer
    closed = gamma_gamma_log_likelihood(6.25, 3.74, 15.44, [x], [m])[0]
    assert closed == pytest.approx(_gamma_gamma_integrated(6.25, 3.74, 15.44, x, m), abs=1e-7)


def test_analytic_gradients_equal_finite_differences() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 12, 300).astype(float)
    T = rng.uniform(5, 40, 300)
    t_x = np.where(x > 0, T * rng.uniform(0, 1, 300), 0.0)
    w = rng.integers(1, 4, 300).astype(float)
    start = np.log([0.3, 5.0, 0.9, 2.0])
    error = check_grad(
        lambda p: _bgnbd._objective(p, x, t_x, T, w)[0],
        lambda p: _bgnbd._objective(p, x, t_x, T, w)[1],
        start,
    )
    assert error < 1e-5
    repeat = x > 0
    m = rng.gamma(6.0, 6.0, 300)[repeat]
    error = check_grad(
        lambda p: _gamma_gamma._objective(p, x[repeat], m, w[repeat])[0],
        lambda p: _gamma_gamma._objective(p, x[repeat], m, w[repeat])[1],
        np.log([5.0, 3.0, 12.0]),
    )
    assert error < 1e-5


def test_weights_equal_repeated_rows() -> None:
    x, t_x, T = (
        np.array([0.0, 2, 1, 5]),
        np.array([0, 30.43, 1.71, 20]),
        np.array([38.86, 38.86, 27, 33]),
    )
    counts = np.array([5, 2, 3, 1])
    weighted = BGNBDModel().fit(x, t_x, T, weights=counts)
    repeated = BGNBDModel().fit(np.repeat(x, counts), np.repeat(t_x, counts), np.repeat(T, counts))
    assert weighted.params_ == pytest.approx(repeated.params_, rel=1e-5)
    assert weighted.loglik_ == pytest.approx(repeated.loglik_)
    assert weighted.n_customers_ == 11


def _simulate_bgnbd(
    n: int, T: float, t: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeat purchases in (0, T] and in (T, T + t], and whether alive at T, of n customers."""
    r, alpha, a, b = BGNBD
    rng = np.random.default_rng(seed)
    rate = rng.gamma(r, 1 / alpha, n)
    drop = rng.beta(a, b, n)
    clock = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    before, after = np.zeros(n), np.zeros(n)
    active = np.arange(n)
    dead_at = np.full(n, np.inf)
    while active.size:
        clock[active] += rng.exponential(1 / rate[active])
        active = active[clock[active] <= T + t]
        buying = active
        before[buying] += clock[buying] <= T
        after[buying] += clock[buying] > T
        dies = rng.random(buying.size) < drop[buying]
        dead_at[buying[dies]] = clock[buying[dies]]
        active = buying[~dies]
    alive = dead_at > T
    return before, after, alive


def _simulate_pareto(
    n: int, params: tuple[float, float, float, float], T: float, t: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r, alpha, s, beta = params
    rng = np.random.default_rng(seed)
    rate = rng.gamma(r, 1 / alpha, n)
    lifetime = rng.exponential(1 / rng.gamma(s, 1 / beta, n))
    clock = np.zeros(n)
    before, after = np.zeros(n), np.zeros(n)
    active = np.arange(n)
    while active.size:
        clock[active] += rng.exponential(1 / rate[active])
        active = active[(clock[active] <= np.minimum(lifetime[active], T + t))]
        before[active] += clock[active] <= T
        after[active] += clock[active] > T
    return before, after, lifetime > T


def test_bgnbd_predictions_match_a_simulation() -> None:
    T, t = 10.0, 39.0
    before, after, alive = _simulate_bgnbd(400_000, T, t, seed=11)
    model = BGNBDModel()
    model.r_, model.alpha_, model.a_, model.b_ = BGNBD
    unseen = before == 0
    expected = float(model.expected_purchases(t, 0, 0, T))
    error = after[unseen].std() / math.sqrt(unseen.sum())
    assert after[unseen].mean() == pytest.approx(expected, abs=4 * error)
    assert alive[unseen].all() and float(model.probability_alive(0, 0, T)) == 1.0
    # New customers (T = 0): the unconditional expectation, FHL's E[X(t)].
    assert (before + after).mean() == pytest.approx(model.expected_purchases_new(T + t), rel=0.02)


@pytest.mark.parametrize("params", [(0.553, 10.578, 0.606, 11.669), (0.8, 12.0, 1.3, 6.0)])
def test_pareto_nbd_predictions_match_a_simulation(
    params: tuple[float, float, float, float],
) -> None:
    T, t = 10.0, 39.0
    before, after, alive = _simulate_pareto(400_000, params, T, t, seed=5)
    model = ParetoNBDModel()
    model.r_, model.alpha_, model.s_, model.beta_ = params
    unseen = before == 0
    expected = float(model.expected_purchases(t, 0, 0, T))
    error = after[unseen].std() / math.sqrt(unseen.sum())
    assert after[unseen].mean() == pytest.approx(expected, abs=4 * error)
    p_alive = float(model.probability_alive(0, 0, T))
    share_error = math.sqrt(p_alive * (1 - p_alive) / unseen.sum())
    assert alive[unseen].mean() == pytest.approx(p_alive, abs=4 * share_error)


def test_fits_recover_simulated_parameters() -> None:
    rng = np.random.default_rng(2)
    n = 20_000
    T = rng.uniform(30, 40, n).round(2)
    r, alpha, a, b = BGNBD
    rate, drop = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    x, t_x = np.zeros(n), np.zeros(n)
    clock = np.zeros(n)
    active = np.arange(n)
    while active.size:
        clock[active] += rng.exponential(1 / rate[active])
        active = active[clock[active] <= T[active]]
        x[active] += 1
        t_x[active] = clock[active]
        active = active[rng.random(active.size) >= drop[active]]
    model = BGNBDModel().fit(x, t_x, T)
    assert model.r_ == pytest.approx(r, rel=0.1)
    assert model.alpha_ == pytest.approx(alpha, rel=0.15)
    spend = GammaGammaModel().fit(
        x,
        np.where(
            x > 0,
            rng.gamma(
                6.25 * np.maximum(x, 1), 1 / (np.maximum(x, 1) * rng.gamma(3.74, 1 / 15.44, n))
            ),
            0.0,
        ),
    )
    assert spend.p_ == pytest.approx(6.25, rel=0.15)
