"""A model's life on both backends: trained, scored (snapshots with reasons, shown on the
profile), monitored (PSI against the training sample, realised ROC AUC), retrained, compared."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.errors import ConfigError, DataError, NotFoundError
from clientela.models import Target
from clientela.services._model_examples import scoring_features
from clientela.services._model_store import load_model
from clientela.services.predictive import (
    TrainRequest,
    compare_models,
    monitor_model,
    retrain_model,
    score_model,
    train_model,
)
from clientela.services.profile import get_profile
from tests.models._data import generated, insert

CUTOFF = dt.date(2026, 6, 1)
LATER = dt.date(2026, 8, 1)


def _request() -> TrainRequest:
    return TrainRequest(
        name="buyers", target=Target("propensity", 60), cutoff=CUTOFF, validation="cv", folds=3
    )


def test_score_profile_monitor_retrain_compare(datamart: Datamart, settings: Settings) -> None:
    dm = datamart
    generated(dm)
    first = train_model(dm, settings, _request())
    assert first.baseline is not None and first.parameters["folds"] == 3

    # At the cut-off the population is the training sample: nothing has drifted.
    same = monitor_model(dm, settings, "buyers", CUTOFF)
    assert same.population == first.examples
    assert same.score_psi == pytest.approx(0, abs=1e-9)
    assert all(f.psi == pytest.approx(0, abs=1e-9) for f in same.features)
    assert not same.retrain_recommended and same.realised is None
    assert same.notes == (
        "no stored scores of version 1 dated from 2026-07-31 (after the training's outcome "
        "window) to 2026-04-02 (the 60-day outcome window passed by 2026-06-01): the realised "
        "ROC AUC needs one",
    )

    score_model(dm, settings, "buyers", CUTOFF)
    run = score_model(dm, settings, "buyers", LATER, with_customers=True)
    assert run.customers is not None and len(run.customers) == run.scored == 600
    # The snapshot's probabilities (calibrated sums of the reasons' contributions) are the
    # model's predict_proba.
    stored_model = load_model(dm, "buyers")
    assert stored_model.estimator is not None
    population = scoring_features(
        dm, LATER, stored_model.target, stored_model.spec, stored_model.features
    )
    scored = run.customers.set_index("profile_id").loc[population.index, "probability"]
    expected = stored_model.estimator.predict_proba(population)[:, 1]
    assert scored.to_numpy() == pytest.approx(expected, rel=1e-12, abs=1e-12)

    # The profile shows the newest score up to its date, with the snapshot's reasons.
    profile = get_profile(dm, settings, "g0007", LATER)
    (prediction,) = profile.predictions
    stored = dm.records(
        "SELECT probability, decile, reasons FROM predictive_scores "
        "WHERE profile_id = 'g0007' AND as_of = ?",
        [LATER],
    )[0]
    assert (prediction.model, prediction.as_of) == ("buyers", LATER)
    assert prediction.probability == pytest.approx(stored["probability"])
    assert prediction.decile == stored["decile"]
    reasons = json.loads(stored["reasons"])
    assert [r.feature for r in prediction.raising] == [r["feature"] for r in reasons["raising"]]
    assert prediction.raising or prediction.lowering
    row = run.customers.set_index("profile_id").loc["g0007"]
    assert row["decile"] == prediction.decile
    if prediction.raising:
        top = prediction.raising[0]
        assert row["raising_1"] == f"{top.feature} = {top.value} ({top.effect:+.2f})"
    assert get_profile(dm, settings, "g0007", CUTOFF - dt.timedelta(days=1)).predictions == ()

    # Later: the scores of LATER meet their outcome (those of the cut-off were the training's
    # own outcomes and are not used); new customers shift the population.
    insert(
        dm,
        "customers",
        [
            {"customer_id": f"n{i:04d}", "kind": "person", "created_at": dt.datetime(2026, 7, 1)}
            for i in range(900)
        ],
    )
    end = dt.date(2026, 9, 30)  # the day after the data: LATER's outcome window has passed
    later = monitor_model(dm, settings, "buyers", auc_drop=0.0)
    assert later.as_of == end
    realised = later.realised
    assert realised is not None and realised.scored_as_of == LATER
    snapshot = dm.to_pandas(
        dm.table("predictive_scores").filter(lambda t: t.as_of == LATER)
    ).set_index("profile_id")
    sales = dm.to_pandas(dm.table("transactions"))
    window = sales[
        (sales.occurred_at >= pd.Timestamp(LATER))
        & (sales.occurred_at < pd.Timestamp(LATER + dt.timedelta(days=60)))
    ]
    bought = snapshot.index.isin(window.customer_id)
    assert realised.customers == 600 and realised.positives == int(bought.sum()) > 0
    assert realised.roc_auc == pytest.approx(roc_auc_score(bought, snapshot.probability))
    assert realised.training_roc_auc == first.evaluation.roc_auc
    assert later.population == 1500
    assert later.score_psi is not None and later.score_psi > 0.25
    assert later.retrain_recommended
    assert later.warnings[0] == (
        f"the score's distribution shifted since training (PSI {later.score_psi:.2f} > 0.25): "
        "retrain the model"
    )
    shifted = [f for f in later.features if f.stability == "significant"]
    assert later.warnings[-1] == (
        f"{len(shifted)} feature(s) shifted since training (PSI > 0.25): "
        + ", ".join(f"{f.feature} ({f.psi:.2f})" for f in shifted[:5])
        + f" and {len(shifted) - 5} more"
    )
    assert shifted[0].feature == "attr_segment"  # the newcomers have no segment

    # Retraining keeps the old version; by default at the latest cut-off the data covers.
    second = retrain_model(dm, settings, "buyers")
    assert (second.version, second.cutoff) == (2, dt.date(2026, 8, 1))
    assert second.parameters["validation"] == "cv" and second.parameters["folds"] == 3
    comparison = compare_models(dm, "buyers")
    assert [v.version for v in comparison.versions] == [1, 2]
    assert comparison.versions[0].roc_auc == first.evaluation.roc_auc
    assert comparison.versions[1].cutoff == dt.date(2026, 8, 1)
    assert [v.version for v in compare_models(dm, "buyers", [2]).versions] == [2]
    with pytest.raises(NotFoundError, match="model 'buyers' has no version 7"):
        compare_models(dm, "buyers", [1, 7])


def test_monitoring_refuses_what_it_cannot_compare(datamart: Datamart, settings: Settings) -> None:
    generated(datamart, customers=300)
    train_model(datamart, settings, _request())
    with pytest.raises(ConfigError, match=r"^the ROC AUC drop must be between 0 and 1, got 2\.0$"):
        monitor_model(datamart, settings, "buyers", auc_drop=2.0)
    with pytest.raises(DataError) as caught:
        monitor_model(datamart, settings, "buyers", dt.date(2024, 6, 1))
    assert caught.value.message == (
        "no customers of the model 'buyers' as of 2024-06-01: nothing to compare with the "
        "training sample"
    )


def test_deciles_split_ties_by_position() -> None:
    from clientela.services._model_scoring import deciles

    assert deciles(np.array([0.5] * 20)).tolist() == [d for d in range(1, 11) for _ in (0, 1)]
    assert deciles(np.array([0.1, 0.9])).tolist() == [6, 1]


def test_a_realised_auc_below_the_training_recommends_retraining() -> None:
    from clientela.services._model_monitor import RealisedAuc, _retrain_reasons

    realised = RealisedAuc(CUTOFF, LATER, 500, 40, 0.70, 0.80, 0.10)
    assert _retrain_reasons(0.05, realised, 0.05) == [
        "the realised ROC AUC of the scores of 2026-06-01 is 0.700, 0.100 below the training's "
        "0.800 (more than 0.05): retrain the model"
    ]
    assert _retrain_reasons(0.05, realised, 0.2) == []
