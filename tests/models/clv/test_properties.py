"""Invariants of the predictions, for any parameters and customer (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from clientela.models.clv import (
    BGNBDModel,
    GammaGammaModel,
    ParetoNBDModel,
    discounted_purchases,
    lifetime_value,
)

positive = st.floats(min_value=0.05, max_value=20.0)
customers = st.tuples(
    st.integers(min_value=0, max_value=300),
    st.floats(min_value=0.0, max_value=1.0),
    st.floats(min_value=0.1, max_value=200.0),
)


def _bgnbd(r: float, alpha: float, a: float, b: float) -> BGNBDModel:
    model = BGNBDModel()
    model.r_, model.alpha_, model.a_, model.b_ = r, alpha, a, b
    return model


def _pareto(r: float, alpha: float, s: float, beta: float) -> ParetoNBDModel:
    model = ParetoNBDModel()
    model.r_, model.alpha_, model.s_, model.beta_ = r, alpha, s, beta
    return model


def _customer(raw: tuple[int, float, float]) -> tuple[float, float, float]:
    x, share, T = raw
    return float(x), (share * T if x > 0 else 0.0), T


@settings(max_examples=150, deadline=None)
@given(positive, positive, positive, positive, customers)
def test_purchase_predictions_are_probabilities_and_grow_with_the_horizon(
    p1: float, p2: float, p3: float, p4: float, raw: tuple[int, float, float]
) -> None:
    x, t_x, T = _customer(raw)
    if abs(p3 - 1.0) < 1e-3:  # BG/NBD's expectation has a removable singularity at a = 1
        p3 += 0.01
    for model in (_bgnbd(p1, p2, p3, p4), _pareto(p1, p2, p3, p4)):
        alive = float(model.probability_alive(x, t_x, T))
        assert 0.0 <= alive <= 1.0
        horizons = np.array([0.0, 1.0, 13.0, 52.0, 520.0])
        expected = model.expected_purchases(horizons, x, t_x, T)
        assert np.all(np.isfinite(expected))
        assert expected[0] == 0.0
        assert np.all(np.diff(expected) >= -1e-9 * (1 + expected[1:]))


@settings(max_examples=100, deadline=None)
@given(positive, positive, positive, positive, customers)
def test_bgnbd_alive_probability_falls_with_silence(
    r: float, alpha: float, a: float, b: float, raw: tuple[int, float, float]
) -> None:
    x, t_x, T = _customer(raw)
    model = _bgnbd(r, alpha, a, b)
    # The longer since the last purchase, the less likely the customer is still there.
    now, later = model.probability_alive([x, x], [t_x, t_x], [T, T + 10.0])
    assert later <= now + 1e-12


@settings(max_examples=100, deadline=None)
@given(
    st.floats(min_value=0.5, max_value=20),
    st.floats(min_value=1.05, max_value=20),
    st.floats(min_value=0.5, max_value=100),
    st.integers(min_value=0, max_value=100),
    st.floats(min_value=0.0, max_value=1000),
)
def test_expected_spend_lies_between_the_population_and_the_customer(
    p: float, q: float, gamma: float, x: int, mean: float
) -> None:
    model = GammaGammaModel()
    model.p_, model.q_, model.gamma_ = p, q, gamma
    spend = float(model.expected_spend([x], [mean])[0])
    population = model.mean_spend_
    own = mean if x > 0 else population
    assert min(own, population) - 1e-9 * population <= spend
    assert spend <= max(own, population) * (1 + 1e-12) + 1e-12


@settings(max_examples=60, deadline=None)
@given(customers, st.integers(min_value=1, max_value=60), st.floats(min_value=0.0, max_value=0.2))
def test_discounting_never_adds_value(
    raw: tuple[int, float, float], horizon: int, rate: float
) -> None:
    x, t_x, T = _customer(raw)
    model = _bgnbd(0.243, 4.414, 0.793, 2.426)
    expected, discounted = discounted_purchases(
        model, [x], [t_x], [T], horizon=horizon, discount_rate=rate
    )
    assert 0.0 <= discounted[0] <= expected[0] + 1e-12
    assert expected[0] == float(model.expected_purchases(horizon, x, t_x, T))
    undiscounted = lifetime_value(
        model, [30.0], [x], [t_x], [T], horizon=horizon, discount_rate=0.0, margin_rate=0.5
    )
    assert undiscounted[0] == np.float64(15.0 * expected[0]) or np.isclose(
        undiscounted[0], 15.0 * expected[0]
    )
