"""``clientela score ...`` on the toy-store example: the contract of the scoring issue."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "toy_store"
Cli = Callable[..., CliResult]


@pytest.fixture
def db(cli: Cli, tmp_path: Path) -> Path:
    path = tmp_path / "toy.duckdb"
    assert cli("--db", path, "init").code == 0
    loaded = cli("--db", path, "load", EXAMPLE)
    assert loaded.code == 0, loaded.stderr
    return path


def test_run_show_explain_history(cli: Cli, db: Path) -> None:
    listed = cli("--db", db, "score", "list-models", "--json")
    assert [m["name"] for m in json.loads(listed.stdout)] == ["toy_store"]

    run = cli("--db", db, "score", "run", "--model", "toy_store", "--as-of", "2026-11-01", "--json")
    assert run.code == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["profiles"] == 10
    assert document["bands"] == {"prospect": 4, "nurture": 2, "frequent": 2, "preferential": 2}

    shown = cli("--db", db, "score", "show", "C003", "--model", "toy_store", "--json")
    assert shown.code == 0, shown.stderr
    score = json.loads(shown.stdout)
    assert (score["score"], score["band"]) == (81.0, "preferential")
    assert sum(r["points"] for r in score["reasons"]) == score["score"]
    assert {r["rule"] for r in score["reasons"]} >= {"landing_pages", "persona_goal"}

    # By e-mail, and the explanation on the terminal ends with the total.
    explained = cli("--db", db, "score", "explain", "ana.mora@example.cr", "-m", "toy_store")
    assert explained.code == 0, explained.stderr
    assert "C001" in explained.stdout and "43.00" in explained.stdout
    events = cli("--db", db, "score", "explain", "C001", "-m", "toy_store", "--events", "--json")
    assert events.code == 0, events.stderr
    counted = json.loads(events.stdout)["counted"]
    assert len([u for u in counted if u["rule"] == "landing_pages"]) == 4
    assert {u["row_id"] for u in counted if u["rule"] == "landing_pages"} <= {
        f"E{n:05d}" for n in range(1, 1000)
    }
    table = cli("--db", db, "score", "explain", "C001", "-m", "toy_store", "--events")
    assert "What the behaviour rules counted" in table.stdout and "page_view" in table.stdout

    later = cli("--db", db, "score", "run", "-m", "toy_store", "--as-of", "2026-11-10", "--json")
    assert later.code == 0
    history = cli("--db", db, "score", "history", "C001", "-m", "toy_store", "--json")
    points = json.loads(history.stdout)["points"]
    assert [(p["as_of"], p["score"]) for p in points] == [
        ("2026-11-01", 43.0),
        ("2026-11-10", 55.0),
    ]
    profile = cli("--db", db, "profile", "C001", "--as-of", "2026-11-11", "--json")
    scores = json.loads(profile.stdout)["scores"]
    assert scores[0]["score"] == 55.0 and scores[0]["change"] == 12.0
    assert [p["score"] for p in scores[0]["trend"]] == [43.0, 55.0]


def test_adjust_counts_from_the_next_run(cli: Cli, db: Path) -> None:
    made = cli(
        "--db", db, "score", "adjust", "C010", "-m", "toy_store", "--add", "5",
        "--reason", "met at the fair", "--author", "marta", "--at", "2026-10-20",
    )  # fmt: skip
    assert made.code == 0, made.stderr
    cli("--db", db, "score", "run", "-m", "toy_store", "--as-of", "2026-11-01")
    shown = json.loads(cli("--db", db, "score", "show", "C010", "-m", "toy_store", "--json").stdout)
    assert shown["score"] == 43.0 and shown["band"] == "nurture"
    manual = [r for r in shown["reasons"] if r["rule"] == "manual"]
    assert manual[0]["points"] == 5.0 and "marta" in manual[0]["evidence"]


def test_back_fill_series(cli: Cli, db: Path) -> None:
    runs = cli(
        "--db", db, "score", "run", "-m", "toy_store", "--from", "2026-09-01",
        "--as-of", "2026-11-01", "--every", "30", "--json",
    )  # fmt: skip
    assert runs.code == 0, runs.stderr
    assert [r["as_of"] for r in json.loads(runs.stdout)] == [
        "2026-09-01",
        "2026-10-01",
        "2026-10-31",
    ]


def test_user_errors(cli: Cli, db: Path, tmp_path: Path) -> None:
    unknown = cli("--db", db, "score", "run", "--model", "toy_stor")
    assert unknown.code == 2
    assert "did you mean 'toy_store'" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1

    both = cli("--db", db, "score", "adjust", "C001", "-m", "toy_store", "--add", "1", "--set", "3")
    assert both.code == 2 and "exactly one of" in both.stderr

    no_reason = cli("--db", db, "score", "adjust", "C001", "-m", "toy_store", "--add", "1")
    assert no_reason.code == 2 and "needs a reason" in no_reason.stderr

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nrules:\n  - name: visits\n    points: 2\n    activity:\n"
        "      type: page_veiw\n",
        encoding="utf-8",
    )
    wrong = cli("--db", db, "score", "add", bad)
    assert wrong.code == 2
    assert "page_veiw" in wrong.stderr and "did you mean 'page_view'" in wrong.stderr
    assert f"{bad}" in wrong.stderr


def test_a_model_that_matches_nobody_warns(cli: Cli, db: Path, tmp_path: Path) -> None:
    nobody = tmp_path / "nobody.yaml"
    nobody.write_text(
        "name: nobody\nrules:\n  - name: in_madrid\n    points: 5\n    when:\n"
        "      field: city\n      equals: Madrid\n",
        encoding="utf-8",
    )
    run = cli("--db", db, "score", "run", "--model", nobody, "--as-of", "2026-11-01")
    assert run.code == 0
    assert "matched nobody" in run.stderr
