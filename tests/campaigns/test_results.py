"""Campaign results on both backends, checked against an independent computation (pandas and
scipy), a planted uplift recovered within its interval, the reports and the CLI contract."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from scipy import stats

from clientela.campaigns._results import newcombe_interval
from clientela.config import Settings
from clientela.datamart import Datamart, connect, migrate
from clientela.errors import ConfigError, NotFoundError
from clientela.exports.campaign_report import write_results_html, write_results_workbook
from clientela.services.campaign_results import ResultRule, campaign_results, results_as_of
from tests.campaigns._response_data import AS_OF, CONTACT_COLUMNS, contact, insert, load_spring

POSITIVE = {"click", "accepted", "purchase"}


def _expected_newcombe(r1: int, n1: int, r0: int, n0: int) -> tuple[float, float]:
    """Newcombe's interval from scipy's Wilson intervals (not the code under test)."""
    ci1 = stats.binomtest(r1, n1).proportion_ci(0.95, method="wilson")
    ci0 = stats.binomtest(r0, n0).proportion_ci(0.95, method="wilson")
    p1, p0 = r1 / n1, r0 / n0
    low = p1 - p0 - np.sqrt((p1 - ci1.low) ** 2 + (ci0.high - p0) ** 2)
    high = p1 - p0 + np.sqrt((ci1.high - p1) ** 2 + (p0 - ci0.low) ** 2)
    return float(low), float(high)


def _random_campaign(dm: Datamart, seed: int) -> pd.DataFrame:
    """300 target and 150 control profiles with random responses and purchases; one row per
    profile with what the independent computation needs."""
    rng = np.random.default_rng(seed)
    n = 450
    profiles = pd.DataFrame(
        {
            "profile_id": [f"c{i:04d}" for i in range(n)],
            "group": ["target"] * 300 + ["control"] * 150,
            "decile": rng.integers(1, 11, n),
            "day": [
                dt.date(2026, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 20, n)
            ],
        }
    )
    insert(dm, "contact_history", CONTACT_COLUMNS, [
        contact(f"k{i}", p.profile_id, p.group, "planned" if p.group == "target" else "held_out",
                day=p.day, decile=int(p.decile))
        for i, p in enumerate(profiles.itertuples())
    ])  # fmt: skip
    responses, purchases = [], []
    for i, p in enumerate(profiles.itertuples()):
        if p.group == "target" and rng.random() < 0.3:  # the control group gets no e-mail
            kind = str(rng.choice(["open", "click", "accepted", "rejected"]))
            at = dt.datetime.combine(p.day, dt.time(12)) + dt.timedelta(
                days=int(rng.integers(0, 5))
            )
            responses.append((f"r{i}", "spring", p.profile_id, f"k{i}", at, kind, "file"))
        for j in range(int(rng.poisson(0.4 if p.group == "target" else 0.3))):
            offset = int(rng.integers(-10, 45))  # some before the contact, some after the window
            at = dt.datetime.combine(p.day, dt.time(9)) + dt.timedelta(days=offset)
            amount = float(rng.integers(5, 100))
            purchases.append((f"t{i}_{j}", f"o{i}_{j}", p.profile_id, at, amount, amount * 0.4))
    rs = "response_id campaign customer_id contact_id responded_at kind source"
    insert(dm, "responses", rs, responses)
    tx = "transaction_id order_id customer_id occurred_at amount margin"
    insert(dm, "transactions", tx, purchases)
    # The independent computation: every purchase in [day, day + 30] before AS_OF counts.
    frame = pd.DataFrame(purchases, columns=["id", "order", "profile_id", "at", "amount", "margin"])
    frame = frame.merge(profiles, on="profile_id")
    start = pd.to_datetime(frame.day)
    at = frame["at"]
    in_window = (at >= start) & (at < start + pd.Timedelta(days=31)) & (at < pd.Timestamp(AS_OF))
    bought = frame[in_window].groupby("profile_id")[["amount", "margin"]].sum()
    answered = pd.DataFrame(responses, columns=["id", "c", "profile_id", "k", "at", "kind", "s"])
    positive = set(answered[answered.kind.isin(POSITIVE)].profile_id)
    converted = set(answered[answered.kind == "accepted"].profile_id)
    profiles = profiles.set_index("profile_id").join(bought).fillna({"amount": 0, "margin": 0})
    profiles["responded"] = profiles.index.isin(positive) | (profiles.amount > 0)
    profiles["converted"] = profiles.index.isin(converted) | (profiles.amount > 0)
    return profiles


@pytest.mark.parametrize("seed", [1, 2])
def test_results_match_an_independent_computation(
    datamart: Datamart, settings: Settings, seed: int
) -> None:
    expected = _random_campaign(datamart, seed)
    rule = ResultRule(attribution="every", cost_per_contact=0.5, fixed_cost=20.0)
    found = campaign_results(datamart, settings, "spring", as_of=AS_OF, rule=rule, by=["decile"])
    groups = expected.groupby("group").agg(
        customers=("responded", "size"),
        responders=("responded", "sum"),
        converters=("converted", "sum"),
        revenue=("amount", "sum"),
        margin=("margin", "sum"),
    )
    t, c = groups.loc["target"], groups.loc["control"]
    assert (found.target.customers, found.control.customers) == (300, 150)
    assert (found.target.responders, found.control.responders) == (t.responders, c.responders)
    assert (found.target.converters, found.control.converters) == (t.converters, c.converters)
    assert found.target.revenue == pytest.approx(t.revenue)
    assert found.control.margin == pytest.approx(c.margin)
    p1, p0 = t.responders / 300, c.responders / 150
    assert found.uplift == pytest.approx(p1 - p0)
    assert (found.ci_low, found.ci_high) == pytest.approx(
        _expected_newcombe(int(t.responders), 300, int(c.responders), 150)
    )
    # The pooled two-proportion z-test is the chi-square test of the 2x2 table, uncorrected.
    table = [[t.responders, 300 - t.responders], [c.responders, 150 - c.responders]]
    assert found.p_value == pytest.approx(stats.chi2_contingency(table, correction=False)[1])
    incremental_margin = (t.margin / 300 - c.margin / 150) * 300
    assert found.incremental_revenue == pytest.approx((t.revenue / 300 - c.revenue / 150) * 300)
    assert found.incremental_margin == pytest.approx(incremental_margin)
    cost = 0.5 * 300 + 20.0
    assert found.cost == pytest.approx(cost)
    assert found.roi == pytest.approx((incremental_margin - cost) / cost)
    by_decile = expected.groupby(["decile", "group"]).responded.agg(["size", "sum"])
    for row in found.breakdowns["decile"]:
        decile = int(row.key)
        assert row.target.customers == by_decile.loc[(decile, "target"), "size"]
        assert row.control.responders == by_decile.loc[(decile, "control"), "sum"]
    assert sum(r.target.customers for r in found.breakdowns["decile"]) == 300


@hypothesis_settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    targets=st.integers(1_000, 3_000),
    controls=st.integers(400, 1_500),
    base_rate=st.floats(0.02, 0.4),
    effect=st.floats(-0.02, 0.15),
)
def test_a_planted_uplift_is_recovered_within_its_interval(
    datamart: Datamart,
    settings: Settings,
    targets: int,
    controls: int,
    base_rate: float,
    effect: float,
) -> None:
    datamart.sql("DELETE FROM contact_history")
    datamart.sql("DELETE FROM responses")
    control_responders = round(base_rate * controls)
    target_responders = round((base_rate + effect) * targets)
    planted = target_responders / targets - control_responders / controls
    contacts = [
        contact(f"t{i}", f"t{i}", "target", "planned", decile=i % 10 + 1) for i in range(targets)
    ] + [
        contact(f"c{i}", f"c{i}", "control", "held_out", decile=i % 10 + 1) for i in range(controls)
    ]
    insert(datamart, "contact_history", CONTACT_COLUMNS, contacts)
    rs = "response_id campaign customer_id contact_id responded_at kind"
    at = dt.datetime(2026, 1, 11)
    responses = [
        (f"rt{i}", "spring", f"t{i}", f"t{i}", at, "click") for i in range(target_responders)
    ]
    # Held-out customers answer outside the campaign (a purchase reported by the shop).
    responses += [
        (f"rc{i}", "spring", f"c{i}", None, at, "purchase") for i in range(control_responders)
    ]
    insert(datamart, "responses", rs, responses)
    found = campaign_results(datamart, settings, "spring", as_of=AS_OF, by=[])
    assert found.uplift == pytest.approx(planted)
    assert abs(planted - effect) <= 1 / targets + 1 / controls
    assert found.ci_low is not None and found.ci_high is not None
    assert found.ci_low <= effect <= found.ci_high
    assert found.ci_high - found.ci_low < 0.15  # informative at these sizes
    if found.ci_low > 0:
        assert found.p_value is not None and found.p_value < 0.05


def test_the_interval_covers_the_true_uplift_95_times_in_100() -> None:
    """Coverage of the statistics alone over 2,000 simulated campaigns (no datamart)."""
    rng = np.random.default_rng(7)
    covered = 0
    runs = 2_000
    for _ in range(runs):
        p0, n1, n0 = rng.uniform(0.05, 0.3), 800, 400
        p1 = p0 + 0.03
        low, high = newcombe_interval(rng.binomial(n1, p1), n1, rng.binomial(n0, p0), n0)
        covered += low <= p1 - p0 <= high
    assert 0.93 <= covered / runs <= 0.97


# -- reports and the CLI ---------------------------------------------------------------------
@pytest.fixture
def spring_db(duckdb_settings: Settings) -> str:
    dm = connect(duckdb_settings)
    migrate(dm)
    load_spring(dm)
    dm.close()
    return duckdb_settings.db


def test_excel_and_html_reports(duckdb_settings: Settings, spring_db: str, tmp_path: Path) -> None:
    with connect(duckdb_settings) as dm:
        found = campaign_results(dm, duckdb_settings, "spring", as_of=AS_OF)
    workbook_path = write_results_workbook(found, tmp_path / "spring.xlsx")
    book = openpyxl.load_workbook(workbook_path)
    assert book.sheetnames == ["Summary", "Groups", "By segment", "By tier", "By decile"]
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(min_row=3, values_only=True)}
    assert summary["Target customers"] == 3 and summary["Uplift"] == pytest.approx(found.uplift)
    assert [c.value for c in book["Groups"]["A"][1:3]] == ["target", "control"]
    with zipfile.ZipFile(workbook_path) as package:
        charts = [n for n in package.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 4  # the groups and each breakdown
    page = write_results_html(found, tmp_path / "spring.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 2 + 2 * 3
    assert "Campaign spring: results against control" in page and "<script" not in page
    with pytest.raises(ConfigError, match=r"must end in \.html"):
        write_results_html(found, tmp_path / "spring.txt")


def test_cli_results_json_contract(cli: Callable[..., Any], spring_db: str, tmp_path: Path) -> None:
    result = cli(
        "--db", spring_db, "campaign", "results", "spring", "--as-of", "2026-03-01", "--json",
        "--cost-per-contact", "1", "--by", "decile", "--excel", tmp_path / "r.xlsx",
        "--html", tmp_path / "r.html",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    for group in ("target", "control"):
        assert {"customers", "responders", "rate"} <= set(document[group])
    assert (document["target"]["customers"], document["target"]["responders"]) == (3, 2)
    assert (document["control"]["customers"], document["control"]["responders"]) == (2, 1)
    assert document["uplift"] == pytest.approx(2 / 3 - 1 / 2)
    assert document["ci_low"] < document["uplift"] < document["ci_high"]
    assert 0 < document["p_value"] <= 1 and document["cost"] == 3.0
    assert list(document["breakdowns"]) == ["decile"]
    assert (tmp_path / "r.xlsx").is_file() and (tmp_path / "r.html").is_file()
    shown = cli("--db", spring_db, "campaign", "results", "spring", "--as-of", "2026-03-01")
    assert shown.code == 0, shown.stderr
    assert "Uplift and return" in shown.stdout and "By segment" in shown.stdout
    assert "3 responses match no contact" in shown.stderr


def test_cli_bad_breakdown_and_no_contacts(cli: Callable[..., Any], spring_db: str) -> None:
    bad = cli("--db", spring_db, "campaign", "results", "spring", "--by", "tiers")
    assert bad.code == 2 and "--by 'tiers' is not one of segment, tier, decile" in bad.stderr
    assert "did you mean 'tier'" in bad.stderr
    typo = cli("--db", spring_db, "campaign", "results", "spring", "--positive", "clik")
    assert typo.code == 2 and "--positive 'clik' is not a response kind" in typo.stderr
    assert "did you mean 'click'" in typo.stderr
    clicks = cli(
        "--db", spring_db, "campaign", "results", "spring", "--as-of", "2026-03-01", "--json",
        "--positive", "click",
    )  # fmt: skip
    document = json.loads(clicks.stdout)
    assert (document["target"]["responders"], document["control"]["responders"]) == (1, 0)
    assert document["positive_kinds"] == ["click"]
    early = cli("--db", spring_db, "campaign", "results", "spring", "--as-of", "2026-01-01")
    assert early.code == 2
    assert "campaign 'spring' has no contacted customers before 2026-01-01" in early.stderr


def test_results_without_a_control_group(datamart: Datamart, settings: Settings) -> None:
    insert(datamart, "contact_history", CONTACT_COLUMNS, [
        contact("k1", "p1", "target", "planned"), contact("k2", "p2", "target", "planned"),
    ])  # fmt: skip
    found = campaign_results(datamart, settings, "spring", as_of=AS_OF, by=[])
    assert found.control.customers == 0 and found.uplift is None and found.p_value is None
    with pytest.raises(NotFoundError, match="no campaign 'autumn'"):
        campaign_results(datamart, settings, "autumn", as_of=AS_OF)


CAMPAIGN_YAML = """\
name: spring
channel: email
offers:
  - {id: o1, name: Shoes, product: shoes}
  - {id: o2, name: Bags, product: bags}
