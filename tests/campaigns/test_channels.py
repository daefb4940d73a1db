"""Campaigns on several channels, on DuckDB and PostgreSQL: each profile on the first channel of
the list it can be contacted on, per-channel capacity, one set of files per channel."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from clientela.campaigns.definition import Campaign, campaign_yaml, parse_campaign_text
from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.errors import ConfigError
from clientela.services.campaigns import execute_campaigns, preview_campaigns
from tests.campaigns.conftest import AS_OF, World, campaign, funnel_adds_up


def _steps(preview: object) -> dict[str, tuple[int, int]]:
    return {s.step: (s.customers, s.removed) for s in preview.funnel}  # type: ignore[attr-defined]


def _contacts(dm: Datamart, name: str) -> dict[str, tuple[str, str]]:
    found = dm.records(
        "SELECT profile_id, status, channel FROM contact_history WHERE campaign = ?", [name]
    )
    return {str(r["profile_id"]): (str(r["status"]), str(r["channel"])) for r in found}


def _world() -> World:
    """C01-C06 opted in to e-mail and SMS; C07 and C08 to SMS only; C09 to e-mail only, no
    phone; C10 to neither."""
    world = World()
    for i in range(1, 11):
        cid = f"C{i:02d}"
        world.person(cid)
        if i <= 6 or i == 9:
            world.opt(cid, "email")
        if i <= 8:
            world.opt(cid, "sms")
    world.people[8].phone = None
    return world


EMAIL_THEN_SMS = """
    name: both
    channels: [email, sms]
    priority_by: {score: none, value: none}
    """


def test_the_first_contactable_channel_is_chosen(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    _world().load(datamart)
    both = campaign(EMAIL_THEN_SMS)
    [preview] = preview_campaigns(datamart, settings, [both], as_of=AS_OF)
    steps = _steps(preview)
    # C10 has no consent on either channel: removed (with the e-mail reason).
    assert steps["consent"] == (9, 1)
    assert steps["final"] == (9, 0)
    assert steps["channel:email"] == (7, 0)
    assert steps["channel:sms"] == (2, 0)
    funnel_adds_up([s for s in preview.funnel if not s.step.startswith("channel:")])
    execute_campaigns(datamart, settings, [both], as_of=AS_OF, out_dir=tmp_path)
    contacts = _contacts(datamart, "both")
    expected = {f"C{i:02d}": ("planned", "email") for i in (1, 2, 3, 4, 5, 6, 9)}
    expected |= {"C07": ("planned", "sms"), "C08": ("planned", "sms")}
    assert contacts == expected
    [(step, reason)] = datamart.sql(
        "SELECT step, reason FROM campaign_exclusions WHERE campaign = 'both'"
    )
    assert step == "consent" and reason.startswith("no consent for email")


def test_preference_order_is_respected(datamart: Datamart, settings: Settings) -> None:
    _world().load(datamart)
    sms_first = campaign(EMAIL_THEN_SMS.replace("[email, sms]", "[sms, email]"))
    [preview] = preview_campaigns(datamart, settings, [sms_first], as_of=AS_OF)
    steps = _steps(preview)
    # Everyone with an SMS consent and a phone goes by SMS; C09 (no phone) by e-mail.
    assert steps["channel:sms"] == (8, 0)
    assert steps["channel:email"] == (1, 0)
    assert {s["profile_id"]: s["channel"] for s in preview.sample} == {
        **{f"C{i:02d}": "sms" for i in range(1, 9)},
        "C09": "email",
    }


def test_a_profile_excluded_on_every_channel_gets_its_first_channels_reason(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    world = _world()
    # C07 (SMS only) is also on the do-not-contact list for its phone.
    world.do_not_contact.append(("phone", world.people[6].phone or ""))
    world.load(datamart)
    both = campaign(EMAIL_THEN_SMS)
    [preview] = preview_campaigns(datamart, settings, [both], as_of=AS_OF)
    assert _steps(preview)["do_not_contact"] == (8, 1)
    execute_campaigns(datamart, settings, [both], as_of=AS_OF, out_dir=tmp_path)
    found = datamart.records(
        "SELECT profile_id, step, reason FROM campaign_exclusions WHERE campaign = 'both' "
        "ORDER BY profile_id"
    )
    assert [(r["profile_id"], r["step"]) for r in found] == [
        ("C07", "do_not_contact"),
        ("C10", "consent"),
    ]
    # C07 lost e-mail first (no consent): that is the reason recorded.
    assert str(found[0]["reason"]).startswith("no consent for email")


def test_capacity_per_channel_overflows_to_the_next_channel(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    _world().load(datamart)
    both = campaign(
        """
        name: both
        channels: [email, sms]
        priority_by: {score: none, value: none}
        capacity:
          email: {per_day: 2, days: 2}
          sms: {per_day: 3, days: 1, overflow: drop}
        """
    )
    [preview] = preview_campaigns(datamart, settings, [both], as_of=AS_OF)
    steps = _steps(preview)
    # E-mail takes 4 (C01-C04, by profile id); C05 and C06 overflow to SMS with C07, C08: SMS
    # takes 3 and drops C08; C09 (e-mail only) waits for e-mail room: deferred.
    assert steps["channel:email"] == (4, 0)
    assert steps["channel:sms"] == (3, 0)
    assert steps["final"] == (7, 0)
    execute_campaigns(datamart, settings, [both], as_of=AS_OF, out_dir=tmp_path)
    contacts = _contacts(datamart, "both")
    assert contacts == {
        "C01": ("planned", "email"),
        "C02": ("planned", "email"),
        "C03": ("planned", "email"),
        "C04": ("planned", "email"),
        "C05": ("planned", "sms"),
        "C06": ("planned", "sms"),
        "C07": ("planned", "sms"),
        "C08": ("dropped", "sms"),
        "C09": ("deferred", "email"),
    }
    days = datamart.records(
        "SELECT channel, planned_for, COUNT(*) AS n FROM contact_history "
        "WHERE campaign = 'both' AND status = 'planned' GROUP BY channel, planned_for"
    )
    per_day = {(str(r["channel"]), r["planned_for"]): int(r["n"]) for r in days}
    assert per_day == {
        ("email", AS_OF): 2,
        ("email", AS_OF + dt.timedelta(days=1)): 2,
        ("sms", AS_OF): 3,
    }


def test_files_are_written_per_channel(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    _world().load(datamart)
    both = campaign(EMAIL_THEN_SMS)
    [run] = execute_campaigns(datamart, settings, [both], as_of=AS_OF, out_dir=tmp_path)
    names = sorted(p.name for p in run.files if p.suffix == ".csv")
    assert any("_email_" in n for n in names) and any("_sms_" in n for n in names)
    email_file = next(p for p in run.files if "_email_" in p.name and p.suffix == ".csv")
    sms_file = next(p for p in run.files if "_sms_" in p.name and p.suffix == ".csv")
    assert len(email_file.read_text().splitlines()) == 1 + 7
    assert len(sms_file.read_text().splitlines()) == 1 + 2
    assert run.contacted == 9


def test_the_control_group_is_drawn_once_before_the_channels(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    _world().load(datamart)
    both = campaign(EMAIL_THEN_SMS + "control: {count: 3, seed: 5}\n")
    [run] = execute_campaigns(datamart, settings, [both], as_of=AS_OF, out_dir=tmp_path)
    contacts = _contacts(datamart, "both")
    held = [p for p, (status, _) in contacts.items() if status == "held_out"]
    assert len(held) == 3 and run.held_out == 3 and run.contacted == 6
    for profile in held:  # held out on the channel they would have had first
        assert contacts[profile][1] == ("sms" if profile in ("C07", "C08") else "email")


def test_pressure_closes_a_channel_not_the_profile(datamart: Datamart, settings: Settings) -> None:
    world = _world()
    world.contacts.append(("earlier", "C01", "email", AS_OF - dt.timedelta(days=1)))
    world.load(datamart)
    both = campaign(EMAIL_THEN_SMS + "pressure: [{channel: email, max: 1, days: 7}]\n")
    [preview] = preview_campaigns(datamart, settings, [both], as_of=AS_OF)
    assert _steps(preview)["pressure"] == (9, 0)
    channels = {s["profile_id"]: s["channel"] for s in preview.sample}
    assert channels["C01"] == "sms"


def test_channel_and_channels_parse_and_round_trip() -> None:
    one = campaign("name: one\nchannel: sms\n")
    assert one.channels == ("sms",) and one.capacity_for("sms") is None
    two = campaign(
        """
        name: two
        channels: [email, call]
        capacity: {email: {per_day: 5000, days: 3}, call: {per_day: 500, days: 10}}
        """
    )
    assert two.channel == "email" and two.channels == ("email", "call")
    capacity = two.capacity_for("call")
    assert capacity is not None and capacity.per_day == 500 and capacity.days == 10
    back = parse_campaign_text(campaign_yaml(two))
    assert back.channels == two.channels and back.channel_capacity == two.channel_capacity
    built = Campaign(name="py", channel="email", channels=("email", "sms"))
    assert parse_campaign_text(built.text).channels == ("email", "sms")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "name: x\nchannel: email\nchannels: [email, sms]\n",
            "x.yaml, line 3: give 'channel' or 'channels', not both",
        ),
        ("name: x\nchannels: [email, email]\n", "line 2: the channel 'email' is listed twice"),
        (
            "name: x\nchannels: [email, sms]\ncapacity: {per_day: 3}\n",
            "line 3: with several channels, give the capacity per channel",
        ),
        (
            "name: x\nchannels: [email, sms]\ncapacity:\n  call: {per_day: 3}\n",
            "line 4: capacity for 'call', which is not a channel of the campaign (email, sms)",
        ),
        ("name: x\n", "a campaign needs 'channel' (or 'channels', in order of preference)"),
        ("name: x\nchannels: []\n", "line 2: 'channels'"),
    ],
)
def test_bad_channels_are_refused_with_the_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_campaign_text(text, source="x.yaml")
    assert message in str(caught.value)
