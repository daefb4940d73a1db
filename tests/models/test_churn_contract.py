"""Churn as "a contract that ended": labels, point-in-time contract features, the CLI option,
and a model trained on the demo company's contracts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from clientela.config import Settings
from clientela.datamart import Datamart, connect
from clientela.models._contract_features import CONTRACT_FEATURES, contract_features
from clientela.models._labels import Target, labels
from clientela.services._model_examples import build_examples, choose_features, model_tables
from clientela.services._model_store import load_model
from tests.conftest import CliResult
from tests.models._data import AS_OF, insert

Cli = Callable[..., CliResult]
T = dt.datetime


def _contracts(dm: Datamart) -> None:
    """a ends its one contract in the window; b ends one of two; c ended before the cut-off;
    d starts after it; e ends after the window; f is marked ended with no date."""
    insert(
        dm,
        "customers",
        [{"customer_id": c, "kind": "person", "created_at": T(2024, 1, 1)} for c in "abcdef"],
    )

    def contract(customer: str, key: str, product: str, started: T, ended: T | None) -> dict:
        return {
            "contract_id": key,
            "customer_id": customer,
            "product": product,
            "status": "active" if ended is None else "ended",
            "started_at": started,
            "ends_at": T(2027, 1, 1),
            "ended_at": ended,
            "monthly_amount": 20.0,
        }

    insert(
        dm,
        "contracts",
        [
            contract("a", "a1", "mobile", T(2025, 1, 1), T(2026, 7, 15)),
            contract("a", "a0", "mobile", T(2024, 2, 1), T(2025, 6, 1)),
            contract("b", "b1", "broadband", T(2024, 6, 1), T(2026, 7, 1)),
            contract("b", "b2", "mobile", T(2025, 6, 1), None),
            contract("c", "c1", "mobile", T(2025, 3, 1), T(2026, 5, 1)),
            contract("d", "d1", "mobile", T(2026, 6, 15), None),
            contract("e", "e1", "mobile", T(2025, 9, 1), T(2026, 10, 1)),
            {**contract("f", "f1", "mobile", T(2025, 9, 1), None), "status": "ended"},
        ],
    )


def _labels(dm: Datamart, target: Target) -> dict[str, int]:
    frame = dm.to_pandas(labels(model_tables(dm), AS_OF, target))
    return dict(zip(frame.profile_id, frame.label.astype(int), strict=True))


def test_labels_any_all_and_product(datamart: Datamart) -> None:
    _contracts(datamart)
    by_contract = Target("churn", 90, churn_by="contract")
    assert _labels(datamart, by_contract) == {"a": 1, "b": 1, "e": 0}
    assert _labels(datamart, Target("churn", 90, churn_by="contract", contracts="all")) == {
        "a": 1,
        "b": 0,
        "e": 0,
    }
    broadband = Target("churn", 90, churn_by="contract", product="broadband")
    assert _labels(datamart, broadband) == {"b": 1}
    # A window too short to reach b's end on 1 July.
    assert _labels(datamart, Target("churn", 20, churn_by="contract"))["b"] == 0


def test_contract_features_use_only_what_was_known_at_the_cutoff(datamart: Datamart) -> None:
    _contracts(datamart)
    tables = model_tables(datamart)
    assert tables.contracts is not None
    frame = datamart.to_pandas(contract_features(tables.contracts, tables.identity, AS_OF))
    rows = frame.set_index("profile_id").to_dict("index")
    assert set(rows) == {"a", "b", "c", "e", "f"}  # d's contract starts after the cut-off
    # a: one active since 2025-01-01 (516 days), one ended before the cut-off.
    assert rows["a"]["contracts_active"] == 1 and rows["a"]["contracts_ended"] == 1
    assert rows["a"]["contract_tenure_days"] == 516
    assert rows["a"]["contract_days_to_renewal"] == 365 - 516 % 365
    assert rows["a"]["contract_monthly_amount"] == 40.0 - 20.0
    # b's broadband ends after the cut-off: still active then, not yet ended.
    assert rows["b"]["contracts_active"] == 2 and rows["b"]["contracts_ended"] == 0
    assert rows["b"]["contract_monthly_amount"] == 40.0
    assert rows["c"]["contracts_active"] == 0 and rows["c"]["contracts_ended"] == 1
    target = Target("churn", 90, churn_by="contract")
    examples = build_examples(datamart, AS_OF, target, choose_features(datamart, AS_OF, target))
    assert list(examples.index) == ["a", "b", "e"]
    assert set(CONTRACT_FEATURES) <= set(examples.columns)
    assert examples.label.tolist() == [1, 1, 0]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    from clientela.cli import main

    db = str(tmp_path_factory.mktemp("churn") / "demo.duckdb")
    try:
        main(["--db", db, "-q", "demo", "--customers", "1500"])
    except SystemExit as done:
        assert done.code in (0, None)
    return db


def test_a_contract_churn_model_on_the_demo_from_the_cli(cli: Cli, demo_db: str) -> None:
    trained = cli(
        "--db", demo_db, "model", "train", "--kind", "churn", "--churn-by", "contract",
        "--name", "leavers", "--cutoff", "2026-03-01", "--outcome-days", "120",
        "--min-positives", "10", "--min-examples", "50", "--json",
    )  # fmt: skip
    assert trained.code == 0, trained.stderr
    document = json.loads(trained.stdout)
    assert document["kind"] == "churn" and document["examples"] >= 50
    assert set(CONTRACT_FEATURES) <= set(document["features"])
    with connect(Settings(db=demo_db)) as dm:
        stored = load_model(dm, "leavers", with_estimator=False)
        held = dm.sql(
            "SELECT count(DISTINCT coalesce(i.profile_id, c.customer_id)) FROM contracts c "
            "LEFT JOIN identity i ON i.customer_id = c.customer_id "
            "WHERE c.started_at < TIMESTAMP '2026-03-01' "
            "AND (c.ended_at IS NULL OR c.ended_at >= TIMESTAMP '2026-03-01')"
        )[0][0]
    assert stored.target.churn_by == "contract" and stored.target.contracts == "any"
    assert document["examples"] == held
    scored = cli("--db", demo_db, "model", "score", "leavers", "--as-of", "2026-07-01", "--json")
    assert scored.code == 0, scored.stderr
    # The scored population is the holders of an active contract on the scoring day.
    assert 0 < json.loads(scored.stdout)["scored"] <= held * 2


def test_churn_by_errors(cli: Cli, tmp_path: Path) -> None:
    db = str(tmp_path / "empty.duckdb")
    assert cli("--db", db, "init").code == 0
    wrong = cli(
        "--db", db, "model", "train", "--kind", "churn", "--name", "x", "--cutoff", "2026-01-01",
        "--churn-by", "contracts",
    )  # fmt: skip
    assert wrong.code == 2
    assert "unknown --churn-by 'contracts' (did you mean 'contract'?)" in wrong.stderr
    not_churn = cli(
        "--db", db, "model", "train", "--kind", "propensity", "--name", "x",
        "--cutoff", "2026-01-01", "--churn-by", "contract",
    )  # fmt: skip
    assert not_churn.code == 2 and "--churn-by contract is for churn models" in not_churn.stderr
    nothing = cli(
        "--db", db, "model", "train", "--kind", "churn", "--name", "x", "--cutoff", "2026-01-01",
        "--churn-by", "contract",
    )  # fmt: skip
    assert nothing.code != 0 and "no contracts to learn the churn outcome" in nothing.stderr
