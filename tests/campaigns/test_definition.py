"""Campaign files: what they hold, the errors a mistake gets (file, line, suggestion), versions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from clientela.campaigns.definition import (
    MANDATORY_EXCLUSIONS,
    Campaign,
    Capacity,
    Control,
    Offer,
    PressureRule,
    parse_campaign_file,
)
from clientela.datamart import Datamart
from clientela.errors import ConfigError, NotFoundError
from clientela.services.campaigns import load_campaign, save_campaign
from tests.campaigns.conftest import campaign
from tests.conftest import REPO

EXAMPLES = REPO / "examples" / "campaigns"


def test_the_call_centre_example_reads_whole() -> None:
    call = parse_campaign_file(EXAMPLES / "retention_call.yaml")
    assert call.name == "retention_call" and call.channel == "call"
    assert call.starts == dt.date(2026, 7, 1) and call.ends == dt.date(2026, 7, 31)
    offer = call.offers[0]
    assert offer.offer_id == "LOYAL20" and offer.product == "voucher"
    assert len(offer.arguments) == 2 and offer.script and "loyalty voucher" in offer.script
    assert call.capacity == Capacity(per_day=20, days=5, overflow="defer")
    assert call.control == Control(percent=10, seed=42, stratify="decile")
    assert PressureRule(channel="call", min_gap_days=14) in call.pressure
    assert [e.name for e in call.exclusions] == [
        "consent",
        "do_not_contact",
        "no_address",
        "open_issues",
        "global_holdout",
        "minors",
        "incompatible",
    ]
    assert call.exclusions[3].kinds == ("complaint", "incident")
    assert (call.cost_per_contact, call.fixed_cost) == (4.5, 200)
    assert call.text == (EXAMPLES / "retention_call.yaml").read_text()
    assert call.target is not None


def test_defaults_and_the_mandatory_exclusions_first() -> None:
    mail = campaign(
        """
        name: plain
        channel: email
        exclusions: [{rule: minors, min_age: 16}, consent]
        """
    )
    assert [e.name for e in mail.exclusions] == [
        "do_not_contact",
        "no_address",
        "global_holdout",
        "minors",
        "consent",
    ]
    assert set(MANDATORY_EXCLUSIONS) <= {e.rule for e in mail.exclusions}
    assert mail.exclusions[3].min_age == 16
    assert (mail.response_window_days, mail.attribution, mail.attribute_by) == (30, "last", "any")
    assert mail.priority_by.label == "rfm x contribution"
    assert mail.capacity is None and mail.control is None


def test_the_python_api_builds_campaigns_too() -> None:
    built = Campaign(name="api", channel="sms", offers=(Offer("O1", "One"),), priority=3)
    assert built.offer == Offer("O1", "One")
    assert built.rank() < Campaign(name="b", channel="sms", priority=1).rank()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "name: x\nchannel: email\ncontrl: {percent: 5}\n",
            "line 3: unknown key 'contrl' (did you mean 'control'?)",
        ),
        ("name: x\nchannel: fax\n", "line 2: 'channel': Input should be"),
        ("name: x\nchannel: emial\n", "(got 'emial') (did you mean 'email'?)"),
        (
            "name: x\nchannel: call\ncapacity:\n  per_day: 0\n",
            "line 4: 'capacity.per_day': capacity per_day must be positive",
        ),
        ("name: x\nchannel: call\ncontrol: {seed: 3}\n", "exactly one of 'percent' or 'count'"),
        (
            "name: x\nchannel: call\nexclusions:\n  - {rule: custom, name: c}\n",
            "a custom exclusion needs a 'name' and a 'where' condition",
        ),
        ("name: x\nchannel: call\nexclusions: [consnt]\n", "line 3: 'exclusions.0.rule'"),
        ("name: x\nchannel: call\nexclusions: [consnt]\n", "(did you mean 'consent'?)"),
        (
            "name: x\nchannel: call\npressure:\n  - {channel: call, max: 2}\n",
            "needs 'max' and 'days'",
        ),
        (
            "name: x\nchannel: call\nstarts: 2026-02-01\nends: 2026-01-01\n",
            "ends (2026-01-01) before",
        ),
        ("name: 1x\nchannel: call\n", "a campaign name starts with a letter"),
        ("name: x\nchannel: call\nexclusions: [consent, consent]\n", "listed twice"),
        ("name: x\nchannel: call\nsegment: s\ntarget: {field: region, equals: N}\n", "not both"),
    ],
)
def test_mistakes_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        parse_campaign_file(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_a_missing_or_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        parse_campaign_file(tmp_path / "absent.yaml")
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(ConfigError, match="the file is empty"):
        parse_campaign_file(tmp_path / "empty.yaml")


def test_versions_grow_only_when_the_text_changes(datamart: Datamart) -> None:
    first = campaign("name: v\nchannel: email\n")
    assert save_campaign(datamart, first) == 1
    assert save_campaign(datamart, first) == 1
    changed = campaign("name: v\nchannel: email\npriority: 2\n")
    assert save_campaign(datamart, changed) == 2
    assert load_campaign(datamart, "v").priority == 2
    assert load_campaign(datamart, "v", 1).priority == 0
    with pytest.raises(NotFoundError, match="no campaign 'w'"):
        load_campaign(datamart, "w")
    with pytest.raises(NotFoundError, match="has no version 7"):
        load_campaign(datamart, "v", 7)
    with pytest.raises(NotFoundError, match="did you mean 'v'"):
        load_campaign(datamart, "vv")


def test_a_campaign_built_in_python_is_stored_as_yaml_that_reads_back(
    datamart: Datamart,
) -> None:
    from clientela.campaigns.definition import Exclusion, PriorityBy
    from clientela.campaigns.targeting import parse_target

    built = Campaign(
        name="api",
        channel="call",
        objective="from code",
        starts=dt.date(2026, 7, 1),
        offers=(Offer("O1", "One", ("because",), "say hello", "voucher"),),
        target=parse_target({"field": "region", "equals": "North"}),
        exclusions=(
            Exclusion("consent", "consent"),
            Exclusion("open_issues", "open_issues", kinds=("complaint",)),
            Exclusion("minors", "minors", min_age=21),
            Exclusion(
                "custom", "southerners", target=parse_target({"field": "region", "equals": "South"})
            ),
        ),
        pressure=(PressureRule(channel="call", min_gap_days=3), PressureRule(max=4, days=30)),
        control=Control(percent=10, seed=4, stratify="decile"),
        capacity=Capacity(per_day=50, days=3, overflow="drop"),
        priority=4,
        priority_by=PriorityBy("none", "revenue"),
        incompatible_with=("other",),
    )
    assert built.text.startswith("name: api\nchannel: call\n")
    assert save_campaign(datamart, built) == 1
    loaded = load_campaign(datamart, "api")
    for key in (
        "name",
        "channel",
        "objective",
        "starts",
        "offers",
        "pressure",
        "control",
        "capacity",
        "priority",
        "priority_by",
        "incompatible_with",
        "attribution",
    ):
        assert getattr(loaded, key) == getattr(built, key), key
    assert [e.name for e in loaded.exclusions] == [
        "do_not_contact",
        "no_address",
        "global_holdout",
        "consent",
        "open_issues",
        "minors",
        "southerners",
        "incompatible",
    ]
    assert loaded.exclusions[5].min_age == 21
    assert loaded.target is not None and loaded.target.text == built.target.text


def test_a_campaign_built_in_python_keeps_the_legal_exclusions() -> None:
    built = Campaign(name="bare", channel="email", incompatible_with=("x",))
    assert [e.rule for e in built.exclusions] == [*MANDATORY_EXCLUSIONS, "incompatible"]
