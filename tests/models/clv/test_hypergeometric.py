"""2F1 where SciPy returns inf or nan: summed as a series, checked against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import hyp2f1 as scipy_hyp2f1

from clientela.models.clv._hypergeometric import hyp2f1


def test_scipy_gaps_are_filled_by_the_series() -> None:
    assert not np.isfinite(scipy_hyp2f1(1.0, 1.0, 101.0, 0.96))  # the gap this module fills
    # The neighbours SciPy computes bracket the value at the whole-number c.
    value = float(hyp2f1(1.0, 1.0, 101.0, 0.96))
    assert scipy_hyp2f1(1.0, 1.0, 101.0001, 0.96) < value < scipy_hyp2f1(1.0, 1.0, 100.9999, 0.96)


@pytest.mark.parametrize("z", [0.0, 0.3, 0.9, 0.999])
def test_closed_forms(z: float) -> None:
    # 2F1(1, 1; 2; z) = -ln(1 - z) / z and 2F1(a, b; b; z) = (1 - z)^-a.
    log_form = -math.log1p(-z) / z if z else 1.0
    assert float(hyp2f1(1.0, 1.0, 2.0, z)) == pytest.approx(log_form, rel=1e-12)
    assert float(hyp2f1(0.5, 3.0, 3.0, z)) == pytest.approx((1 - z) ** -0.5, rel=1e-12)
    from clientela.models.clv._hypergeometric import _series

    series = _series(*(np.array([v]) for v in (1.0, 1.0, 2.0, z)))
    assert series[0] == pytest.approx(log_form, rel=1e-9)
