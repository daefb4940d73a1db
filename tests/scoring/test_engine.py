"""The scoring engine on small hand-built datamarts, against values worked out by hand.

Every model is written inline; ``score`` (tests/scoring/_rows.py) registers it, scores every
profile live and checks that each score is the sum of its ledger lines.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.ingest.identity import unify
from clientela.errors import DataError, NotFoundError
from clientela.scoring import parse_model_text
from clientela.services.score_views import adjust, history, show
from clientela.services.scoring import RuleStat, backfill, register_model, run_model
from tests.scoring._rows import AS_OF, CUTOFF, ago, attributes, customers, events, insert, score


def _rules(*rules: str) -> str:
    return "rules:\n" + "".join(rules)


def _when(name: str, points: float, condition: str, group: str | None = None) -> str:
    grouped = f"    group: {group}\n" if group else ""
    return f"  - name: {name}\n    points: {points}\n{grouped}    when: {condition}\n"


# -- explicit rules: operators, groups, fields ------------------------------------------------

# rule: (condition, the profiles it holds for)
OPERATORS: dict[str, tuple[str, set[str]]] = {
    "equals": ("{field: region, equals: San José}", {"c1"}),
    "not_equals": ("{field: region, not_equals: San José}", {"c2", "c4"}),
    "in": ("{field: gender, in: [female, other]}", {"c1", "c4"}),
    "in_numbers": ("{field: employees, in: [10, 200]}", {"c1", "c4"}),
    "not_in": ("{field: gender, not_in: [female]}", {"c2", "c4"}),
    "at_least": ("{field: employees, at_least: 50}", {"c2", "c4"}),
    "at_most": ("{field: employees, at_most: 50}", {"c1", "c2"}),
    "above": ("{field: employees, above: 50}", {"c4"}),
    "below": ("{field: employees, below: 50}", {"c1"}),
    "between": ("{field: employees, between: [10, 50]}", {"c1", "c2"}),
    "matches": ("{field: region, matches: '^San'}", {"c1"}),
    "matches_is_case_sensitive": ("{field: region, matches: '^san'}", set()),
    "matches_ignoring_case": ("{field: region, matches: '(?i)^SAN JOS'}", {"c1"}),
    "missing": ("{field: region, missing: true}", {"c3", "c4"}),
    "present": ("{field: region, missing: false}", {"c1", "c2"}),
    "boolean": ("{field: is_placeholder, equals: true}", {"c2"}),
    "text_as_number": ("{attribute: income, at_least: 50000}", {"c1", "c3"}),
    "text_equals_number": ("{attribute: kids, equals: 2}", {"c1", "c2"}),
    "text_as_boolean": ("{attribute: newsletter, equals: true}", {"c1", "c3"}),
    "attribute_missing": ("{attribute: kids, missing: true}", {"c3", "c4"}),
    "all": (
        "{all: [{field: gender, equals: female}, {field: employees, at_most: 10}]}",
        {"c1"},
    ),
    "any": (
        "{any: [{field: region, equals: Limón}, {field: employees, above: 100}]}",
        {"c2", "c4"},
    ),
    "not": ("{not: {field: region, equals: San José}}", {"c2", "c3", "c4"}),
    "text_on_a_number": ("{field: employees, equals: many}", set()),
    "mixed_list": ("{field: employees, in: [10, many]}", {"c1"}),
    "yes_on_a_boolean": ("{field: is_placeholder, equals: 'yes'}", {"c2"}),
    "nested": (
        "{all: [{any: [{field: gender, equals: female}, {field: gender, equals: male}]}, "
        "{not: {attribute: income, equals: abc}}]}",
        {"c1"},
    ),
}


def test_each_operator_and_group(datamart: Datamart, settings: Settings) -> None:
    customers(
        datamart,
        "c1",
        "c2",
        "c3",
        "c4",
        region={"c1": "San José", "c2": "Limón", "c4": "  "},
        gender={"c1": "female", "c2": "male", "c4": "other"},
        employees={"c1": 10, "c2": 50, "c4": 200},
        is_placeholder={"c1": False, "c2": True},
    )
    attributes(
        datamart,
        {
            "c1": {"income": "52000", "kids": "2", "newsletter": "yes"},
            "c2": {"income": "abc", "kids": "2.0", "newsletter": "no"},
            "c3": {"income": " 60000 ", "newsletter": "TRUE"},
        },
    )
    points = {name: float(2**i) for i, name in enumerate(OPERATORS)}  # totals tell rules apart
    text = "name: operators\n" + _rules(
        *(_when(name, points[name], condition) for name, (condition, _) in OPERATORS.items())
    )
    scored = score(datamart, settings, text)
    for name, (_, holds_for) in OPERATORS.items():
        assert scored.rule(name) == dict.fromkeys(holds_for, points[name]), name
    for profile in ("c1", "c2", "c3", "c4"):
        expected = sum(points[n] for n, (_, who) in OPERATORS.items() if profile in who)
        assert scored.scores[profile] == expected, profile
    assert scored.evidence[("c1", "equals")] == "region = San José"
    assert scored.evidence[("c3", "missing")] == "region = (missing)"
    assert scored.evidence[("c1", "text_as_number")] == "attribute income = 52000"
    assert scored.evidence[("c1", "all")] == "gender = female; employees = 10"


def test_derived_fields_and_the_latest_attribute(datamart: Datamart, settings: Settings) -> None:
    customers(
        datamart,
        "d1",
        "d2",
        "d3",
        birth_date={
            "d1": dt.date(1990, 6, 1),
            "d2": dt.date(1990, 6, 2),
            "d3": dt.date(2000, 2, 29),
        },
        email={"d1": " Ana@Example.COM ", "d2": "luis@foo.org"},
        created_at={"d1": dt.datetime(2026, 5, 2), "d2": dt.datetime(2026, 5, 2, 0, 0, 1)},
    )
    # d1's newest value before the as-of date is "gold"; one recorded on the day does not count
    # yet, and an undated one only counts for want of a dated one (d2).
    attributes(datamart, {"d1": {"status": "silver"}}, as_of=dt.date(2026, 1, 1))
    attributes(datamart, {"d1": {"status": "gold"}}, as_of=dt.date(2026, 5, 31))
    attributes(datamart, {"d1": {"status": "platinum"}}, as_of=AS_OF)
    attributes(datamart, {"d1": {"status": "undated"}, "d2": {"status": "undated"}})
    text = "name: derived\n" + _rules(
        _when("age_36", 1, "{field: age, equals: 36}"),  # d1: the birthday is the as-of date
        _when("age_35", 2, "{field: age, equals: 35}"),  # d2: the birthday is tomorrow
        _when("age_26", 4, "{field: age, equals: 26}"),  # d3: born on 29 February
        _when("example_com", 8, "{field: email_domain, equals: example.com}"),
        _when("no_email", 16, "{field: email_domain, missing: true}"),
        _when("month_old", 32, "{field: days_since_signup, at_least: 30}"),
        _when("almost", 64, "{field: days_since_signup, equals: 29}"),
        _when("gold", 128, "{attribute: status, equals: gold}"),
        _when("undated", 256, "{attribute: status, equals: undated}"),
    )
    scored = score(datamart, settings, text)
    assert scored.scores == {"d1": 1 + 8 + 32 + 128, "d2": 2 + 64 + 256, "d3": 4 + 16}
    assert scored.evidence[("d1", "age_36")] == "age = 36"
    assert scored.evidence[("d2", "almost")] == "days_since_signup = 29"
    assert scored.evidence[("d1", "example_com")] == "email_domain = example.com"


def test_kpi_fields_come_from_the_summary(datamart: Datamart, settings: Settings) -> None:
    customers(datamart, "k1", "k2", "k3")
    sales = [("k1", 200.0, 60.0, 10), ("k1", 100.0, 30.0, 40), ("k2", 50.0, 20.0, 100)]
    insert(
        datamart,
        "transactions",
        [
            {
                "order_id": f"o{i}",
                "line_no": 1,
                "customer_id": who,
                "occurred_at": ago(days),
                "amount": amount,
                "margin": margin,
                "quantity": 1.0,
                "kind": "sale",
            }
            for i, (who, amount, margin, days) in enumerate(sales)
        ],
    )
    text = "name: kpis\n" + _rules(
        _when("big_spender", 1, "{field: revenue, above: 100}"),
        _when("repeat_buyer", 2, "{field: orders, at_least: 2}"),
        _when("tier_a", 4, "{field: value_tier, equals: A}"),
        _when("recent", 8, "{field: recency_days, below: 30}"),
        _when("r_3", 16, "{field: r, equals: 3}"),
        _when("r_1", 32, "{field: r, equals: 1}"),
    )
    scored = score(datamart, settings, text)
    assert scored.rule("big_spender") == {"k1": 1}
    assert scored.rule("repeat_buyer") == {"k1": 2}
    assert scored.rule("tier_a") == {"k1": 4}  # 90 of the 110 of margin
    assert scored.rule("recent") == {"k1": 8}
    # R = 1 + floor(5 * rank0 / n) among the n = 2 buyers, the less recent first: k2 1, k1 3.
    assert scored.rule("r_3") == {"k1": 16}
    assert scored.rule("r_1") == {"k2": 32}
    assert scored.evidence[("k2", "r_1")] == "r = 1"
    assert scored.scores == {"k1": 31.0, "k2": 32.0, "k3": 0.0}


# -- implicit rules: repeat policies, windows, decay ------------------------------------------


def _activity(name: str, points: float, activity: str, **options: object) -> str:
    extra = "".join(f"    {key}: {value}\n" for key, value in options.items())
    return f"  - name: {name}\n    points: {points}\n    activity: {activity}\n{extra}"


def test_rules_counting_the_same_objects_keep_their_own_decay(
    datamart: Datamart, settings: Settings
) -> None:
    # Both rules count each product once (its newest view); they share those units and weigh
    # them each with its own decay.
    customers(datamart, "o1", "o2")
    events(
        datamart,
        "o1",
        ("page_view", ago(10), "p1"),
        ("page_view", ago(1), "p1"),
        ("page_view", ago(20), "p2"),
        ("email_open", ago(1), "p3"),
    )
    events(datamart, "o2", ("page_view", ago(30), "p1"))
    view = "{type: page_view}"
    text = "name: objects\n" + _rules(
        _activity("seen", 2, view, repeat="per_object"),
        _activity("seen_lately", 10, view, repeat="per_object", decay="{half_life_days: 10}"),
    )
    scored = score(datamart, settings, text)
    assert scored.rule("seen") == {"o1": 4.0, "o2": 2.0}
    assert scored.rule("seen_lately") == {
        "o1": round(10 * 0.5 ** (1 / 10) + 10 * 0.5 ** (20 / 10), 4),
        "o2": 1.25,
    }
    assert scored.matched[("o1", "seen_lately")] == 2
    assert scored.evidence[("o1", "seen_lately")] == (
        "2 x page_view (once per object_id, decay half-life of 10 days), last 2026-05-31"
    )


def test_more_tests_than_bits_of_a_packed_column(datamart: Datamart, settings: Settings) -> None:
    # The behaviour rows keep each distinct test as a bit, 31 to an integer column: 40 tests
    # fill a first column (its highest bit included) and part of a second.
    customers(datamart, "b1", "b2")
    pages = [f"/p{number}" for number in range(40)]
    events(
        datamart,
        "b1",
        *[("page_view", ago(1), None, f'{{"page": "{page}"}}') for page in pages],
    )
    events(datamart, "b2", ("page_view", ago(1), None, '{"page": "/p30"}'))
    events(datamart, "b2", ("page_view", ago(2), None, '{"page": "/p31"}'))
    rules = [
        _activity(
            f"page_{number}",
            number + 1,
            f"{{type: page_view, where: [{{property: page, equals: {page}}}]}}",
        )
        for number, page in enumerate(pages)
    ]
    scored = score(datamart, settings, "name: many_tests\n" + _rules(*rules))
    assert scored.rule("page_30") == {"b1": 31, "b2": 31}  # the first column's highest bit
    assert scored.rule("page_31") == {"b1": 32, "b2": 32}  # the second column's first
    assert scored.rule("page_0") == {"b1": 1}
    assert scored.scores == {"b1": float(sum(range(1, 41))), "b2": 63.0}


def test_repeat_policies_and_filters(datamart: Datamart, settings: Settings) -> None:
    customers(datamart, "e1", "e2", "e3")
    events(
        datamart,
        "e1",
        ("page_view", dt.datetime(2026, 5, 31, 10), "p1", '{"page": "/a", "value": 12}'),
        ("page_view", dt.datetime(2026, 5, 31, 15), "p1", '{"page": "/b", "value": 5}'),
        ("page_view", dt.datetime(2026, 5, 30, 9), "p2", '{"page":"/b"}'),
        ("page_view", dt.datetime(2026, 5, 27, 9), "p3", '{"value": "20", "page": "/b"}'),
        ("page_view", CUTOFF, "p4"),  # on the as-of date: not yet
        ("email_open", dt.datetime(2026, 5, 31, 8), "m1"),
    )
    events(datamart, "e2", ("page_view", ago(seconds=1), "p1"))  # the last second counts
    events(datamart, None, ("page_view", ago(1), "p1"))  # anonymous: nobody's
    view = "{type: page_view}"
    text = "name: repeats\n" + _rules(
        _activity("every", 1, view),
        _activity("once", 1, view, repeat="once"),
        _activity("per_object", 1, view, repeat="per_object"),
        _activity("per_page", 1, view, repeat="per_object", per="properties.page"),
        _activity("per_day", 1, view, repeat="per_day"),
        _activity("one_a_day", 1, view, max_per_day=1),
        _activity("twice", 1, view, max_times=2),
        _activity("two_a_day_three_in_all", 1, view, max_per_day=2, max_times=3),
        _activity("two_per_three_days", 1, view, max_per_period="{times: 2, days: 3}"),
        _activity("two_objects", 1, view, repeat="per_object", max_times=2),
        _activity("two_days", 1, view, repeat="per_day", max_times=2),
        _activity("page_b", 1, "{type: page_view, where: [{property: page, equals: /b}]}"),
        _activity("valuable", 1, "{type: page_view, where: [{property: value, at_least: 10}]}"),
        _activity("p1_or_p3", 1, "{type: page_view, where: [{column: object_id, in: [p1, p3]}]}"),
        _activity("views_and_opens", 1, "{type: [page_view, email_open]}"),
        _activity("any_event", 1, "{table: events}"),
    )
    scored = score(datamart, settings, text)
    expected = {
        "every": {"e1": 4, "e2": 1},
        "once": {"e1": 1, "e2": 1},
        "per_object": {"e1": 3, "e2": 1},  # p1, p2, p3
        "per_page": {"e1": 2},  # /a and /b; e2's view has no page
        "per_day": {"e1": 3, "e2": 1},  # 31, 30 and 27 May
        "one_a_day": {"e1": 3, "e2": 1},
        "twice": {"e1": 2, "e2": 1},
        "two_a_day_three_in_all": {"e1": 3, "e2": 1},
        "two_per_three_days": {"e1": 3, "e2": 1},  # 3 views in the last 3 days count 2, +1 older
        "two_objects": {"e1": 2, "e2": 1},
        "two_days": {"e1": 2, "e2": 1},
        "page_b": {"e1": 3},
        "valuable": {"e1": 2},  # 12 and "20"
        "p1_or_p3": {"e1": 3, "e2": 1},
        "views_and_opens": {"e1": 5, "e2": 1},
        "any_event": {"e1": 5, "e2": 1},
    }
    for rule, counts in expected.items():
        assert scored.rule(rule) == counts, rule
        assert {p: scored.matched[(p, rule)] for p in counts} == counts, rule
    assert scored.scores == {
        "e1": sum(c.get("e1", 0) for c in expected.values()),
        "e2": sum(c.get("e2", 0) for c in expected.values()),
        "e3": 0.0,
    }
    assert scored.evidence[("e1", "per_object")] == (
        "3 x page_view (once per object_id), last 2026-05-31"
    )
    assert scored.evidence[("e1", "two_a_day_three_in_all")] == (
        "3 x page_view (each, at most 2 a day, at most 3 in all), last 2026-05-31"
    )


def test_interactions_transactions_and_social(datamart: Datamart, settings: Settings) -> None:
    customers(datamart, "i1", "i2")
    insert(
        datamart,
        "interactions",
        [
            {"customer_id": "i1", "kind": "response", "offer_id": "o1", "occurred_at": ago(5)},
            {"customer_id": "i1", "kind": "response", "offer_id": "o1", "occurred_at": ago(3)},
            {"customer_id": "i1", "kind": "response", "offer_id": "o2", "occurred_at": ago(2)},
            {"customer_id": "i1", "kind": "complaint", "occurred_at": ago(1)},
            {"customer_id": "i2", "kind": "complaint", "occurred_at": ago(1)},
            {"customer_id": "i2", "kind": "complaint", "occurred_at": ago(0, hours=-1)},
        ],
    )
    insert(
        datamart,
        "transactions",
        [
            {"customer_id": "i1", "kind": "sale", "category": "toys", "occurred_at": ago(10)},
            {"customer_id": "i1", "kind": "sale", "category": "toys", "occurred_at": ago(9)},
            {"customer_id": "i1", "kind": "return", "category": "toys", "occurred_at": ago(8)},
            {"customer_id": "i2", "kind": "sale", "category": "books", "occurred_at": ago(8)},
        ],
    )
    insert(
        datamart,
        "social",
        [
            {"customer_id": "i1", "network": "x", "kind": "like", "occurred_at": ago(3)},
            {"customer_id": "i1", "network": "x", "kind": "share", "occurred_at": ago(2)},
            {"customer_id": "i2", "network": "y", "kind": "like", "occurred_at": ago(2)},
        ],
    )
    text = "name: tables\n" + _rules(
        _activity("offers", 3, "{table: interactions, type: response}", repeat="per_object"),
        _activity("complaints", -5, "{table: interactions, type: complaint}"),
        _activity(
            "toys",
            5,
            "{table: transactions, type: sale, where: [{column: category, equals: toys}]}",
            repeat="once",
        ),
        _activity("social", 1, "{table: social}"),
        _activity("networks", 10, "{table: social}", repeat="per_object"),
    )
    scored = score(datamart, settings, text)
    assert scored.rule("offers") == {"i1": 6}  # offers o1 and o2
    assert scored.rule("complaints") == {"i1": -5, "i2": -5}  # i2's second is after the as-of
    assert scored.rule("toys") == {"i1": 5}
    assert scored.rule("social") == {"i1": 2, "i2": 1}
    assert scored.rule("networks") == {"i1": 10, "i2": 10}
    assert scored.scores == {"i1": 18.0, "i2": 6.0}


def test_count_windows(datamart: Datamart, settings: Settings) -> None:
    customers(datamart, "w1", "w2", "w3")
    events(datamart, "w1", *[("email_click", ago(d)) for d in (1, 3, 7)])  # 7 days: in
    events(
        datamart,
        "w2",
        *[("email_click", ago(d)) for d in (1, 3)],
        ("email_click", ago(7, seconds=1)),
    )
    events(datamart, "w3", *[("email_click", ago(d)) for d in (1, 2, 3, 4, 30)])
    text = "name: windows\n" + _rules(
        _activity("engaged", 10, "{type: email_click}", count="{at_least: 3, within_days: 7}"),
        _activity("recent", 1, "{type: email_click}", decay="{window_days: 7}"),
    )
    scored = score(datamart, settings, text)
    assert scored.rule("engaged") == {"w1": 10, "w3": 10}
    assert scored.matched[("w3", "engaged")] == 4  # points once, for four clicks
    assert scored.evidence[("w1", "engaged")] == (
        "3 x email_click in the 7 days before 2026-06-01 (at least 3)"
    )
    # A window decay counts the same days as a count window.
    assert scored.rule("recent") == {"w1": 3, "w2": 2, "w3": 4}


def test_decay(datamart: Datamart, settings: Settings) -> None:
    customers(datamart, "h1", "h2")
    ages = [0.5, 30.0, 60.0, 75.25]
    events(datamart, "h1", *[("page_view", ago(a)) for a in ages])
    events(datamart, "h2", ("page_view", ago(30)))
    text = "name: decays\ndecay: {half_life_days: 30}\n" + _rules(
        _activity("half_life", 10, "{type: page_view}", decay="{half_life_days: 30}"),
        _activity("model_default", 10, "{type: page_view}"),
        _activity("none", 10, "{type: page_view}", decay="none"),
        _activity("window", 10, "{type: page_view}", decay="{window_days: 30}"),
        _activity("percent", 10, "{type: page_view}", decay="{percent: 50, every_days: 30}"),
        _activity("all_gone", 10, "{type: page_view}", decay="{percent: 100, every_days: 30}"),
        _activity("newest_once", 10, "{type: page_view}", repeat="once"),
    )
    scored = score(datamart, settings, text)
    factors = {
        "half_life": lambda age: 0.5 ** (age / 30),
        "model_default": lambda age: 0.5 ** (age / 30),
        "none": lambda age: 1.0,
        "window": lambda age: 1.0 if age <= 30 else 0.0,
        "percent": lambda age: 0.5 ** math.floor(age / 30),
        "all_gone": lambda age: 1.0 if age < 30 else 0.0,
    }
    for rule, factor in factors.items():
        expected = sum(10 * factor(age) for age in ages)
        assert scored.rule(rule)["h1"] == pytest.approx(expected, abs=1e-4), rule
    assert scored.rule("newest_once")["h1"] == pytest.approx(10 * 0.5 ** (0.5 / 30), abs=1e-4)
    # An event 30 days old with a half-life of 30 days earns half its points.
    assert scored.rule("half_life")["h2"] == 5.0
    assert scored.rule("percent")["h2"] == 5.0
    assert scored.evidence[("h2", "half_life")] == (
        "1 x page_view (each, decay half-life of 30 days), last 2026-05-02"
    )
    assert scored.evidence[("h2", "none")] == "1 x page_view (each), last 2026-05-02"


# -- caps, limits, negative points ------------------------------------------------------------


def test_caps_limits_and_negative_points(datamart: Datamart, settings: Settings) -> None:
    customers(
        datamart,
        "g1",
        "g2",
        "g3",
        "g4",
        region={"g1": "X", "g2": "X", "g4": "X"},
        gender={"g1": "female", "g2": "female", "g4": "male"},
        city={"g2": "Big", "g3": "Bad"},
    )
    for who in ("g1", "g2"):
        events(datamart, who, *[("page_view", ago(d)) for d in range(1, 6)])
    text = (
        "name: caps\nmaximum: 20\nminimum: -5\n"
        "groups:\n  persona: {max: 8}\n  risk: {min: -6}\n"
        + _rules(
            _activity("views", 4, "{type: page_view}", max_points=10),
            _activity("spam", -3, "{type: page_view}", max_points=10),
            _when("p_region", 5, "{field: region, equals: X}", group="persona"),
            _when("p_gender", 5, "{field: gender, equals: female}", group="persona"),
            _when("n_region", -4, "{field: region, equals: X}", group="risk"),
            _when("n_gender", -4, "{field: gender, equals: female}", group="risk"),
            _when("big", 30, "{field: city, equals: Big}"),
            _when("bad", -40, "{field: city, equals: Bad}"),
        )
    )
    scored = score(datamart, settings, text)
    assert scored.rule("views") == {"g1": 10, "g2": 10}  # 5 x 4 = 20, at most 10
    assert scored.rule("spam") == {"g1": -10, "g2": -10}  # 5 x -3 = -15, at least -10
    assert scored.evidence[("g1", "views")].endswith(", last 2026-05-31 (capped at 10)")
    assert scored.rule("cap:persona") == {"g1": -2, "g2": -2}  # 10 counts as 8
    assert scored.rule("cap:risk") == {"g1": 2, "g2": 2}  # -8 counts as -6
    assert scored.evidence[("g1", "cap:persona")] == (
        "rules of group persona gave 10; the group counts at most 8"
    )
    # g1: 10 - 10 + 8 - 6 = 2; g2 the same and 30 more, 32, limited to 20; g3: -40, to -5.
    assert scored.rule("limit:maximum") == {"g2": -12}
    assert scored.rule("limit:minimum") == {"g3": 35}
    assert scored.evidence[("g3", "limit:minimum")] == (
        "the rules gave -40; the model's minimum is -5"
    )
    assert scored.scores == {"g1": 2.0, "g2": 20.0, "g3": -5.0, "g4": 1.0}


# -- manual adjustments -----------------------------------------------------------------------


def test_manual_adjustments(datamart: Datamart, settings: Settings) -> None:
    customers(datamart, "a1", "a2", "a3", "a4", region=dict.fromkeys(["a1", "a2", "a3", "a4"], "X"))
    text = "name: adjusted\n" + _rules(_when("base", 10, "{field: region, equals: X}"))
    register_model(datamart, parse_model_text(text))

    def made(day: int, hour: int = 12) -> dt.datetime:
        return dt.datetime(2026, 5, day, hour)

    for key, kind, points, when in [
        ("a1", "add", 5, made(10)),
        ("a1", "subtract", 3, made(12)),
        ("a2", "add", 7, made(9)),  # before the set: overridden
        ("a2", "set", 50, made(10)),
        ("a2", "add", 5, made(11)),  # after the set: counts
        ("a3", "add", 100, CUTOFF),  # at the start of the as-of date: not yet
        ("a4", "set", 30, made(10)),
        ("a4", "set", 0, made(20)),  # the newest set wins
    ]:
        adjust(datamart, settings, "adjusted", key, kind, points, "test", "tester", made_at=when)
    scored = score(datamart, settings, text)
    assert scored.scores == {"a1": 12.0, "a2": 55.0, "a3": 10.0, "a4": 0.0}
    assert scored.rule("manual") == {"a1": 2, "a2": 5}
    assert scored.rule("manual:set") == {"a2": 40, "a4": -10}
    assert scored.evidence[("a2", "manual:set")] == "set 50 by tester on 2026-05-10: test"
    later = score(datamart, settings, text, as_of=dt.date(2026, 6, 2))
    assert later.scores["a3"] == 110.0
    # One profile's score, live: its own reasons only.
    shown = show(datamart, settings, "a1", "adjusted", as_of=AS_OF)
    assert (shown.score, shown.source) == (12.0, "live")
    assert [(r.rule, r.points) for r in shown.reasons] == [
        ("base", 10.0),
        ("manual", 5.0),
        ("manual", -3.0),
    ]

    for kind, points, reason, author, message in [
        ("double", 5, "r", "me", "an adjustment is add, subtract or set, got 'double'"),
        ("add", 5, "  ", "me", "an adjustment needs a reason"),
        ("add", 5, "r", "", "an adjustment needs an author"),
        ("add", -5, "r", "me", "give the points of an add as a positive number, got -5"),
    ]:
        with pytest.raises(DataError) as caught:
            adjust(datamart, settings, "adjusted", "a1", kind, points, reason, author)
        assert str(caught.value) == message
    with pytest.raises(NotFoundError):
        adjust(datamart, settings, "adjusted", "nobody", "add", 1, "r", "me")
    count = datamart.sql("SELECT count(*) FROM score_adjustments")[0][0]
    assert count == 8  # the refused ones left no trace


# -- bands and their history ------------------------------------------------------------------

BANDS = (
    "bands:\n"
    "  - {name: low, max: 40}\n"
    "  - {name: mid, min: 40, max: 60}\n"
    "  - {name: high, min: 60}\n"
)
DATES = [dt.date(2026, 6, 1), dt.date(2026, 6, 8), dt.date(2026, 6, 15), dt.date(2026, 6, 22)]


def _set_scores(
    dm: Datamart, settings: Settings, model: str, scores: dict[str, list[float]]
) -> None:
    """Fix each profile's score before each of DATES with a manual set."""
    for who, values in scores.items():
        for day, value in zip(DATES, values, strict=False):
            at = dt.datetime.combine(day, dt.time()) - dt.timedelta(days=2)
            adjust(dm, settings, model, who, "set", value, "plan", "tester", made_at=at)


