"""Execution on DuckDB and PostgreSQL: what it writes, idempotency, overlapping campaigns, the
global hold-out, deferred contacts taken by a later run, a trigger's restricted base."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.services.campaigns import (
    create_global_holdout,
    execute_campaigns,
    list_campaigns,
    preview_campaigns,
)
from tests.campaigns.conftest import AS_OF, World, campaign, email_world, funnel_adds_up


def _world(n: int = 20) -> World:
    world = email_world(n)
    for i in range(1, n + 1):
        world.scores[f"C{i:02d}"] = float(i)
    return world


MAIL = """
name: mail
channel: email
offers: [{id: O1, name: Ten percent}]
priority_by: {score: "rule:engage", value: none}
control: {count: 4, seed: 3}
capacity: {per_day: 5, days: 2, overflow: defer}
"""


def test_execute_writes_run_history_exclusions_and_files(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    world = _world()
    world.opt("C01", "email", "opt_out", at=dt.datetime(2025, 6, 1))
    world.load(datamart)
    mail = campaign(MAIL)
    [execution] = execute_campaigns(datamart, settings, [mail], as_of=AS_OF, out_dir=tmp_path)
    assert (execution.contacted, execution.held_out, execution.deferred) == (10, 4, 5)
    assert execution.version == 1 and execution.files
    assert all(p.exists() for p in execution.files)
    funnel_adds_up(execution.funnel)
    [run] = datamart.records("SELECT * FROM campaign_runs")
    assert (run["campaign"], run["contacted"], run["held_out"], run["deferred"]) == (
        "mail",
        10,
        4,
        5,
    )
    assert json.loads(run["funnel"])[-1] == {"step": "final", "customers": 10, "removed": 0}
    history = datamart.records("SELECT * FROM contact_history ORDER BY profile_id")
    assert len(history) == 19
    first = history[0]
    assert first["profile_id"] == "C02" and first["offer_id"] == "O1"
    expected_id = hashlib.md5(f"mail|C02|{AS_OF.isoformat()}".encode()).hexdigest()
    assert first["contact_id"] == expected_id
    assert {r["run_id"] for r in history} == {execution.run_id}
    # The ten best-scored outside the control group, five a day; the next five deferred.
    planned = [r for r in history if r["status"] == "planned"]
    days = {r["planned_for"] for r in planned}
    assert days == {AS_OF, AS_OF + dt.timedelta(days=1)}
    [excluded] = datamart.records("SELECT * FROM campaign_exclusions")
    assert (excluded["profile_id"], excluded["step"]) == ("C01", "consent")
    [info] = list_campaigns(datamart)
    assert (info.runs, info.contacted, info.held_out) == (1, 10, 4)


def test_running_again_contacts_nobody_twice_and_takes_the_deferred(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    _world().load(datamart)
    mail = campaign(MAIL)
    execute_campaigns(datamart, settings, [mail], as_of=AS_OF, out_dir=tmp_path)
    [again] = execute_campaigns(datamart, settings, [mail], as_of=AS_OF, out_dir=tmp_path)
    steps = {s.step: s.customers for s in again.funnel}
    # Only the six deferred remain; their control draw was made by the first run.
    assert steps["already_in_campaign"] == 6
    assert again.contacted == 6 and again.deferred == 0
    counts = datamart.records(
        "SELECT profile_id, count(*) AS n FROM contact_history GROUP BY profile_id "
        "HAVING count(*) > 1"
    )
    assert counts == []
    later = AS_OF + dt.timedelta(days=3)
    [third] = execute_campaigns(datamart, settings, [mail], as_of=later, out_dir=tmp_path)
    assert third.contacted == 0
    statuses = datamart.records(
        "SELECT status, count(*) AS n FROM contact_history GROUP BY status ORDER BY status"
    )
    assert {r["status"]: r["n"] for r in statuses} == {"held_out": 4, "planned": 16}


def test_overlapping_campaigns_one_after_the_other_respect_pressure(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    _world(6).load(datamart)
    first = campaign("name: first\nchannel: email\npressure: [{max: 1, days: 7}]\n")
    second = campaign("name: second\nchannel: email\npressure: [{max: 1, days: 7}]\n")
    execute_campaigns(datamart, settings, [first], as_of=AS_OF, out_dir=tmp_path)
    [later] = execute_campaigns(datamart, settings, [second], as_of=AS_OF, out_dir=tmp_path)
    assert later.contacted == 0
    steps = {s.step: (s.customers, s.removed) for s in later.funnel}
    assert steps["pressure"] == (0, 6)
    after_a_week = AS_OF + dt.timedelta(days=7)
    [week] = execute_campaigns(datamart, settings, [second], as_of=after_a_week, out_dir=tmp_path)
    assert week.contacted == 6


def test_incompatible_running_campaign_excludes(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    _world(4).load(datamart)
    running = campaign("name: running\nchannel: email\nends: 2026-12-31\n")
    execute_campaigns(datamart, settings, [running], as_of=AS_OF, out_dir=tmp_path)
    other = campaign("name: other\nchannel: sms\nincompatible_with: [running]\n")
    world_sms = World()
    for i in range(1, 5):
        world_sms.opt(f"C{i:02d}", "sms")
    world_sms.load(datamart)
    [preview] = preview_campaigns(datamart, settings, [other], as_of=AS_OF)
    steps = {s.step: (s.customers, s.removed) for s in preview.funnel}
    assert steps["incompatible"] == (0, 4)


def test_global_holdout_is_held_out_in_every_campaign(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    _world(40).load(datamart)
    holdout = create_global_holdout(
        datamart, percent=10, until=dt.date(2026, 12, 31), seed=9, valid_from=dt.date(2026, 1, 1)
    )
    assert holdout.profiles == 4
    ids = [f"C{i:02d}" for i in range(1, 41)]
    expected = sorted(ids, key=lambda p: hashlib.md5(f"9:{p}".encode()).hexdigest())[:4]
    stored = datamart.records("SELECT profile_id FROM global_holdout ORDER BY profile_id")
    assert [r["profile_id"] for r in stored] == sorted(expected)
    mail = campaign("name: all_mail\nchannel: email\n")
    [execution] = execute_campaigns(datamart, settings, [mail], as_of=AS_OF, out_dir=tmp_path)
    assert execution.contacted == 36
    held = datamart.records(
        "SELECT profile_id FROM contact_history WHERE group_name = 'global_holdout' "
        "AND status = 'held_out' ORDER BY profile_id"
    )
    assert [r["profile_id"] for r in held] == sorted(expected)
    # After the hold-out's period, they are campaigned again.
    [later] = preview_campaigns(
        datamart, settings, [campaign("name: next\nchannel: email\n")], as_of=dt.date(2027, 1, 5)
    )
    assert {s.step: s.removed for s in later.funnel}["global_holdout"] == 0


def test_a_trigger_restricts_the_base_and_is_recorded(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    _world(10).load(datamart)
    fired = ibis.memtable(pa.table({"profile_id": ["C03", "C07", "C99"]}))
    mail = campaign("name: follow_up\nchannel: email\n")
    [execution] = execute_campaigns(
        datamart,
        settings,
        [mail],
        as_of=AS_OF,
        out_dir=tmp_path,
        profiles=fired,
        trigger="birthday",
    )
    assert execution.contacted == 2
    [run] = datamart.records("SELECT trigger FROM campaign_runs")
    assert run["trigger"] == "birthday"
    nobody = ibis.memtable(pa.table({"profile_id": ["C99"]}))
    [empty] = execute_campaigns(
        datamart, settings, [mail], as_of=AS_OF, out_dir=tmp_path, profiles=nobody
    )
    assert empty.contacted == 0 and empty.files == []


def test_a_failed_execution_writes_nothing(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    _world(5).load(datamart)
    good = campaign("name: good\nchannel: email\n")
    bad = campaign(
        "name: bad\nchannel: email\npriority: -1\npriority_by: {score: 'rule:nomodel'}\n"
    )
    with pytest.raises(Exception, match="no scores of scoring model 'nomodel'"):
        execute_campaigns(datamart, settings, [good, bad], as_of=AS_OF, out_dir=tmp_path)
    for table in ("contact_history", "campaign_runs", "campaign_exclusions", "campaigns"):
        assert datamart.sql(f"SELECT count(*) FROM {table}") == [(0,)], table


def test_a_triggered_action_contacts_again_on_another_day_but_not_twice_a_day(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    _world(3).load(datamart)
    fired = ibis.memtable(pa.table({"profile_id": ["C01"]}))
    mail = campaign("name: birthday\nchannel: email\n")

    def run(day: dt.date) -> int:
        [execution] = execute_campaigns(
            datamart, settings, [mail], as_of=day, out_dir=tmp_path, profiles=fired, trigger="b"
        )
        return execution.contacted

    assert run(AS_OF) == 1
    assert run(AS_OF) == 0
    assert run(AS_OF + dt.timedelta(days=365)) == 1
    ids = datamart.sql("SELECT count(DISTINCT contact_id) FROM contact_history")
    assert ids == [(2,)]


def test_execute_reports_the_counts_stored_after_the_files_last_check(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    """The channel file leaves out a contact whose e-mail is opted out for another purpose (the
    campaign checked marketing only) and moves it to dropped: the execution says so too."""
    world = _world()
    world.opt("C20", "email", "opt_out", purpose="service", at=dt.datetime(2025, 6, 1))
    world.load(datamart)
    [execution] = execute_campaigns(
        datamart, settings, [campaign(MAIL)], as_of=AS_OF, out_dir=tmp_path
    )
    [run] = datamart.records("SELECT * FROM campaign_runs")
    stored = (run["contacted"], run["held_out"], run["deferred"], run["dropped"])
    assert stored == (9, 4, 6, 1)
    assert (execution.contacted, execution.held_out, execution.deferred) == stored[:3]
    assert execution.dropped == stored[3]
    statuses = datamart.records("SELECT status, count(*) AS n FROM contact_history GROUP BY 1")
    assert {r["status"]: r["n"] for r in statuses}["dropped"] == 1
