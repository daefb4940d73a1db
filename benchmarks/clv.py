"""Lifetime value: BG/NBD and Gamma-Gamma fitted on 1,000,000 customers, clientela and lifetimes.

    .venv/bin/python benchmarks/run.py --only clv                       # 1,000,000 customers
    .venv/bin/python benchmarks/run.py --only clv --customers 100000    # a tenth

Steps (each in its own process, see _measure.py):

* ``generate``: (x, t_x, T, mean repeat spend) of N customers simulated from the BG/NBD and
  Gamma-Gamma processes with the CDNOW parameters of Fader, Hardie and Lee (seed 20051): first
  purchases spread over 12 weeks, a 39-week calibration period, purchases recorded by day (two on
  one day count once, as in the datamart), cached in ``benchmarks/.data/``; not timed.
* ``clientela``: ``BGNBDModel().fit`` and ``GammaGammaModel().fit`` on the arrays (and
  ``ParetoNBDModel().fit``, for information).
* ``lifetimes``: ``BetaGeoFitter().fit`` and ``GammaGammaFitter().fit`` (lifetimes 0.11.3, the
  ``bench`` extra) on the same arrays, repeat customers only for Gamma-Gamma as its docs ask.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from benchmarks._measure import DATA, child_main

SEED = 20051
BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}
CALIBRATION_DAYS = 273  # 1997-01-01 to 1997-09-30: T of the first buyers is 38.86 weeks
ACQUISITION_DAYS = 84


def _path(customers: int) -> Path:
    return DATA / f"clv_{customers}.npz"


def generate(customers: int) -> dict[str, Any]:
    path = _path(customers)
    if path.exists():
        return {"cached": True}
    started = time.perf_counter()
    rng = np.random.default_rng(SEED)
    n = customers
    tenure_days = CALIBRATION_DAYS - rng.integers(0, ACQUISITION_DAYS, n)
    rate = rng.gamma(BGNBD["r"], 1 / BGNBD["alpha"], n) / 7  # purchases per day
    drop = rng.beta(BGNBD["a"], BGNBD["b"], n)
    clock = np.zeros(n)
    last_day = np.zeros(n, dtype=np.int64)
    x = np.zeros(n, dtype=np.int64)
    active = np.arange(n)
    while active.size:
        clock[active] += rng.exponential(1 / rate[active])
        active = active[clock[active] < tenure_days[active]]
        day = np.floor(clock[active]).astype(np.int64)
        new_day = day != last_day[active]  # a second purchase on one day is the same purchase
        x[active[new_day]] += 1
        last_day[active[new_day]] = day[new_day]
        active = active[rng.random(active.size) >= drop[active]]
    nu = rng.gamma(GAMMA_GAMMA["q"], 1 / GAMMA_GAMMA["gamma"], n)
    repeat = x > 0
    spend = np.zeros(n)
    shape = GAMMA_GAMMA["p"] * x[repeat]
    spend[repeat] = np.round(rng.gamma(shape, 1 / (nu[repeat] * x[repeat])), 2)
    spend[repeat] = np.maximum(spend[repeat], 0.01)
    np.savez(
        path,
        x=x.astype(np.float64),
        t_x=np.where(repeat, last_day, 0) / 7,
        T=tenure_days / 7,
        monetary=spend,
    )
    return {"seconds": time.perf_counter() - started, "repeat": int(repeat.sum())}


def _load(customers: int) -> dict[str, np.ndarray]:
    with np.load(_path(customers)) as data:
        return {k: data[k] for k in data.files}


def clientela(customers: int) -> dict[str, Any]:
    from clientela.models.clv import BGNBDModel, GammaGammaModel, ParetoNBDModel

    data = _load(customers)
    started = time.perf_counter()
    bgnbd = BGNBDModel().fit(data["x"], data["t_x"], data["T"])
    bgnbd_seconds = time.perf_counter() - started
    started = time.perf_counter()
    spend = GammaGammaModel().fit(data["x"], data["monetary"])
    gamma_seconds = time.perf_counter() - started
    started = time.perf_counter()
    pareto = ParetoNBDModel().fit(data["x"], data["t_x"], data["T"])
    pareto_seconds = time.perf_counter() - started
    distinct = len(np.unique(np.column_stack([data["x"], data["t_x"], data["T"]]), axis=0))
    return {
        "seconds": bgnbd_seconds + gamma_seconds,
        "bgnbd_seconds": bgnbd_seconds,
        "gamma_gamma_seconds": gamma_seconds,
        "pareto_nbd_seconds": pareto_seconds,
        "bgnbd": bgnbd.params_,
        "bgnbd_loglik": bgnbd.loglik_,
        "gamma_gamma": spend.params_,
        "pareto_nbd": pareto.params_,
        "distinct_rows": distinct,
        "repeat": int((data["x"] > 0).sum()),
    }


def lifetimes(customers: int) -> dict[str, Any]:
    with warnings.catch_warnings():
        # lifetimes sets pandas' mode.chained_assignment at import, deprecated in pandas 3.
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter, GammaGammaFitter

    data = _load(customers)
    started = time.perf_counter()
    bgnbd = BetaGeoFitter().fit(data["x"], data["t_x"], data["T"])
    bgnbd_seconds = time.perf_counter() - started
    repeat = data["x"] > 0
    started = time.perf_counter()
    spend = GammaGammaFitter().fit(data["x"][repeat], data["monetary"][repeat])
    gamma_seconds = time.perf_counter() - started
    bgnbd_params = {k: float(v) for k, v in bgnbd.params_.items()}
    spend_params = {k: float(v) for k, v in spend.params_.items()}
    return {
        "seconds": bgnbd_seconds + gamma_seconds,
        "bgnbd_seconds": bgnbd_seconds,
        "gamma_gamma_seconds": gamma_seconds,
        "bgnbd": bgnbd_params,
        # lifetimes calls gamma 'v'.
        "gamma_gamma": {"p": spend_params["p"], "q": spend_params["q"], "gamma": spend_params["v"]},
    }


if __name__ == "__main__":
    child_main({"generate": generate, "clientela": clientela, "lifetimes": lifetimes})