def test_bands_with_hysteresis_and_their_history(datamart: Datamart, settings: Settings) -> None:
    customers(datamart, "b1", "b2", "b3", "b4")
    text = (
        "name: tiers\nhysteresis: 5\n" + BANDS + _rules(_when("x", 1, "{field: region, equals: X}"))
    )
    register_model(datamart, parse_model_text(text))
    _set_scores(
        datamart,
        settings,
        "tiers",
        {
            "b1": [65, 57, 54, 61],  # high; stays high within 5 of 60; mid below 55; high again
            "b2": [45, 38, 34, 34],  # mid; stays mid down to 35; then low
            "b4": [90, 20, 20, 20],  # high; far below: straight down to low
        },
    )
    runs = backfill(datamart, settings, "tiers", DATES[0], DATES[-1], every_days=7)
    assert [r.as_of for r in runs] == DATES
    assert runs[0].bands == {"low": 1, "mid": 1, "high": 2}
    assert [r.band_changes for r in runs] == [3, 1, 2, 1]
    changes = datamart.sql(
        "SELECT as_of, profile_id, from_band, to_band, direction, score FROM score_band_changes "
        "WHERE model = 'tiers' ORDER BY as_of, profile_id"
    )
    assert [tuple(c) for c in changes] == [
        (DATES[0], "b1", None, "high", "entered", 65.0),
        (DATES[0], "b2", None, "mid", "entered", 45.0),
        (DATES[0], "b4", None, "high", "entered", 90.0),
        (DATES[1], "b4", "high", "low", "down", 20.0),
        (DATES[2], "b1", "high", "mid", "down", 54.0),
        (DATES[2], "b2", "mid", "low", "down", 34.0),
        (DATES[3], "b1", "mid", "high", "up", 61.0),
    ]
    b1 = history(datamart, settings, "b1", "tiers")
    assert [(p.as_of, p.score, p.band) for p in b1.points] == list(
        zip(DATES, [65.0, 57.0, 54.0, 61.0], ["high", "high", "mid", "high"], strict=True)
    )
    assert [(c.as_of, c.direction) for c in b1.band_changes] == [
        (DATES[0], "entered"),
        (DATES[2], "down"),
        (DATES[3], "up"),
    ]
    shown = show(datamart, settings, "b2", "tiers")
    assert (shown.as_of, shown.score, shown.band, shown.source) == (
        DATES[3],
        34.0,
        "low",
        "snapshot",
    )
    assert [r.rule for r in shown.reasons] == ["manual:set"]


