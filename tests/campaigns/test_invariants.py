"""What must always hold, over random small datamarts and campaign settings (hypothesis, DuckDB).

Nobody without consent or on a do-not-contact list is ever planned (so never in a channel file);
no pressure limit is exceeded by a new contact, across campaigns; the control group is never
planned; capacity is never exceeded and is filled in priority order; the funnel adds up.
Campaigns have one channel or two (in order of preference, each with the same capacity).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from clientela.config import CampaignSettings, PressureLimit, Settings
from clientela.datamart import connect, migrate
from clientela.services.campaigns import execute_campaigns
from tests.campaigns.conftest import AS_OF, World, campaign, funnel_adds_up

CHANNELS = ("email", "call", "sms")
CONSENT_OF = {"email": "email", "call": "phone", "sms": "sms"}


@dataclass(frozen=True)
class Customer:
    consents: dict[str, str | None]  # consent channel -> newest status (None: no record)
    dnc_email: bool
    dnc_phone: bool
    contacts: tuple[tuple[str, int], ...]  # (channel, day offset from the as-of date)
    score: float


customers_st = st.builds(
    Customer,
    consents=st.fixed_dictionaries(
        {c: st.sampled_from([None, "opt_in", "opt_out"]) for c in ("email", "phone", "sms")}
    ),
    dnc_email=st.booleans(),
    dnc_phone=st.booleans(),
    contacts=st.lists(st.tuples(st.sampled_from(CHANNELS), st.integers(-10, 6)), max_size=3).map(
        tuple
    ),
    score=st.integers(0, 5).map(float),
)
pressure_st = st.one_of(
    st.builds(
        lambda ch, mx, days: {"channel": ch, "max": mx, "days": days},
        st.sampled_from([None, *CHANNELS]),
        st.integers(1, 3),
        st.integers(1, 10),
    ),
    st.builds(
        lambda ch, gap: {"channel": ch, "min_gap_days": gap},
        st.sampled_from([None, *CHANNELS]),
        st.integers(1, 5),
    ),
)
campaign_st = st.fixed_dictionaries(
    {
        "channels": st.one_of(
            st.sampled_from(CHANNELS).map(lambda c: [c]),
            st.permutations(CHANNELS).map(lambda cs: list(cs[:2])),
        ),
        "priority": st.integers(0, 3),
        "control": st.one_of(st.none(), st.integers(5, 50)),
        "capacity": st.one_of(st.none(), st.tuples(st.integers(1, 4), st.integers(1, 3))),
        "pressure": st.lists(pressure_st, max_size=2),
        "starts_in": st.integers(0, 3),
    }
)


def _yaml(index: int, spec: dict[str, Any]) -> str:
    lines = [
        f"name: c{index}",
        (
            f"channel: {spec['channels'][0]}"
            if len(spec["channels"]) == 1
            else f"channels: [{', '.join(spec['channels'])}]"
        ),
        f"priority: {spec['priority']}",
        f"starts: {(AS_OF + dt.timedelta(days=spec['starts_in'])).isoformat()}",
        "priority_by: {score: 'rule:engage', value: none}",
    ]
    if spec["control"] is not None:
        lines.append(f"control: {{percent: {spec['control']}, seed: {index}}}")
    if spec["capacity"] is not None:
        per_day, days = spec["capacity"]
        one = f"{{per_day: {per_day}, days: {days}}}"
        if len(spec["channels"]) == 1:
            lines.append(f"capacity: {one}")
        else:
            lines.append("capacity: {" + ", ".join(f"{c}: {one}" for c in spec["channels"]) + "}")
    if spec["pressure"]:
        lines.append("pressure:")
        for rule in spec["pressure"]:
            shown = ", ".join(f"{k}: {v}" for k, v in rule.items() if v is not None)
            lines.append(f"  - {{{shown}}}")
    return "\n".join(lines) + "\n"


def _rules(spec: dict[str, Any], limits: list[dict[str, Any]]) -> list[tuple[str | None, int, int]]:
    """(channel, allowed, window days) of every rule a campaign's new contacts obey."""
    found = []
    for rule in [*limits, *spec["pressure"]]:
        if "min_gap_days" in rule:
            found.append((rule["channel"], 1, rule["min_gap_days"]))
        else:
            found.append((rule["channel"], rule["max"], rule["days"]))
    return found


