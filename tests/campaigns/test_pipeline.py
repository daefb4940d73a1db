"""The funnel on DuckDB and PostgreSQL: exclusions with their reasons, pressure, control groups,
capacity, priorities between campaigns, each checked against a plain-Python expectation."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from clientela.config import CampaignSettings, PressureLimit, Settings
from clientela.datamart import Datamart
from clientela.errors import ConfigError, DataError
from clientela.services.campaigns import execute_campaigns, preview_campaigns
from tests.campaigns.conftest import AS_OF, World, campaign, email_world, funnel_adds_up


def _steps(preview: object) -> dict[str, tuple[int, int]]:
    return {s.step: (s.customers, s.removed) for s in preview.funnel}  # type: ignore[attr-defined]


def _planned(dm: Datamart, name: str) -> dict[str, str]:
    found = dm.records(
        "SELECT profile_id, status FROM contact_history WHERE campaign = ? ORDER BY profile_id",
        [name],
    )
    return {str(r["profile_id"]): str(r["status"]) for r in found}


def _excluded(dm: Datamart, name: str) -> dict[str, tuple[str, str]]:
    found = dm.records(
        "SELECT profile_id, step, reason FROM campaign_exclusions WHERE campaign = ?", [name]
    )
    return {str(r["profile_id"]): (str(r["step"]), str(r["reason"])) for r in found}


def test_each_exclusion_removes_its_customers_with_the_reason(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    world = email_world(10)
    world.person("C11")  # no consent record: e-mail requires an opt-in
    world.opt("C02", "email", "opt_out", at=dt.datetime(2025, 6, 1))  # newer than the opt-in
    world.opt("C03", "any", "opt_out", purpose=None)  # every channel, every purpose
    world.do_not_contact.append(("email", "c04@example.com"))
    world.people[4].email = None  # C05 has no address
    world.issues.append(("C06", "complaint"))
    world.people[6].birth_date = dt.date(2012, 5, 1)  # C07 is a minor
    world.people[7].region = "South"  # C08 is removed by the custom condition
    # An opt-out recorded after the as-of date is honoured all the same.
    world.opt("C09", "email", "opt_out", at=dt.datetime(2026, 6, 1))
    world.load(datamart)
    mail = campaign(
        """
        name: spring
        channel: email
        exclusions:
          - consent
          - do_not_contact
          - no_address
          - open_issues
          - global_holdout
          - {rule: minors, min_age: 18}
          - {rule: custom, name: southerners, where: {field: region, equals: South}}
        """
    )
    [preview] = preview_campaigns(datamart, settings, [mail], as_of=AS_OF)
    steps = _steps(preview)
    assert steps["base"] == (11, 0)
    assert steps["consent"] == (7, 4)
    assert steps["do_not_contact"] == (6, 1)
    assert steps["no_address"] == (5, 1)
    assert steps["open_issues"] == (4, 1)
    assert steps["minors"] == (3, 1)
    assert steps["southerners"] == (2, 1)
    assert steps["final"] == (2, 0)
    funnel_adds_up(preview.funnel)
    execute_campaigns(datamart, settings, [mail], as_of=AS_OF, out_dir=tmp_path)
    excluded = _excluded(datamart, "spring")
    assert {p: s for p, (s, _) in excluded.items()} == {
        "C02": "consent",
        "C03": "consent",
        "C09": "consent",
        "C11": "consent",
        "C04": "do_not_contact",
        "C05": "no_address",
        "C06": "open_issues",
        "C07": "minors",
        "C08": "southerners",
    }
    assert excluded["C07"][1] == "under 18"
    assert excluded["C04"][1] == "on a do-not-contact list"
    assert _planned(datamart, "spring") == {"C01": "planned", "C10": "planned"}


def test_calls_need_no_opt_in_but_respect_an_opt_out(
    datamart: Datamart, settings: Settings
) -> None:
    world = World()
    for i in range(1, 5):
        world.person(f"C{i:02d}")
    world.opt("C01", "phone", "opt_out")
    world.opt("C02", "email", "opt_out")  # another channel: no matter
    world.do_not_contact.append(("email", "c03@example.com"))  # e-mail list: calls still go
    world.do_not_contact.append(("phone", "+447000004"))
    world.load(datamart)
    call = campaign("name: ring\nchannel: call\n")
    [preview] = preview_campaigns(datamart, settings, [call], as_of=AS_OF)
    assert _steps(preview)["consent"] == (3, 1)
    assert _steps(preview)["do_not_contact"] == (2, 1)
    strict = Settings(db=settings.db, campaigns=CampaignSettings(require_opt_in={"call": True}))
    [preview] = preview_campaigns(datamart, strict, [call], as_of=AS_OF)
    assert _steps(preview)["consent"] == (0, 4)


def test_a_profile_is_excluded_when_any_of_its_records_opted_out(
    datamart: Datamart, settings: Settings
) -> None:
    world = World()
    world.person("C01")
    world.person("C02", profile="C01")  # the same person, another record
    world.opt("C01", "email")
    world.opt("C02", "email", "opt_out")
    world.person("C03")
    world.opt("C03", "email")
    world.load(datamart)
    [preview] = preview_campaigns(
        datamart, settings, [campaign("name: m\nchannel: email\n")], as_of=AS_OF
    )
    assert _steps(preview)["base"] == (2, 0)
    assert _steps(preview)["consent"] == (1, 1)


def _lot_order(seed: int, profiles: list[str]) -> list[str]:
    return sorted(profiles, key=lambda p: (hashlib.md5(f"{seed}:{p}".encode()).hexdigest(), p))


def test_control_group_is_the_seeded_draw_on_every_backend(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    world = World()
    ids = [f"C{i:03d}" for i in range(1, 101)]
    for cid in ids:
        world.person(cid)
        world.opt(cid, "email")
    world.load(datamart)
    mail = campaign(
        """
        name: draw
        channel: email
        control: {percent: 10, seed: 5}
        """
    )
    execute_campaigns(datamart, settings, [mail], as_of=AS_OF, out_dir=tmp_path)
    statuses = _planned(datamart, "draw")
    held = sorted(p for p, s in statuses.items() if s == "held_out")
    # An independent computation: the 10 smallest md5 lots of "seed:profile".
    assert held == sorted(_lot_order(5, ids)[:10])
    assert sum(s == "planned" for s in statuses.values()) == 90
    groups = datamart.records(
        "SELECT DISTINCT group_name, status FROM contact_history ORDER BY group_name"
    )
    assert [(g["group_name"], g["status"]) for g in groups] == [
        ("control", "held_out"),
        ("target", "planned"),
    ]


def test_stratified_control_takes_each_decile_in_proportion(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    world = World()
    for i in range(1, 201):
        cid = f"C{i:03d}"
        world.person(cid)
        world.opt(cid, "email")
        world.scores[cid] = float(i)
    world.load(datamart)
    mail = campaign(
        """
        name: strata
        channel: email
        priority_by: {score: "rule:engage", value: none}
        control: {percent: 10, seed: 1, stratify: decile}
        """
    )
    [preview] = preview_campaigns(datamart, settings, [mail], as_of=AS_OF, sample=0)
    assert preview.counts["held_out"] == 20
    execute_campaigns(datamart, settings, [mail], as_of=AS_OF, out_dir=tmp_path)
    per_decile = datamart.records(
        "SELECT score_decile, count(*) AS n FROM contact_history WHERE status = 'held_out' "
        "GROUP BY score_decile ORDER BY score_decile"
    )
    assert [int(r["n"]) for r in per_decile] == [2] * 10
    top = datamart.records(
        "SELECT profile_id FROM contact_history WHERE score_decile = 1 ORDER BY profile_id"
    )
    assert [r["profile_id"] for r in top] == [f"C{i:03d}" for i in range(181, 201)]


def test_capacity_fills_day_by_day_in_priority_order(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    world = World()
    for i in range(1, 31):
        cid = f"C{i:02d}"
        world.person(cid)
        world.scores[cid] = float(i % 7)  # ties, broken by profile id
    world.load(datamart)
    call = campaign(
        """
        name: calls
        channel: call
        starts: 2026-03-02
        priority_by: {score: "rule:engage", value: none}
        capacity: {per_day: 8, days: 3, overflow: drop}
        """
    )
    [execution] = execute_campaigns(datamart, settings, [call], as_of=AS_OF, out_dir=tmp_path)
    assert (execution.contacted, execution.dropped) == (24, 6)
    found = datamart.records("SELECT profile_id, status, planned_for, reason FROM contact_history")
    expected = sorted(world.scores, key=lambda p: (-world.scores[p], p))
    by_profile = {r["profile_id"]: r for r in found}
    for position, profile in enumerate(expected):
        row = by_profile[profile]
        if position < 24:
            assert row["status"] == "planned"
            assert row["planned_for"] == dt.date(2026, 3, 2) + dt.timedelta(days=position // 8)
        else:
            assert row["status"] == "dropped"
            assert row["planned_for"] is None
            assert row["reason"] == "over capacity: 8 a day for 3 days"
    funnel_adds_up(execution.funnel)


def test_pressure_counts_history_and_earlier_campaigns_and_priority_wins(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    world = email_world(6)
    day = AS_OF
    # C01: two e-mails in the last week; C02: one e-mail 2 days ago; C03: one 10 days ago.
    world.contacts += [
        ("old", "C01", "email", day - dt.timedelta(days=1)),
        ("old", "C01", "email", day - dt.timedelta(days=3)),
        ("old", "C02", "email", day - dt.timedelta(days=2)),
        ("old", "C03", "email", day - dt.timedelta(days=10)),
        ("old", "C04", "call", day + dt.timedelta(days=2)),  # planned for the future
    ]
    world.load(datamart)
    low = campaign(
        """
        name: low
        channel: email
        priority: 1
        pressure: [{channel: email, max: 2, days: 7}]
        """
    )
    high = campaign(
        """
        name: high
        channel: email
        priority: 9
        pressure: [{channel: email, max: 2, days: 7}]
        """
    )
    limited = Settings(
        db=settings.db,
        campaigns=CampaignSettings(pressure=(PressureLimit(max=1, days=5),)),
    )
    previews = preview_campaigns(datamart, limited, [low, high], as_of=AS_OF)
    assert [p.campaign.name for p in previews] == ["high", "low"]
    first, second = previews
    # Global limit: at most 1 contact in 5 days: C01, C02 and C04 (a call in 2 days) are full.
    assert _steps(first)["pressure"] == (3, 3)
    # The high-priority campaign took C03, C05, C06: the low one finds them full too.
    assert _steps(second)["pressure"] == (0, 6)
    execute_campaigns(datamart, limited, [low, high], as_of=AS_OF, out_dir=tmp_path)
    assert set(_planned(datamart, "high")) == {"C03", "C05", "C06"}
    assert _planned(datamart, "low") == {}
    reasons = {r for _, r in _excluded(datamart, "low").values()}
    assert reasons == {"at most 1 contacts in 5 days (any channel)"}


def test_minimum_gap_between_calls(datamart: Datamart, settings: Settings) -> None:
    world = World()
    for i in range(1, 4):
        world.person(f"C{i:02d}")
    world.contacts += [
        ("old", "C01", "call", AS_OF - dt.timedelta(days=2)),  # too recent
        ("old", "C02", "call", AS_OF - dt.timedelta(days=3)),  # exactly 3 days: fine
    ]
    world.load(datamart)
    call = campaign("name: gap\nchannel: call\npressure: [{channel: call, min_gap_days: 3}]\n")
    [preview] = preview_campaigns(datamart, settings, [call], as_of=AS_OF)
    assert _steps(preview)["pressure"] == (2, 1)


def test_empty_target_is_a_clear_error(datamart: Datamart, settings: Settings) -> None:
    world = World()
    world.person("C01", region="North")
    world.load(datamart)
    nobody = campaign(
        "name: nobody\nchannel: email\ntarget: {field: region, equals: Atlantis}\n",
        source=Path("nobody.yaml"),
    )
    with pytest.raises(DataError, match="selects nobody among the 1 profiles"):
        preview_campaigns(datamart, settings, [nobody], as_of=AS_OF)


def test_unknown_priority_kpi_is_named(datamart: Datamart, settings: Settings) -> None:
    World(people=[]).load(datamart)
    world = World()
    world.person("C01")
    world.load(datamart)
    wrong = campaign(
        "name: w\nchannel: call\npriority_by: {score: none, value: contributon}\n",
        source=Path("w.yaml"),
    )
    with pytest.raises(
        ConfigError, match="unknown KPI 'contributon' \\(did you mean 'contribution'"
    ):
        preview_campaigns(datamart, settings, [wrong], as_of=AS_OF)


def test_unknown_priority_model_suggests_the_scored_ones(
    datamart: Datamart, settings: Settings
) -> None:
    world = World()
    world.person("C01")
    world.scores["C01"] = 1.0
    world.load(datamart)
    wrong = campaign(
        "name: w\nchannel: call\npriority_by: {score: 'rule:engag', value: none}\n",
        source=Path("w.yaml"),
    )
    with pytest.raises(ConfigError) as caught:
        preview_campaigns(datamart, settings, [wrong], as_of=AS_OF)
    assert str(caught.value) == (
        "w.yaml: 'priority_by.score': no scores of scoring model 'engag' on or before "
        f"{AS_OF} (did you mean 'engage'?); the models with scores are: engage"
    )


def test_an_ended_campaign_is_refused(datamart: Datamart, settings: Settings) -> None:
    over = campaign("name: over\nchannel: call\nstarts: 2025-01-01\nends: 2025-02-01\n")
    with pytest.raises(ConfigError, match="ended on 2025-02-01"):
        preview_campaigns(datamart, settings, [over], as_of=AS_OF)


def test_the_same_campaign_twice_in_one_run_is_refused(
    datamart: Datamart, settings: Settings
) -> None:
    twice = campaign("name: twice\nchannel: call\n")
    with pytest.raises(ConfigError, match="campaign 'twice' is given twice"):
        preview_campaigns(datamart, settings, [twice, twice], as_of=AS_OF)


@pytest.mark.parametrize(
    ("channel", "contactable"),
    [
        ("mail", {"C01", "C03"}),
        ("ads", {"C01", "C02", "C03"}),
        ("push", {"C01", "C02", "C03", "C04"}),
    ],
)
def test_each_channel_needs_its_own_address(
    datamart: Datamart, settings: Settings, channel: str, contactable: set[str]
) -> None:
    world = World()
    world.person("C01")
    world.person("C02", address=None)
    world.person("C03", email=None)
    world.person("C04", email=None, phone=None, postal_code=None)
    for cid in ("C01", "C02", "C03", "C04"):
        world.opt(cid, channel)
    world.load(datamart)
    [preview] = preview_campaigns(
        datamart, settings, [campaign(f"name: c\nchannel: {channel}\n")], as_of=AS_OF, sample=10
    )
    assert {row["profile_id"] for row in preview.sample} == contactable


def test_a_saved_segment_as_the_target(datamart: Datamart, settings: Settings) -> None:
    from clientela.errors import NotFoundError
    from clientela.segments.definition import parse_segment_text
    from clientela.services._segment_store import store_segment

    world = World()
    for i in range(1, 7):
        world.person(f"C{i:02d}", region="North" if i % 2 else "South")
        world.opt(f"C{i:02d}", "email")
    world.load(datamart)
    store_segment(
        datamart, "northerners", parse_segment_text("where: {field: region, equals: North}")
    )
    [preview] = preview_campaigns(
        datamart,
        settings,
        [campaign("name: s\nchannel: email\nsegment: northerners\n")],
        as_of=AS_OF,
    )
    assert _steps(preview)["target"] == (3, 3)
    with pytest.raises(NotFoundError, match="did you mean 'northerners'"):
        preview_campaigns(
            datamart,
            settings,
            [campaign("name: s\nchannel: email\nsegment: northerner\n")],
            as_of=AS_OF,
        )


def test_incompatible_campaigns_in_one_run_leave_the_customer_to_the_higher_priority(
    datamart: Datamart, settings: Settings
) -> None:
    world = email_world(4)
    for i in range(1, 5):
        world.opt(f"C{i:02d}", "sms")
    world.load(datamart)
    sms = campaign("name: sms_offer\nchannel: sms\npriority: 1\n")
    mail = campaign(
        "name: mail_offer\nchannel: email\npriority: 5\nincompatible_with: [sms_offer]\n"
    )
    first, second = preview_campaigns(datamart, settings, [sms, mail], as_of=AS_OF)
    assert (first.campaign.name, second.campaign.name) == ("mail_offer", "sms_offer")
    assert _steps(first)["final"] == (4, 0)
    # The SMS campaign lists nothing, but the e-mail one lists it: incompatible both ways.
    assert _steps(second)["incompatible"] == (0, 4)


def test_capacity_stops_at_the_campaign_end(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    world = World()
    for i in range(1, 11):
        world.person(f"C{i:02d}")
    world.load(datamart)
    short = campaign(
        "name: short\nchannel: call\nends: 2026-03-02\ncapacity: {per_day: 3, days: 10}\n"
    )
    [execution] = execute_campaigns(datamart, settings, [short], as_of=AS_OF, out_dir=tmp_path)
    assert (execution.contacted, execution.deferred) == (6, 4)
    days = datamart.sql("SELECT max(planned_for) FROM contact_history WHERE status = 'planned'")
    assert days == [(dt.date(2026, 3, 2),)]