def test_bands_that_cannot_move_down(datamart: Datamart, settings: Settings) -> None:
    customers(datamart, "b1", "b2")
    text = (
        "name: sticky\ncan_move_down: false\n"
        + BANDS
        + _rules(_when("x", 1, "{field: region, equals: X}"))
    )
    register_model(datamart, parse_model_text(text))
    _set_scores(datamart, settings, "sticky", {"b1": [65, 10], "b2": [45, 61]})
    runs = backfill(datamart, settings, "sticky", DATES[0], DATES[1], every_days=7)
    snapshots = datamart.sql(
        "SELECT profile_id, score, band FROM score_snapshots WHERE model = 'sticky' "
        "ORDER BY profile_id, as_of"
    )
    assert [tuple(s) for s in snapshots] == [
        ("b1", 65.0, "high"),
        ("b1", 10.0, "high"),  # never below its band
        ("b2", 45.0, "mid"),
        ("b2", 61.0, "high"),  # free to move up
    ]
    assert [r.band_changes for r in runs] == [2, 1]


# -- what a run reports -----------------------------------------------------------------------


def test_a_run_that_matches_nobody_says_so(datamart: Datamart, settings: Settings) -> None:
    nobody = register_model(
        datamart,
        parse_model_text(
            "name: nobody\n"
            + _rules(
                _when("in_x", 5, "{field: region, equals: X}"),
                _activity("views", 1, "{type: page_view}"),
            )
        ),
    )
    empty = run_model(datamart, settings, "nobody", AS_OF)
    assert empty.warnings == ("model 'nobody' scored no profiles: the datamart has no customers",)
    customers(datamart, "w1", "w2", region={"w1": "Y", "w2": "Y"})
    run = run_model(datamart, settings, nobody, AS_OF)
    assert (run.profiles, run.scored) == (2, 0)
    assert run.warnings == (
        "model 'nobody' matched nobody: none of its 2 rules gave points to any of the 2 "
        "profiles; check the fields, attributes, event types and the as-of date",
    )
    assert run.rules == (RuleStat("in_x", 0, 0.0), RuleStat("views", 0, 0.0))

    partly = parse_model_text(
        "name: partly\n"
        + _rules(
            _when("in_y", 5, "{field: region, equals: Y}"),
            _when("in_x", 5, "{field: region, equals: X}"),
        )
    )
    run = run_model(datamart, settings, register_model(datamart, partly), AS_OF)
    assert (run.profiles, run.scored) == (2, 2)
    assert run.warnings == ("rules that matched nobody: in_x",)
    assert run.rules == (RuleStat("in_y", 2, 10.0), RuleStat("in_x", 0, 0.0))


