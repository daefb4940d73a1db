"""Response attribution on both backends: matching, purchase windows, rules, idempotence, bad input,
and loading a response file with ``clientela ingest --into responses``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from clientela.config import Settings
from clientela.datamart import Datamart, connect, migrate
from clientela.errors import ConfigError, NotFoundError
from clientela.services.campaign_results import ResultRule, attribute_responses
from tests.campaigns._response_data import AS_OF, CONTACT_COLUMNS, contact, insert, load_spring

PRODUCTS = {"o1": "shoes", "o2": "bags"}


def _attributed(dm: Datamart) -> dict[str, tuple[Any, ...]]:
    rows = dm.sql(
        "SELECT response_id, customer_id, contact_id, kind, offer_id, revenue, margin "
        "FROM responses WHERE source = 'attributed'"
    )
    return {str(r[0]).removeprefix("attributed:"): tuple(r[1:]) for r in rows}


@pytest.fixture
def spring(datamart: Datamart) -> Datamart:
    load_spring(datamart)
    return datamart


def test_every_purchase_in_the_window_is_attributed_to_target_and_control(
    spring: Datamart, settings: Settings
) -> None:
    report = attribute_responses(
        spring, settings, "spring", as_of=AS_OF, rule=ResultRule(attribution="every")
    )
    found = _attributed(spring)
    # t1 is the evening before the contact, t6 the day after the 30-day window; t7 a return;
    # p6 (global hold-out) and p7 (deferred) are not among the contacts that count.
    assert sorted(found) == ["k1:t2", "k1:t3", "k1:t4", "k1:t5", "k2:t8", "k4:t9"]
    assert found["k1:t3"] == ("p1b", "k1", "purchase", "o1", 30.0, 12.0)  # through identity
    assert (report.attributed_target, report.attributed_control) == (5, 1)
    assert (report.target_contacts, report.control_contacts) == (3, 2)
    assert report.added == 6 and report.removed == 0


@pytest.mark.parametrize(
    ("attribution", "expected"),
    [("first", ["k1:t2", "k2:t8", "k4:t9"]), ("last", ["k1:t5", "k2:t8", "k4:t9"])],
)
def test_first_or_last_purchase(
    spring: Datamart, settings: Settings, attribution: str, expected: list[str]
) -> None:
    rule = ResultRule(attribution=attribution)  # type: ignore[arg-type]
    attribute_responses(spring, settings, "spring", as_of=AS_OF, rule=rule)
    assert sorted(_attributed(spring)) == expected


@pytest.mark.parametrize(
    ("attribute_by", "expected"),
    [
        ("product", ["k1:t2", "k1:t3", "k1:t5", "k2:t8", "k4:t9"]),  # no socks
        ("offer", ["k1:t2", "k1:t5", "k2:t8", "k4:t9"]),  # k1 got o1 (shoes): no bags either
    ],
)
def test_by_product_or_offer(
    spring: Datamart, settings: Settings, attribute_by: str, expected: list[str]
) -> None:
    rule = ResultRule(
        attribution="every",
        attribute_by=attribute_by,  # type: ignore[arg-type]
        offer_products=PRODUCTS,
    )
    attribute_responses(spring, settings, "spring", as_of=AS_OF, rule=rule)
    assert sorted(_attributed(spring)) == expected


def test_window_of_zero_days_keeps_the_contact_day_only(
    spring: Datamart, settings: Settings
) -> None:
    rule = ResultRule(window_days=0, attribution="every")
    attribute_responses(spring, settings, "spring", as_of=AS_OF, rule=rule)
    assert sorted(_attributed(spring)) == ["k1:t2"]


def test_as_of_bounds_the_purchases(spring: Datamart, settings: Settings) -> None:
    rule = ResultRule(attribution="every")
    attribute_responses(spring, settings, "spring", as_of=dt.date(2026, 1, 20), rule=rule)
    assert sorted(_attributed(spring)) == ["k1:t2", "k2:t8", "k4:t9"]  # t3 is on the 20th


def test_running_again_adds_nothing_and_a_new_rule_replaces_the_old(
    spring: Datamart, settings: Settings
) -> None:
    every = ResultRule(attribution="every")
    attribute_responses(spring, settings, "spring", as_of=AS_OF, rule=every)
    before = spring.sql("SELECT count(*) FROM responses")[0][0]
    again = attribute_responses(spring, settings, "spring", as_of=AS_OF, rule=every)
    assert (again.added, again.removed) == (0, 0)
    assert spring.sql("SELECT count(*) FROM responses")[0][0] == before
    first = attribute_responses(
        spring, settings, "spring", as_of=AS_OF, rule=ResultRule(attribution="first")
    )
    assert (first.added, first.removed) == (0, 3)
    assert sorted(_attributed(spring)) == ["k1:t2", "k2:t8", "k4:t9"]


def test_loaded_responses_are_matched_or_reported_and_kept(
    spring: Datamart, settings: Settings
) -> None:
    report = attribute_responses(spring, settings, "spring", as_of=AS_OF, unmatched_limit=10)
    assert report.loaded_responses == 6 and report.matched_responses == 3  # r1, r2 (profile), r3
    assert report.unmatched_by_reason == {
        "before_contact": 1,  # r6
        "not_contacted": 1,  # r4
        "unknown_contact": 1,  # r5
    }
    assert {(u.response_id, u.reason) for u in report.unmatched} == {
        ("r4", "not_contacted"),
        ("r5", "unknown_contact"),
        ("r6", "before_contact"),
    }
    kept = spring.sql("SELECT count(*) FROM responses WHERE source = 'file'")[0][0]
    assert kept == 7
    ghost = attribute_responses(spring, settings, "ghost", as_of=AS_OF, unmatched_limit=10)
    assert ghost.unmatched_by_reason == {"no_contacts": 1}
    assert ghost.unmatched[0].response_id == "r7" and ghost.attributed_purchases == 0


def test_a_response_goes_to_the_latest_contact_before_it(
    datamart: Datamart, settings: Settings
) -> None:
    insert(datamart, "contact_history", CONTACT_COLUMNS, [
        contact("early", "p1", "target", "planned", day=dt.date(2026, 1, 1)),
        contact("late", "p1", "target", "planned", day=dt.date(2026, 2, 1)),
    ])  # fmt: skip
    insert(datamart, "transactions", "transaction_id order_id customer_id occurred_at amount", [
        ("t1", "o1", "p1", dt.datetime(2026, 1, 5), 10.0),
        ("t2", "o2", "p1", dt.datetime(2026, 2, 3), 20.0),
    ])  # fmt: skip
    insert(datamart, "responses", "response_id campaign customer_id responded_at kind", [
        ("r1", "spring", "p1", dt.datetime(2026, 1, 20), "click"),
        ("r2", "spring", "p1", dt.datetime(2026, 2, 2), "click"),
    ])  # fmt: skip
    report = attribute_responses(
        datamart, settings, "spring", as_of=AS_OF, rule=ResultRule(attribution="every")
    )
    # t2 follows both contacts within 30 days: it belongs to the later one.
    assert sorted(_attributed(datamart)) == ["early:t1", "late:t2"]
    assert report.matched_responses == 2


def test_unknown_campaign_names_the_close_match(spring: Datamart, settings: Settings) -> None:
    with pytest.raises(NotFoundError, match=r"no campaign 'sprng'.*did you mean 'spring'"):
        attribute_responses(spring, settings, "sprng", as_of=AS_OF)


def test_bad_rules_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="attribution 'frist' is not one of first, last, every"):
        ResultRule(attribution="frist")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="response_window_days must be 0 or more, got -1"):
        ResultRule(window_days=-1)
    with pytest.raises(ConfigError, match="cost_per_contact must be 0 or more"):
        ResultRule(cost_per_contact=-1.0)


def test_attribution_by_product_needs_offer_products(spring: Datamart, settings: Settings) -> None:
    with pytest.raises(ConfigError, match="needs offers with a product in campaign 'spring'"):
        attribute_responses(
            spring, settings, "spring", as_of=AS_OF, rule=ResultRule(attribute_by="product")
        )


# -- loading a response file with the CLI ----------------------------------------------------
RESPONSE_FILE = """\
campaign,customer_id,contact_id,responded_at,kind,outcome
spring,p1,k1,2026-01-11 09:00,click,
spring,p2,,2026-01-12 10:30,call_outcome,interested
spring,nobody,,2026-01-12 11:00,click,
spring,p3,ghost-contact,2026-01-13 12:00,accepted,
"""


def test_ingest_a_response_file_reports_unknown_customers_and_contacts(
    cli: Callable[..., Any], duckdb_settings: Settings, tmp_path: Path
) -> None:
    db = duckdb_settings.db
    dm = connect(duckdb_settings)
    migrate(dm)
    insert(dm, "customers", "customer_id", [(p,) for p in ("p1", "p2", "p3", "p4", "p5")])
    insert(dm, "contact_history", CONTACT_COLUMNS, [
        contact("k1", "p1", "target", "planned"),
        contact("k2", "p2", "target", "planned"),
        contact("k4", "p4", "control", "held_out"),
    ])  # fmt: skip
    dm.close()
    file = tmp_path / "responses.csv"
    file.write_text(RESPONSE_FILE, encoding="utf-8")
    loaded = cli("--db", db, "ingest", file, "--into", "responses", "--json")
    assert loaded.code == 0, loaded.stderr
    report = json.loads(loaded.stdout)
    assert (report["rows_inserted"], report["rows_rejected"]) == (3, 1)
    rejects = json.loads(cli("--db", db, "rejects", "--json").stdout)
    assert [(r["line"], r["rule"], r["value"]) for r in rejects] == [
        (4, "unknown_customer", "nobody")
    ]
    result = cli(
        "--db", db, "campaign", "responses", "spring", "--as-of", "2026-03-01", "--json",
        "--unmatched", "5",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["matched_responses"] == 2
    assert document["unmatched_by_reason"] == {"unknown_contact": 1}
    assert document["unmatched"][0]["contact_id"] == "ghost-contact"
    shown = cli("--db", db, "campaign", "responses", "spring", "--as-of", "2026-03-01")
    assert shown.code == 0 and "unknown_contact" in shown.stderr
    assert "matched to a contact" in shown.stdout


def test_cli_responses_of_an_unknown_campaign(
    cli: Callable[..., Any], duckdb_settings: Settings
) -> None:
    assert cli("--db", duckdb_settings.db, "init").code == 0
    result = cli("--db", duckdb_settings.db, "campaign", "responses", "nothing")
    assert result.code == 2
    assert "no campaign 'nothing' in the datamart" in result.stderr


def test_contacts_and_responses_are_on_the_profile_timeline(
    spring: Datamart, settings: Settings
) -> None:
    from clientela.services import get_profile

    insert(spring, "customers", "customer_id", [("p1",), ("p1b",)])
    attribute_responses(spring, settings, "spring", as_of=AS_OF)
    profile = get_profile(spring, settings, "p1", as_of=AS_OF, page_size=50)
    mine = [
        (e.source, e.kind, e.reference, e.status, e.amount)
        for e in profile.timeline.entries
        if e.source in ("contact", "response")
    ]
    assert mine == [
        ("response", "purchase", "spring", "attributed", 20.0),  # t5, the last in the window
        ("response", "click", "spring", "file", None),  # r1
        ("contact", "planned", "spring", "target", None),  # k1 on 2026-01-10
    ]
    assert profile.timeline.total == len(profile.timeline.entries) == 6 + len(mine)


# -- property: attribution agrees with a plain-Python reading of the rules -------------------
@st.composite
def _histories(
    draw: st.DrawFn,
) -> tuple[list[tuple[str, str, dt.date]], list[tuple[str, str, dt.datetime]]]:
    profiles = [f"p{i}" for i in range(draw(st.integers(1, 4)))]
    contacts = [
        (f"k{i:02d}", draw(st.sampled_from(profiles)), dt.date(2026, 1, draw(st.integers(1, 28))))
        for i in range(draw(st.integers(1, 6)))
    ]
    sales = [
        (
            f"t{i:02d}",
            draw(st.sampled_from(profiles)),
            dt.datetime(2026, 1, 1) + dt.timedelta(minutes=draw(st.integers(0, 60 * 24 * 60))),
        )
        for i in range(draw(st.integers(0, 12)))
    ]
    return contacts, sales


def _expected(
    contacts: list[tuple[str, str, dt.date]],
    sales: list[tuple[str, str, dt.datetime]],
    window: int,
    attribution: str,
) -> set[str]:
    owned: dict[str, list[tuple[dt.datetime, str]]] = {}
    cutoff = dt.datetime.combine(AS_OF, dt.time())
    for sale, profile, at in sales:
        mine = [
            (day, contact_id)
            for contact_id, who, day in contacts
            if who == profile and day <= at.date() <= day + dt.timedelta(days=window)
        ]
        if mine and at < cutoff:
            owned.setdefault(max(mine)[1], []).append((at, sale))
    if attribution == "first":
        owned = {k: [min(v)] for k, v in owned.items()}
    elif attribution == "last":
        owned = {k: [max(v)] for k, v in owned.items()}
    return {f"{k}:{sale}" for k, v in owned.items() for _, sale in v}


@hypothesis_settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    history=_histories(),
    window=st.integers(0, 20),
    attribution=st.sampled_from(["first", "last", "every"]),
)
def test_attribution_matches_the_rules_on_random_histories(
    datamart: Datamart,
    settings: Settings,
    history: tuple[list[tuple[str, str, dt.date]], list[tuple[str, str, dt.datetime]]],
    window: int,
    attribution: str,
) -> None:
    contacts, sales = history
    for table in ("contact_history", "transactions", "responses"):
        datamart.sql(f"DELETE FROM {table}")
    groups = ("target", "planned"), ("control", "held_out")
    insert(datamart, "contact_history", CONTACT_COLUMNS, [
        contact(k, p, *groups[i % 2], day=day) for i, (k, p, day) in enumerate(contacts)
    ])  # fmt: skip
    insert(datamart, "transactions", "transaction_id order_id customer_id occurred_at amount", [
        (t, f"o{t}", p, at, 10.0) for t, p, at in sales
    ])  # fmt: skip
    rule = ResultRule(window_days=window, attribution=attribution)  # type: ignore[arg-type]
    report = attribute_responses(datamart, settings, "spring", as_of=AS_OF, rule=rule)
    assert set(_attributed(datamart)) == _expected(contacts, sales, window, attribution)
    assert report.attributed_purchases == report.added
