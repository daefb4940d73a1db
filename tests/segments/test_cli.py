"""``clientela segment``: save, list, profile, look-alikes, clusters; every error a user meets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def test_save_list_and_profile_by_name(cli: Cli, demo_copy: str, tmp_path: Path) -> None:
    saved = cli("--db", demo_copy, "segment", "save", "best", "--tier", "A")
    assert saved.code == 0, saved.stderr
    assert saved.stdout.strip() == "saved segment best"
    definition = tmp_path / "north.yaml"
    definition.write_text(
        "where:\n  all:\n    - field: region\n      equals: Scotland\n"
        "    - field: orders\n      at_least: 3\n",
        encoding="utf-8",
    )
    assert cli("--db", demo_copy, "segment", "save", "north", "--file", definition).code == 0
    listed = cli("--db", demo_copy, "segment", "list", "--json")
    assert listed.code == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert [(s["name"], s["kind"]) for s in document] == [("best", "tier"), ("north", "where")]
    assert document[0]["definition"] == "tier: A"

    by_name = cli("--db", demo_copy, "segment", "profile", "best", "--json", "--top", "5")
    by_tier = cli("--db", demo_copy, "segment", "profile", "--tier", "A", "--json", "--top", "5")
    assert by_name.code == 0, by_name.stderr
    named, tiered = json.loads(by_name.stdout), json.loads(by_tier.stdout)
    assert named["segment"] == "best" and tiered["segment"] == "value tier A"
    # The same traits (DuckDB's parallel sums may differ in the last digit).
    assert [t["sentence"] for t in named["traits"]] == [t["sentence"] for t in tiered["traits"]]
    assert len(named["traits"]) == 5
    shown = cli("--db", demo_copy, "segment", "profile", "north", "--top", "3")
    assert shown.code == 0, shown.stderr
    assert "north:" in shown.stdout and "against" in shown.stdout

    again = cli("--db", demo_copy, "segment", "save", "best", "--tier", "B")
    assert again.code == 2
    assert again.stderr == (
        "error: a segment 'best' is already saved; add --replace to overwrite it\n"
    )
    replaced = cli("--db", demo_copy, "segment", "save", "best", "--tier", "B", "--replace")
    assert replaced.stdout.strip() == "replaced segment best"
    table = cli("--db", demo_copy, "segment", "list")
    assert "tier: B" in table.stdout


def test_lookalike_and_clusters_commands(cli: Cli, demo_db: str, tmp_path: Path) -> None:
    out = tmp_path / "near_a.csv"
    found = cli("--db", demo_db, "segment", "lookalike", "--tier", "A", "--top", "7", "--out", out)
    assert found.code == 0, found.stderr
    assert "Look-alikes of value tier A" in found.stdout
    written = pd.read_csv(out)
    assert list(written["rank"]) == list(range(1, 8))
    as_json = cli("--db", demo_db, "segment", "lookalike", "--rfm", "Champions", "--json")
    document = json.loads(as_json.stdout)
    assert len(document["lookalikes"]) == 20 and document["separation"] > 0.8
    clusters = cli("--db", demo_db, "segment", "clusters", "--k", "3", "--json")
    assert clusters.code == 0, clusters.stderr
    report = json.loads(clusters.stdout)
    assert report["k"] == 3 and [c["cluster"] for c in report["clusters"]] == [1, 2, 3]
    shown = cli("--db", demo_db, "segment", "clusters", "--k", "2", "--top", "2")
    assert "Cluster 1:" in shown.stdout and "Cluster 2:" in shown.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["profile", "--rfm", "Champion"],
            "no RFM segment 'Champion' (did you mean 'Champions'?); the RFM segments are: Lost,",
        ),
        (["profile", "--tier", "E"], "no value tier 'E'; the value tiers are: A, B, C, D"),
        (
            ["profile", "bets"],
            "no saved segment 'bets'; the saved segments are: none (save one with",
        ),
        (
            ["profile", "--where", "{field: order, at_least: 1}"],
            "unknown field 'order' (did you mean 'orders'?) in the segment's condition",
        ),
        (
            ["profile", "--where", "{attribute: incme_band, equals: high}"],
            "unknown third-party attribute 'incme_band' (did you mean 'income_band'?)",
        ),
        (
            ["profile", "--where", "{field: orders, at_least: 100000}"],
            "the condition has no members among the",
        ),
        (
            ["profile", "--where", "{field: orders, at_least: -1}"],
            "the condition holds all",
        ),
        (
            ["lookalike", "--where", "{field: orders, at_least: 100000}"],
            "the condition has no members among the",
        ),
        (["profile", "--tier", "A", "--rfm", "Lost"], "give exactly one of --tier, --rfm"),
        (["profile"], "(got none)"),
        (["profile", "--band", "engagement"], "--band takes MODEL:BAND"),
        (
            ["profile", "--band", "engagement:hot"],
            "no scored model 'engagement'; the models with scores are: none",
        ),
        (["profile", "--where", "{field: orders}"], "a condition has exactly one operator of"),
        (["profile", "--where", "{field: orders, at_least: [1"], "--where is not a YAML condition"),
        (
            ["profile", "--where", "{column: amount, above: 3}"],
            "a segment's condition tests a 'field' or an 'attribute' of the profile",
        ),
        (["save", "2best", "--tier", "A"], "segment name '2best': a name starts with a letter"),
        (["lookalike", "--tier", "A", "--out", "x.txt"], "must end in .csv or .xlsx"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    cli: Cli, demo_db: str, args: list[str], message: str
) -> None:
    result = cli("--db", demo_db, "segment", *args)
    assert result.code == 2, result.stdout
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert message in result.stderr, result.stderr


def test_a_bad_definition_file_names_its_line(cli: Cli, demo_db: str, tmp_path: Path) -> None:
    definition = tmp_path / "bad.yaml"
    definition.write_text("where:\n  field: orders\n  at_leest: 3\n", encoding="utf-8")
    result = cli("--db", demo_db, "segment", "save", "bad", "--file", definition)
    assert result.code == 2
    assert result.stderr.startswith(f"error: {definition}, line 3: ")
    assert "at_leest" in result.stderr
    both = cli("--db", demo_db, "segment", "save", "bad", "--file", definition, "--tier", "A")
    assert both.stderr == "error: give either --file or one of --tier, --rfm, --band, --where\n"
