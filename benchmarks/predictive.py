"""Predictive models (issue 4): features and scoring of a propensity model on the synthetic company.

    .venv/bin/python benchmarks/run.py --only predictive                      # 1,000,000 customers
    .venv/bin/python benchmarks/run.py --only predictive --customers 100000   # a tenth

The datamart is the one ``synthetic.py`` generates and builds (1,000,000 customers, 20,000,000
transactions, 50,000,000 events), reused when its build is complete.  Steps (each in its own
process, see _measure.py):

* ``train``: a propensity model, "buys anything in the 30 days from the cut-off", LightGBM with
  the time-based holdout (as ``clientela model train --kind propensity --outcome-days 30``), at a
  cut-off two months before the data ends; the versions of earlier runs are deleted first.
  Reported, not timed against the target.
* ``score``: ``score_model`` as of the day after the data ends, what ``clientela model score
  NAME --as-of DATE`` does: the point-in-time features of every customer, the calibrated
  probability, the decile and the reasons (SHAP values), and the dated snapshot written to
  ``predictive_scores`` (the snapshot of that day is replaced).  Target: under 2 minutes, peak
  memory under 8 GB.
* ``stages``: the same work as ``score``, stage by stage (the features query, Arrow to pandas,
  the contributions (SHAP values), the probabilities, the reasons, the snapshot), to say where
  the time goes; information only.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import child_main
from benchmarks.synthetic import _db

MODEL = "bench-propensity-30d"
OUTCOME_DAYS = 30


def _settings(customers: int) -> Any:
    from clientela.config import Settings

    return Settings(db=str(_db(customers)))


def _dates(dm: Any) -> tuple[dt.date, dt.date]:
    """The training cut-off (two months before the data ends) and the scoring day (the day
    after it ends)."""
    from clientela.models._labels import Target
    from clientela.services._model_examples import data_end

    end = data_end(dm, Target("propensity", OUTCOME_DAYS))
    assert end is not None, "the synthetic datamart has no transactions"
    return end - dt.timedelta(days=60), end + dt.timedelta(days=1)


def train(customers: int) -> dict[str, Any]:
    from clientela.datamart import connect
    from clientela.models._labels import Target
    from clientela.services.predictive import TrainRequest, train_model

    settings = _settings(customers)
    with connect(settings) as dm:
        cutoff, _ = _dates(dm)
        dm.sql("DELETE FROM predictive_scores WHERE model = ?", [MODEL])
        dm.sql("DELETE FROM predictive_models WHERE name = ?", [MODEL])
        request = TrainRequest(
            name=MODEL, target=Target("propensity", OUTCOME_DAYS), cutoff=cutoff, seed=0
        )
        started = time.perf_counter()
        stored = train_model(dm, settings, request)
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cutoff": str(cutoff),
        "examples": stored.examples,
        "positives": stored.positives,
        "features": len(stored.features),
        "roc_auc": stored.evaluation.roc_auc,
        "validation": stored.evaluation.validation,
    }


def score(customers: int) -> dict[str, Any]:
    from clientela.datamart import connect
    from clientela.services.predictive import score_model

    settings = _settings(customers)
    with connect(settings) as dm:
        _, as_of = _dates(dm)
        started = time.perf_counter()
        run = score_model(dm, settings, MODEL, as_of)
        seconds = time.perf_counter() - started
        stored = dm.sql(
            "SELECT count(*), count(reasons) FROM predictive_scores WHERE model = ? AND as_of = ?",
            [MODEL, as_of],
        )[0]
    return {
        "seconds": seconds,
        "as_of": str(as_of),
        "scored": run.scored,
        "stored": int(stored[0]),
        "with_reasons": int(stored[1]),
        "mean_probability": run.mean_probability,
    }


def stages(customers: int) -> dict[str, Any]:
    """``score_model``'s work taken apart, each stage timed on its own (the snapshot is
    written to a temporary table, so that the stored one is left as ``score`` wrote it)."""
    import numpy as np
    import pyarrow as pa

    from clientela.datamart import connect
    from clientela.models._features import known_profiles, point_in_time_features
    from clientela.models._reasons import reason_columns, reasons_documents
    from clientela.services._model_examples import model_tables
    from clientela.services._model_scoring import deciles
    from clientela.services._model_store import load_model

    timings: dict[str, float] = {}
    settings = _settings(customers)
    with connect(settings) as dm:
        _, as_of = _dates(dm)

        def timed(name: str, started: float) -> float:
            now = time.perf_counter()
            timings[name] = now - started
            return now

        clock = time.perf_counter()
        stored = load_model(dm, MODEL)
        estimator = stored.estimator
        assert estimator is not None
        clock = timed("load_model", clock)
        tables = model_tables(dm)
        features = point_in_time_features(tables, as_of, stored.spec)
        population = known_profiles(tables.customers, tables.identity, as_of).select("profile_id")
        keep = population.rename(_example="profile_id")
        joined = keep.inner_join(features, keep._example == features.profile_id)
        expression = joined.select(*features.columns).order_by("profile_id")
        clock = timed("expression", clock)
        arrow = dm.to_pyarrow(expression)
        clock = timed("features_query", clock)
        frame = arrow.to_pandas().set_index("profile_id")
        for column in stored.features:
            if column not in frame.columns:
                frame[column] = np.nan
        frame = frame.loc[:, list(stored.features)]
        clock = timed("to_pandas", clock)
        contributions = estimator.contributions(frame)
        clock = timed("contributions", clock)
        score = contributions.to_numpy(dtype="float64").sum(axis=1)
        probability = estimator.proba_from_score(score)[:, 1]
        clock = timed("probability", clock)
        reasons = reason_columns(estimator, frame, contributions=contributions)
        clock = timed("reason_columns", clock)
        documents = reasons_documents(reasons)
        clock = timed("reasons_documents", clock)
        rows = len(frame)
        snapshot = pa.table(
            {
                "model": pa.array(np.full(rows, MODEL, dtype=object), pa.string()),
                "version": pa.array(np.full(rows, stored.version), pa.int64()),
                "as_of": pa.array(np.full(rows, as_of, dtype=object), pa.date32()),
                "profile_id": pa.array([str(p) for p in frame.index], pa.string()),
                "probability": pa.array(probability, pa.float64()),
                "decile": pa.array(deciles(probability), pa.int64()),
                "reasons": documents,
            }
        )
        clock = timed("snapshot_table", clock)
        dm.sql("CREATE TEMPORARY TABLE _bench_scores AS SELECT * FROM predictive_scores LIMIT 0")
        clock = time.perf_counter()
        with dm.transaction():
            dm.bulk_insert("_bench_scores", snapshot)
        timed("write", clock)
    return {
        "stages": timings,
        "rows": rows,
        "columns": arrow.num_columns,
        "features": len(stored.features),
        "kept": len(estimator.encoder_.feature_names),
    }


if __name__ == "__main__":
    child_main({"train": train, "score": score, "stages": stages})