@hyp_settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    people=st.lists(customers_st, min_size=1, max_size=14),
    specs=st.lists(campaign_st, min_size=1, max_size=3),
    limits=st.lists(pressure_st, max_size=2),
)
def test_invariants_hold(
    people: list[Customer], specs: list[dict[str, Any]], limits: list[dict[str, Any]]
) -> None:
    world = World()
    for i, person in enumerate(people):
        cid = f"C{i:02d}"
        world.person(cid)
        for channel, status in person.consents.items():
            if status is not None:
                world.opt(cid, channel, status)
        if person.dnc_email:
            world.do_not_contact.append(("email", f"c{i:02d}@example.com"))
        if person.dnc_phone:
            world.do_not_contact.append(("phone", world.people[-1].phone or ""))
        for channel, offset in person.contacts:
            world.contacts.append(("old", cid, channel, AS_OF + dt.timedelta(days=offset)))
        world.scores[cid] = person.score
    campaigns = [campaign(_yaml(i, spec)) for i, spec in enumerate(specs)]
    global_limits = tuple(PressureLimit(**rule) for rule in limits)
    with tempfile.TemporaryDirectory() as folder:
        config = Settings(
            db=str(Path(folder) / "inv.duckdb"),
            campaigns=CampaignSettings(pressure=global_limits),
        )
        with connect(config) as dm:
            migrate(dm)
            world.load(dm)
            executions = execute_campaigns(
                dm, config, campaigns, as_of=AS_OF, out_dir=Path(folder) / "out"
            )
            rows = dm.records(
                "SELECT campaign, profile_id, channel, status, group_name, planned_for, "
                "priority, run_id FROM contact_history"
            )
    new = [r for r in rows if r["run_id"] != "old"]
    planned = [r for r in rows if r["status"] == "planned"]
    for execution in executions:
        steps = [s for s in execution.funnel if not s.step.startswith("channel:")]
        funnel_adds_up(steps)
        assert steps[-1].customers == execution.contacted
        by_channel = [s for s in execution.funnel if s.step.startswith("channel:")]
        assert sum(s.customers for s in by_channel) == (execution.contacted if by_channel else 0)
    by_name = {f"c{i}": spec for i, spec in enumerate(specs)}
    ordered = sorted(by_name, key=lambda n: (-by_name[n]["priority"], n))
    rank = {name: position for position, name in enumerate(ordered)}
    for row in new:
        person = people[int(row["profile_id"][1:])]
        if row["status"] != "planned":
            continue
        channel = row["channel"]
        assert channel in by_name[row["campaign"]]["channels"], row
        # Consent: e-mail and SMS need an opt-in, calls only no opt-out.
        status = person.consents[CONSENT_OF[channel]]
        assert status == "opt_in" or (channel == "call" and status is None), row
        assert not (channel == "email" and person.dnc_email), row
        assert not (channel in ("call", "sms") and person.dnc_phone), row
        assert row["group_name"] == "target"
        # Pressure: every window holding this contact stays within every rule: the global
        # limits over every contact, the campaign's own over the contacts there were when it
        # planned (the history and the campaigns ranked before it).
        spec = by_name[row["campaign"]]
        before = {n for n in by_name if rank[n] <= rank[row["campaign"]]}
        checks = [(rule, True) for rule in _rules({"pressure": []}, limits)]
        checks += [(rule, False) for rule in _rules({"pressure": spec["pressure"]}, [])]
        for (rule_channel, allowed, days), everywhere in checks:
            if rule_channel is not None and rule_channel != channel:
                continue
            mine = [
                p["planned_for"]
                for p in planned
                if p["profile_id"] == row["profile_id"]
                and (rule_channel is None or p["channel"] == rule_channel)
                and (everywhere or p["run_id"] == "old" or p["campaign"] in before)
            ]
            day = row["planned_for"]
            for start in range(days):
                first = day - dt.timedelta(days=start)
                last = first + dt.timedelta(days=days - 1)
                assert sum(first <= d <= last for d in mine) <= allowed, (row, rule_channel)
    for name, spec in by_name.items():
        mine = [r for r in new if r["campaign"] == name]
        held = {r["profile_id"] for r in mine if r["status"] == "held_out"}
        sent = {r["profile_id"] for r in mine if r["status"] == "planned"}
        assert not held & sent
        assert len({r["profile_id"] for r in mine}) == len(mine)
        if spec["capacity"] is not None:
            per_day, days = spec["capacity"]
            first_day = AS_OF + dt.timedelta(days=spec["starts_in"])
            per: dict[tuple[str, dt.date], int] = {}
            for r in mine:
                if r["status"] == "planned":
                    key = (r["channel"], r["planned_for"])
                    per[key] = per.get(key, 0) + 1
            assert all(n <= per_day for n in per.values())
            assert all(first_day <= d < first_day + dt.timedelta(days=days) for _, d in per)
            for on in spec["channels"]:  # each channel's capacity in priority order
                chosen = [
                    (r["priority"], r["profile_id"])
                    for r in mine
                    if r["status"] == "planned" and r["channel"] == on
                ]
                rest = [
                    (r["priority"], r["profile_id"])
                    for r in mine
                    if r["status"] == "deferred" and r["channel"] == on
                ]
                if not (chosen and rest):
                    continue
                worst = min(chosen, key=lambda x: (x[0], -int(x[1][1:])))
                best_rest = max(rest, key=lambda x: (x[0], -int(x[1][1:])))
                assert (worst[0], -int(worst[1][1:])) > (best_rest[0], -int(best_rest[1][1:]))
