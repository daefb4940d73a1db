"""``clientela campaign`` end to end on the demo company: preview, execute, list, show, the
global hold-out, and the one-line errors of bad input."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import REPO

CALL = REPO / "examples" / "campaigns" / "retention_call.yaml"
EMAIL = REPO / "examples" / "campaigns" / "summer_email.yaml"


def _adds_up(funnel: list[dict[str, Any]]) -> None:
    for before, step in itertools.pairwise(funnel):
        assert step["customers"] == before["customers"] - step["removed"], step


def test_preview_prints_the_funnel_as_json(cli: Callable[..., Any], demo_copy: Path) -> None:
    result = cli("--db", demo_copy, "campaign", "preview", CALL, "--json")
    assert result.code == 0, result.stderr
    funnel = json.loads(result.stdout)
    steps = [s["step"] for s in funnel]
    assert steps[:3] == ["base", "target", "already_in_campaign"]
    assert steps[-4:] == ["pressure", "control", "capacity", "final"]
    assert {"consent", "do_not_contact", "open_issues", "global_holdout", "minors"} <= set(steps)
    assert funnel[-1]["customers"] > 0
    _adds_up(funnel)
    both = cli("--db", demo_copy, "campaign", "preview", CALL, EMAIL, "--json")
    documents = json.loads(both.stdout)
    assert [d["campaign"] for d in documents] == ["retention_call", "summer_email"]
    for document in documents:
        _adds_up(document["funnel"])
    table = cli("--db", demo_copy, "campaign", "preview", CALL, "--sample", "3")
    assert "Campaign retention_call (call): funnel" in table.stdout
    assert "Sample of the final rows" in table.stdout and "LOYAL20" in table.stdout


def test_execute_writes_files_and_never_twice(
    cli: Callable[..., Any], demo_copy: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = cli("--db", demo_copy, "campaign", "execute", CALL, EMAIL, "--out", out, "--json")
    assert first.code == 0, first.stderr
    runs = json.loads(first.stdout)
    assert [r["campaign"] for r in runs] == ["retention_call", "summer_email"]
    assert all(r["contacted"] > 0 and r["held_out"] > 0 for r in runs)
    assert all(Path(f).is_file() for r in runs for f in r["files"])
    again = cli("--db", demo_copy, "campaign", "execute", CALL, EMAIL, "--out", out)
    assert again.code == 0, again.stderr
    assert "0 planned" in again.stdout
    listed = cli("--db", demo_copy, "campaign", "list", "--json")
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["retention_call"]["runs"] == 2
    assert rows["retention_call"]["contacted"] == runs[0]["contacted"]
    shown = cli("--db", demo_copy, "campaign", "show", "retention_call")
    assert shown.code == 0 and "LOYAL20" in shown.stdout and "Runs" in shown.stdout
    table = cli("--db", demo_copy, "campaign", "list")
    assert "summer_email" in table.stdout


def test_list_before_any_execution(cli: Callable[..., Any], demo_copy: Path) -> None:
    result = cli("--db", demo_copy, "campaign", "list")
    assert result.code == 0 and "no campaign yet" in result.stdout
    assert json.loads(cli("--db", demo_copy, "campaign", "list", "--json").stdout) == []


def test_global_holdout_commands(cli: Callable[..., Any], demo_copy: Path) -> None:
    made = cli(
        "--db",
        demo_copy,
        "campaign",
        "holdout",
        "create",
        "--percent",
        "5",
        "--until",
        "2026-12-31",
        "--from",
        "2026-06-01",
        "--seed",
        "4",
    )
    assert made.code == 0, made.stderr
    assert "held out of every campaign from 2026-06-01 to 2026-12-31" in made.stdout
    listed = json.loads(cli("--db", demo_copy, "campaign", "holdout", "list", "--json").stdout)
    assert listed[0]["seed"] == 4 and listed[0]["profiles"] > 0
    preview = json.loads(cli("--db", demo_copy, "campaign", "preview", EMAIL, "--json").stdout)
    assert {s["step"]: s["removed"] for s in preview}["global_holdout"] > 0
    bad = cli(
        "--db",
        demo_copy,
        "campaign",
        "holdout",
        "create",
        "--percent",
        "0",
        "--until",
        "2026-12-31",
    )
    assert bad.code == 2 and "--percent must be between 0 and 100" in bad.stderr


def test_bad_input_is_one_line_and_exit_2(
    cli: Callable[..., Any], demo_copy: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty_target.yaml"
    empty.write_text("name: nobody\nchannel: email\ntarget: {field: orders, at_least: 100000}\n")
    result = cli("--db", demo_copy, "campaign", "preview", empty)
    assert result.code == 2
    assert "selects nobody" in result.stderr and "widen the target" in result.stderr
    result = cli("--db", demo_copy, "campaign", "execute", empty, "--out", tmp_path / "o")
    assert result.code == 2 and not (tmp_path / "o").exists()
    zero = tmp_path / "zero.yaml"
    zero.write_text("name: zero\nchannel: call\ncapacity:\n  per_day: 0\n  days: 3\n")
    result = cli("--db", demo_copy, "campaign", "preview", zero)
    assert result.code == 2
    assert f"{zero}, line 4: 'capacity.per_day': capacity per_day must be positive" in result.stderr
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("name: u\nchannel: email\ntarget: {field: revenu, at_least: 10}\n")
    result = cli("--db", demo_copy, "campaign", "preview", unknown)
    assert result.code == 2 and "revenu" in result.stderr and "revenue" in result.stderr
    result = cli("--db", demo_copy, "campaign", "show", "retension_call")
    assert result.code == 2 and "no campaign 'retension_call'" in result.stderr
