"""Reasons per customer: the vectorised computation against a row-by-row one, the JSON documents
and the export text built from the columns."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest

from clientela.models import PropensityModel, Reason, Reasons, explain
from clientela.models._reasons import reason_columns, reasons_documents, reasons_frame
from tests.models.test_estimator import synthetic


def _shown(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "(missing)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _row_by_row(
    model: PropensityModel, frame: pd.DataFrame, top: int, min_effect: float
) -> list[Reasons]:
    """The straightforward computation: sort each row's contributions on its own."""
    contributions = model.contributions(frame).drop(columns="(baseline)")
    names = list(contributions.columns)
    values = frame.loc[:, names].astype("object")
    effects = contributions.to_numpy()
    result = []
    for row in range(len(frame)):
        effect = effects[row]
        order = np.argsort(-effect, kind="stable")
        raising = [
            Reason(names[i], _shown(values.iat[row, i]), float(effect[i]))
            for i in order[:top]
            if effect[i] >= min_effect
        ]
        lowering = [
            Reason(names[i], _shown(values.iat[row, i]), float(effect[i]))
            for i in order[::-1][:top]
            if effect[i] <= -min_effect
        ]
        result.append(Reasons(tuple(raising), tuple(lowering)))
    return result


@pytest.mark.parametrize("algorithm", ["gbm", "logistic"])
@pytest.mark.parametrize(("top", "min_effect"), [(3, 0.005), (2, 0.3), (6, 0.0)])
def test_reasons_are_those_of_a_row_by_row_sort(
    algorithm: str, top: int, min_effect: float
) -> None:
    X, y = synthetic(600, seed=2)
    X["plan"] = X["plan"].where(np.arange(600) % 17 != 0)  # missing text values
    X.loc[::3, "spend"] = X["spend"][::3].round()  # whole numbers and decimals
    model = PropensityModel(algorithm, random_state=0).fit(X, y)
    sample = X.head(120)
    expected = _row_by_row(model, sample, top, min_effect)
    assert explain(model, sample, top=top, min_effect=min_effect) == expected
    assert any(r.raising for r in expected) and any(r.lowering for r in expected)
    assert any(v.value == "(missing)" for r in expected for v in r.raising + r.lowering)

    columns = reason_columns(model, sample, top=top, min_effect=min_effect)
    documents = [json.loads(d) for d in reasons_documents(columns).to_pylist()]
    assert documents == [json.loads(json.dumps(asdict(r))) for r in expected]
    text = reasons_frame(columns)
    assert list(text.columns) == [
        f"{s}_{k}" for s in ("raising", "lowering") for k in range(1, top + 1)
    ]
    for row, reasons in enumerate(expected):
        for side in ("raising", "lowering"):
            listed = getattr(reasons, side)
            for rank in range(1, top + 1):
                cell = text.loc[row, f"{side}_{rank}"]
                if rank <= len(listed):
                    r = listed[rank - 1]
                    assert cell == f"{r.feature} = {r.value} ({r.effect:+.2f})"
                else:
                    assert pd.isna(cell)


def test_ties_keep_the_column_order_and_text_is_escaped() -> None:
    X, y = synthetic(600, seed=3)
    X["twin"] = X["noise"]  # a copy: equal contributions in the logistic model... or close
    X["plan"] = X["plan"].replace({"pro": 'pro "gold"\\\n'})
    model = PropensityModel("logistic", random_state=0).fit(X, y)
    sample = X.head(60)
    expected = _row_by_row(model, sample, 5, 0.0)
    assert explain(model, sample, top=5, min_effect=0.0) == expected
    columns = reason_columns(model, sample, top=5, min_effect=0.0)
    documents = [json.loads(d) for d in reasons_documents(columns).to_pylist()]
    assert documents == [json.loads(json.dumps(asdict(r))) for r in expected]
    assert any(v["value"] == 'pro "gold"\\\n' for d in documents for v in d["raising"])


@pytest.mark.parametrize("algorithm", ["gbm", "logistic"])
def test_no_rows_no_reasons(algorithm: str) -> None:
    X, y = synthetic(300)
    model = PropensityModel(algorithm).fit(X, y)
    columns = reason_columns(model, X.head(0))
    assert columns.rows == 0 and reasons_documents(columns).to_pylist() == []
    assert reasons_frame(columns).shape == (0, 6)
    assert explain(model, X.head(0)) == []