response_window_days: 5
attribution: every
attribute_by: offer
cost_per_contact: 2
fixed_cost: 10
"""


def test_cli_takes_the_rule_from_the_stored_campaign_and_options_override_it(
    cli: Callable[..., Any], spring_db: str, duckdb_settings: Settings
) -> None:
    from clientela.campaigns.definition import parse_campaign_text
    from clientela.services.campaigns import save_campaign

    with connect(duckdb_settings) as dm:
        save_campaign(dm, parse_campaign_text(CAMPAIGN_YAML))
    as_of = ("--as-of", "2026-03-01", "--json")
    stored = json.loads(cli("--db", spring_db, "campaign", "results", "spring", *as_of).stdout)
    report = stored["attribution"]
    assert (report["window_days"], report["attribution"], report["attribute_by"]) == (
        5, "every", "offer",
    )  # fmt: skip
    # Within 5 days of 2026-01-10, of the offer's own product: t2 (p1, shoes), t8 (p2, bags)
    # and, in the control group, t9 (p4, shoes, on the fifth day).
    assert (report["attributed_target"], report["attributed_control"]) == (2, 1)
    assert stored["cost"] == 2 * 3 + 10
    overridden = cli(
        "--db", spring_db, "campaign", "results", "spring", *as_of, "--window-days", "30",
        "--attribute-by", "any", "--fixed-cost", "0",
    )  # fmt: skip
    document = json.loads(overridden.stdout)
    assert document["attribution"]["window_days"] == 30 and document["cost"] == 6
    assert document["attribution"]["attributed_target"] == 5  # t2, t3, t4, t5 and t8


def test_the_default_as_of_day_counts_every_contact_and_response(
    datamart: Datamart, settings: Settings
) -> None:
    # Contacts planned after the newest transaction, a response later still: without --as-of,
    # the results count them all (the day after the newest of the three).
    tx = "transaction_id order_id customer_id occurred_at product_id amount margin kind"
    insert(datamart, "transactions", tx, [
        ("t1", "o-t1", "p1", dt.datetime(2026, 1, 2), "shoes", 10.0, 4.0, "sale"),
    ])  # fmt: skip
    insert(datamart, "contact_history", CONTACT_COLUMNS, [
        contact("k1", "p1", "target", "planned"), contact("k2", "p2", "target", "planned"),
        contact("k3", "p3", "control", "held_out"),
    ])  # fmt: skip
    rs = "response_id campaign customer_id contact_id responded_at kind outcome source"
    insert(datamart, "responses", rs, [
        ("r1", "spring", "p1", "k1", dt.datetime(2026, 1, 14, 9), "click", None, "file"),
    ])  # fmt: skip
    assert results_as_of(datamart, "spring") == dt.date(2026, 1, 15)
    found = campaign_results(datamart, settings, "spring", by=[])
    assert found.as_of == dt.date(2026, 1, 15)
    assert (found.target.customers, found.target.responders, found.control.customers) == (2, 1, 1)
