"""``clientela model``: train, evaluate (JSON with roc_auc), score with reasons, list; errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from clientela.config import Settings
from clientela.datamart import connect, migrate
from tests.conftest import CliResult
from tests.models._data import generated

Cli = Callable[..., CliResult]


@pytest.fixture
def db(tmp_path: Path) -> str:
    settings = Settings(db=str(tmp_path / "models.duckdb"))
    with connect(settings) as dm:
        migrate(dm)
        generated(dm)
    return settings.db


def _train(cli: Cli, db: str, kind: str, name: str, cutoff: str, *options: str) -> CliResult:
    """``clientela model train --kind KIND --name NAME --cutoff CUTOFF OPTIONS...``."""
    return cli(
        "--db", db, "model", "train", "--kind", kind, "--name", name, "--cutoff", cutoff, *options
    )


def test_train_evaluate_score_and_list(cli: Cli, db: str) -> None:
    trained = _train(
        cli, db, "propensity", "buyers", "2026-06-01", "--outcome-days", "60", "--json"
    )
    assert trained.code == 0, trained.stderr
    document = json.loads(trained.stdout)
    assert document["version"] == 1 and document["examples"] == 600
    assert document["validation"] == "time holdout: trained on 2026-04-02, tested on 2026-06-01"
    # Buying depends on the segment, which the purchase history reflects: the model finds it.
    assert document["roc_auc"] > 0.75
    history = {"attr_segment", "revenue", "orders", "average_order_value", "rfm_f", "rfm_m"}
    history |= {"days_since_first_purchase", "days_since_last_purchase", "revenue_365d"}
    assert next(iter(document["feature_importance"])) in history
    assert "attr_segment" in document["features"]

    evaluated = cli("--db", db, "model", "evaluate", "buyers", "--json")
    assert evaluated.code == 0, evaluated.stderr
    metrics = json.loads(evaluated.stdout)
    assert metrics["roc_auc"] == document["roc_auc"]
    assert [d["decile"] for d in metrics["deciles"]] == list(range(1, 11))

    text = cli("--db", db, "model", "evaluate", "buyers")
    assert "ROC AUC" in text.stdout and "cumulative gain" in text.stdout

    scored = cli("--db", db, "model", "score", "buyers", "--as-of", "2026-08-01", "--json")
    assert scored.code == 0, scored.stderr
    run = json.loads(scored.stdout)
    assert run["scored"] == 600 and len(run["top"]) == 10
    assert run["top"][0]["raising"], "the top customer has reasons"
    with connect(Settings(db=db)) as dm:
        rows = dm.sql(
            "SELECT count(*), min(decile), max(decile) FROM predictive_scores "
            "WHERE model = 'buyers' AND as_of = DATE '2026-08-01'"
        )
        assert rows[0] == (600, 1, 10)
    # Scoring the same day again replaces the snapshot.
    assert cli("--db", db, "-q", "model", "score", "buyers", "--as-of", "2026-08-01").code == 0
    with connect(Settings(db=db)) as dm:
        assert dm.sql("SELECT count(*) FROM predictive_scores")[0][0] == 600

    again = _train(
        cli,
        db,
        "churn",
        "buyers",
        "2026-06-01",
        "--outcome-days",
        "60",
        "--algorithm",
        "logistic",
        "--validation",
        "cv",
        "--json",
    )
    assert again.code == 0, again.stderr
    assert json.loads(again.stdout)["version"] == 2
    listed = json.loads(cli("--db", db, "model", "list", "--json").stdout)
    assert [(m["name"], m["version"], m["kind"]) for m in listed] == [("buyers", 2, "churn")]


def test_scoring_a_model_never_trained_is_refused(cli: Cli, db: str) -> None:
    result = cli("--db", db, "model", "score", "buyer", "--as-of", "2026-08-01")
    assert result.code == 2
    assert result.stderr == (
        "error: no predictive model 'buyer'; the models are: none yet: train one with "
        "'clientela model train'\n"
    )


def test_training_errors_are_one_line(cli: Cli, db: str) -> None:
    past = _train(cli, db, "churn", "c", "2026-09-01", "--outcome-days", "60")
    assert past.code == 2
    assert "runs past the data, which ends on 2026-09-29" in past.stderr
    too_few = _train(
        cli,
        db,
        "propensity",
        "p",
        "2026-06-01",
        "--outcome-days",
        "60",
        "--min-positives",
        "2000",
        "--validation",
        "cv",
    )
    assert too_few.code == 2
    assert "positives, at least 2,000 needed" in too_few.stderr
    early = _train(cli, db, "propensity", "p", "2025-01-20", "--outcome-days", "60")
    assert early.code == 2
    assert "choose a later cut-off, or cross-validate with --validation cv" in early.stderr
    response = _train(cli, db, "response", "r", "2026-06-01")
    assert response.stderr == (
        "error: a response model needs --campaign (the campaign_id answered)\n"
    )
    bad_exclude = _train(
        cli, db, "propensity", "p", "2026-06-01", "--outcome-days", "60", "--exclude", "attr_segmnt"
    )
    assert "no feature 'attr_segmnt' to exclude (did you mean 'attr_segment'?)" in (
        bad_exclude.stderr
    )