def test_unified_customers_score_as_one_profile(datamart: Datamart, settings: Settings) -> None:
    customers(
        datamart,
        "u1",
        "u2",
        "u3",
        email={"u1": "same@example.com", "u2": "same@example.com", "u3": "other@example.com"},
        region={"u1": "X", "u2": "Y", "u3": "X"},
    )
    events(datamart, "u1", ("page_view", ago(1)))
    events(datamart, "u2", ("page_view", ago(2)), ("page_view", ago(3)))
    attributes(datamart, {"u2": {"interest": "toys"}})
    text = "name: unified\n" + _rules(
        _when("in_x", 5, "{field: region, equals: X}"),  # the profile's own record: u1's
        _when("toys", 7, "{attribute: interest, equals: toys}"),  # recorded for u2
        _activity("views", 1, "{type: page_view}"),
    )
    model = register_model(datamart, parse_model_text(text))
    # Made while u2 was a profile of its own: the adjustment follows u2 into the merge.
    adjust(datamart, settings, "unified", "u2", "add", 100, "before", "tester", made_at=ago(2))
    unify(datamart, settings)
    adjust(datamart, settings, "unified", "u2", "add", 1000, "after", "tester", made_at=ago(1))
    run = run_model(datamart, settings, model, AS_OF)
    assert run.profiles == 2
    scores = dict(
        datamart.sql("SELECT profile_id, score FROM score_snapshots WHERE model = 'unified'")
    )
    assert scores == {"u1": 5 + 7 + 3 + 1100, "u3": 5.0}
