"""Scoring with a stored predictive model: the dated snapshot of every customer's probability,
decile and reasons in ``predictive_scores``, and the same rows for an export."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.replace import replace_slice
from clientela.models._reasons import (
    ReasonColumns,
    reason_columns,
    reasons_documents,
    reasons_frame,
)
from clientela.progress import NO_PROGRESS, Progress
from clientela.services._model_examples import scoring_features
from clientela.services._model_store import load_model

__all__ = ["ModelScoreRun", "deciles", "score_model"]

_NEW_SCORES = "_predictive_scores_new"


@dataclass(frozen=True)
class ModelScoreRun:
    model: str
    version: int
    as_of: dt.date
    scored: int
    mean_probability: float
    top: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    customers: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    """Every scored customer (``profile_id``, ``probability``, ``decile`` and one text column
    per reason) when asked for, for an export; not part of the JSON document."""


def deciles(probability: np.ndarray) -> np.ndarray:
    """1 for the 10% rated highest ... 10 (ties broken by position)."""
    order = np.argsort(-probability, kind="stable")
    decile = np.empty(len(order), dtype="int64")
    decile[order] = np.arange(len(order)) * 10 // max(len(order), 1) + 1
    return decile


def _top(
    ids: list[str], probability: np.ndarray, reasons: ReasonColumns, rows: np.ndarray
) -> list[dict[str, Any]]:
    """The JSON-ready rows of the few customers shown."""
    documents = reasons_documents(reasons).take(pa.array(rows, pa.int64())).to_pylist()
    return [
        {"profile_id": ids[row], "probability": float(probability[row]), **json.loads(document)}
        for row, document in zip(rows, documents, strict=True)
    ]


def score_model(
    dm: Datamart,
    settings: Settings,
    name: str,
    as_of: dt.date,
    *,
    top_reasons: int = 3,
    show: int = 10,
    with_customers: bool = False,
    progress: Progress = NO_PROGRESS,
) -> ModelScoreRun:
    """Score the model's population as of ``as_of`` and store the dated snapshot with reasons
    (replacing a previous snapshot of the same model and day)."""
    started = time.perf_counter()
    stored = load_model(dm, name)
    estimator = stored.estimator
    assert estimator is not None
    with progress.task(f"scoring {name} as of {as_of}", total=2) as task:
        features = scoring_features(dm, as_of, stored.target, stored.spec, stored.features)
        rows = len(features)
        probability = np.empty(0)
        contributions = None
        if rows:
            # One reading of the model: a row's contributions add up to its score.
            contributions = estimator.contributions(features)
            score = contributions.to_numpy(dtype="float64").sum(axis=1)
            probability = estimator.proba_from_score(score)[:, 1]
        reasons = reason_columns(estimator, features, top=top_reasons, contributions=contributions)
        task.advance()
        decile = deciles(probability)
        ids = [str(p) for p in features.index]
        snapshot = pa.table(
            {
                "model": pa.array(np.full(rows, name, dtype=object), pa.string()),
                "version": pa.array(np.full(rows, stored.version), pa.int64()),
                "as_of": pa.array(np.full(rows, as_of, dtype=object), pa.date32()),
                "profile_id": pa.array(ids, pa.string()),
                "probability": pa.array(probability, pa.float64()),
                "decile": pa.array(decile, pa.int64()),
                "reasons": reasons_documents(reasons),
            }
        )
        dm.drop_table(_NEW_SCORES)
        dm.create_table(_NEW_SCORES, dm.table("predictive_scores").schema(), temp=True)
        dm.bulk_insert(_NEW_SCORES, snapshot)
        with dm.transaction():
            # A rerun of the date updates the stored scores in place (see replace_slice).
            where = {"model": name, "as_of": as_of}
            replace_slice(dm, "predictive_scores", where, _NEW_SCORES, "profile_id")
        dm.drop_table(_NEW_SCORES)
        task.advance()
    customers = None
    if with_customers:
        customers = pd.concat(
            [
                pd.DataFrame({"profile_id": ids, "probability": probability, "decile": decile}),
                reasons_frame(reasons),
            ],
            axis=1,
        ).sort_values(["decile", "probability"], ascending=[True, False], kind="stable")
    order = np.argsort(-probability, kind="stable")
    return ModelScoreRun(
        model=name,
        version=stored.version,
        as_of=as_of,
        scored=rows,
        mean_probability=float(probability.mean()) if rows else 0.0,
        top=_top(ids, probability, reasons, order[:show]),
        seconds=time.perf_counter() - started,
        customers=customers,
    )
