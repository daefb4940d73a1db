"""Target selection: each subject selects exactly the profiles a plain-Python reading of the
same rows selects, on DuckDB and PostgreSQL; bad targets fail with errors that name the problem.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clientela.campaigns.targeting import Target, parse_target, parse_target_text
from clientela.config import Settings
from clientela.datamart import Datamart, connect, migrate
from clientela.errors import ConfigError, NotFoundError
from clientela.segments.definition import parse_segment
from clientela.services._campaign_target import target_members
from clientela.services._segment_store import store_segment
from clientela.yamlfile import read_yaml
from tests.conftest import REPO
from tests.scoring._rows import AS_OF, CUTOFF, insert

# -- a small datamart, as rows a test can also read in plain Python ----------------------------

# Customer c6 was unified into the profile of c5: its behaviour counts for c5.
PROFILE_OF = {"c6": "c5"}
PROFILES = ("c1", "c2", "c3", "c4", "c5", "c7", "c8")
CUSTOMERS = [
    {"customer_id": "c1", "region": "North", "birth_date": dt.date(1970, 3, 1), "employees": 5},
    {"customer_id": "c2", "region": "North", "birth_date": dt.date(1990, 7, 9), "employees": 50},
    {"customer_id": "c3", "region": "South", "birth_date": dt.date(1985, 1, 2)},
    {"customer_id": "c4", "region": "South", "birth_date": dt.date(2010, 1, 1), "employees": 9},
    {"customer_id": "c5", "region": "East", "employees": 12},
    {"customer_id": "c6", "region": "West", "birth_date": dt.date(1960, 1, 1)},
    {"customer_id": "c7"},
    {"customer_id": "c8", "region": "North", "birth_date": dt.date(2000, 6, 1)},
]
ATTRIBUTES = [  # household_size; c4's value is recorded after the as-of date: not known yet
    {
        "customer_id": "c1",
        "attribute": "household_size",
        "value": "4",
        "as_of": dt.date(2026, 1, 1),
    },
    {
        "customer_id": "c2",
        "attribute": "household_size",
        "value": "2",
        "as_of": dt.date(2026, 1, 1),
    },
    {
        "customer_id": "c3",
        "attribute": "household_size",
        "value": "5",
        "as_of": dt.date(2026, 1, 1),
    },
    {
        "customer_id": "c4",
        "attribute": "household_size",
        "value": "6",
        "as_of": dt.date(2026, 7, 1),
    },
]


def _snapshot(profile: str, as_of: dt.date, score: float, band: str, model: str = "engagement"):
    return {
        "model": model,
        "profile_id": profile,
        "as_of": as_of,
        "version": 1,
        "score": score,
        "band": band,
        "run_id": "r1",
    }


SNAPSHOTS = [
    _snapshot("c1", dt.date(2026, 5, 1), 70, "hot"),
    _snapshot("c1", dt.date(2026, 5, 20), 40, "warm"),  # newer: c1 is warm at 40
    _snapshot("c2", dt.date(2026, 5, 25), 80, "hot"),
    _snapshot("c3", dt.date(2026, 5, 1), 10, "cold"),
    _snapshot("c3", dt.date(2026, 6, 10), 65, "hot"),  # after the as-of date: not seen
    _snapshot("c4", dt.date(2026, 6, 1), 55, "warm"),  # on the as-of date: seen
    _snapshot("c5", dt.date(2026, 5, 1), 90, "hot", model="loyalty"),
]


def _prediction(profile: str, as_of: dt.date, version: int, probability: float, decile: int):
    return {
        "model": "churn_90",
        "profile_id": profile,
        "as_of": as_of,
        "version": version,
        "probability": probability,
        "decile": decile,
    }


PREDICTIONS = [
    _prediction("c1", dt.date(2026, 5, 30), 1, 0.70, 1),
    _prediction("c1", dt.date(2026, 5, 30), 2, 0.20, 8),  # a newer version on the same day
    _prediction("c2", dt.date(2026, 5, 30), 1, 0.65, 2),
    _prediction("c3", dt.date(2026, 5, 30), 1, 0.10, 9),
    _prediction("c5", dt.date(2026, 6, 5), 1, 0.90, 1),  # after the as-of date
]


def ago(days: float) -> dt.datetime:
    return CUTOFF - dt.timedelta(days=days)


EVENTS = [
    *[{"customer_id": "c1", "event_type": "page_view", "occurred_at": ago(d)} for d in (1, 5, 29)],
    *[{"customer_id": "c2", "event_type": "page_view", "occurred_at": ago(d)} for d in (2, 30)],
    *[{"customer_id": "c2", "event_type": "page_view", "occurred_at": ago(d)} for d in (31, 40)],
    *[{"customer_id": "c6", "event_type": "page_view", "occurred_at": ago(d)} for d in (3, 4, 6)],
    {"customer_id": "c3", "event_type": "page_view", "occurred_at": CUTOFF},  # not yet
    {"customer_id": "c3", "event_type": "search", "occurred_at": ago(2), "channel": "app"},
    {"customer_id": None, "anonymous_id": "a1", "event_type": "page_view", "occurred_at": ago(1)},
]
TRANSACTIONS = [
    {"customer_id": "c1", "kind": "sale", "category": "books", "product_id": "B1", "days": 10},
    {"customer_id": "c2", "kind": "sale", "category": "garden", "product_id": "G1", "days": 10},
    {"customer_id": "c2", "kind": "sale", "category": "garden", "product_id": "G2", "days": 50},
    {"customer_id": "c3", "kind": "return", "category": "books", "product_id": "B1", "days": 5},
    {"customer_id": "c4", "kind": "sale", "category": "books", "product_id": "B2", "days": 100},
    {"customer_id": "c6", "kind": "sale", "category": "books", "product_id": "B2", "days": 20},
]
INTERACTIONS = [
    {"customer_id": "c2", "kind": "complaint", "status": "open", "days": 20},
    {"customer_id": "c3", "kind": "complaint", "status": "closed", "days": 20},
    {"customer_id": "c4", "kind": "call", "status": "closed", "days": 3},
]
RESPONSES = [
    {"customer_id": "c1", "kind": "click", "campaign": "spring", "days": 5},
    {"customer_id": "c4", "kind": "click", "campaign": "summer", "days": 5},
    {"customer_id": "c8", "kind": "open", "campaign": "spring", "days": 200},
]
SEGMENTS = {
    "loyal_north": {"where": {"field": "region", "equals": "North"}},
    "recent_buyers": {"where": {"field": "recency_days", "at_most": 90}},
}


def put(dm: Datamart, table: str, rows: list[dict[str, Any]]) -> None:
    """Rows of a table the datamart keeps about itself (absent columns are NULL)."""
    schema = dm.table(table).schema().to_pyarrow()
    names = list(dict.fromkeys(name for row in rows for name in row))
    columns = {n: pa.array([r.get(n) for r in rows], schema.field(n).type) for n in names}
    dm.bulk_insert(table, pa.table(columns))


def build(dm: Datamart) -> None:
    insert(dm, "customers", CUSTOMERS)
    put(
        dm,
        "identity",
        [{"customer_id": "c6", "profile_id": "c5"}, {"customer_id": "c5", "profile_id": "c5"}],
    )
    insert(dm, "third_party", [{**row, "source": "bureau"} for row in ATTRIBUTES])
    put(dm, "score_snapshots", SNAPSHOTS)
    put(dm, "predictive_scores", PREDICTIONS)
    insert(dm, "events", EVENTS)
    insert(
        dm,
        "transactions",
        [
            {
                "order_id": f"o{i}",
                "customer_id": row["customer_id"],
                "occurred_at": ago(row["days"]),
                "amount": -10.0 if row["kind"] == "return" else 10.0,
                "kind": row["kind"],
                "category": row["category"],
                "product_id": row["product_id"],
            }
            for i, row in enumerate(TRANSACTIONS)
        ],
    )
    insert(
        dm,
        "interactions",
        [
            {
                "customer_id": r["customer_id"],
                "kind": r["kind"],
                "status": r["status"],
                "occurred_at": ago(r["days"]),
            }
            for r in INTERACTIONS
        ],
    )
    insert(
        dm,
        "responses",
        [
            {
                "customer_id": r["customer_id"],
                "kind": r["kind"],
                "campaign": r["campaign"],
                "responded_at": ago(r["days"]),
            }
            for r in RESPONSES
        ],
    )
    for name, definition in SEGMENTS.items():
        store_segment(dm, name, parse_segment(definition))


@pytest.fixture
def mart(datamart: Datamart) -> Datamart:
    build(datamart)
    return datamart


def members(dm: Datamart, settings: Settings, target: Any, as_of: dt.date = AS_OF) -> set[str]:
    parsed = parse_target_text(target) if isinstance(target, str) else parse_target(target)
    table = dm.to_pyarrow(target_members(dm, settings, parsed, as_of))
    found = table.column("profile_id").to_pylist()
    assert len(found) == len(set(found)), "one row per profile"
    return set(found)


# -- plain-Python readings of the rows --------------------------------------------------------


def profile(customer: str) -> str:
    return PROFILE_OF.get(customer, customer)


def counted(rows: list[dict[str, Any]], within: int, test: Callable[[dict[str, Any]], bool]):
    counts = dict.fromkeys(PROFILES, 0)
    for row in rows:
        at = row.get("occurred_at") or ago(row["days"])
        if row["customer_id"] and ago(within) <= at < CUTOFF and test(row):
            counts[profile(row["customer_id"])] += 1
    return counts


def newest(rows: list[dict[str, Any]], model: str) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r["as_of"], r["version"])):
        if row["model"] == model and row["as_of"] <= AS_OF:
            latest[row["profile_id"]] = row
    return latest


# -- each subject -----------------------------------------------------------------------------


def test_fields_and_attributes(mart: Datamart, settings: Settings) -> None:
    regions = {c["customer_id"]: c.get("region") for c in CUSTOMERS}
    north = {p for p in PROFILES if regions[p] == "North"}
    assert members(mart, settings, "{field: region, equals: North}") == north
    born = {c["customer_id"]: c.get("birth_date") for c in CUSTOMERS}
    before = {p for p in PROFILES if born[p] is not None and born[p] < dt.date(1980, 1, 1)}
    assert members(mart, settings, "{field: birth_date, below: '1980-01-01'}") == before
    adults = {p for p in PROFILES if born[p] is not None and (AS_OF - born[p]).days >= 18 * 365.25}
    assert members(mart, settings, "{field: age, at_least: 18}") == adults
    sizes = {a["customer_id"]: float(a["value"]) for a in ATTRIBUTES if a["as_of"] < AS_OF}
    big = {p for p, size in sizes.items() if size >= 4}
    assert members(mart, settings, "{attribute: household_size, at_least: 4}") == big
    no_region = {p for p in PROFILES if not regions[p]}
    assert members(mart, settings, "{field: region, missing: true}") == no_region


def test_kpis_from_the_summary(mart: Datamart, settings: Settings) -> None:
    orders = dict.fromkeys(PROFILES, 0)
    for row in TRANSACTIONS:
        if row["kind"] == "sale":
            orders[profile(row["customer_id"])] += 1
    assert members(mart, settings, "{field: orders, at_least: 2}") == {
        p for p, n in orders.items() if n >= 2
    }
    # c5 bought only through c6, a customer record unified into its profile.
    buyers = {p for p, n in orders.items() if n >= 1}
    assert "c5" in buyers
    assert members(mart, settings, "{field: orders, at_least: 1}") == buyers


def test_rule_scores_and_bands(mart: Datamart, settings: Settings) -> None:
    latest = newest(SNAPSHOTS, "engagement")
    assert members(mart, settings, "{score: engagement, at_least: 50}") == {
        p for p, row in latest.items() if row["score"] >= 50
    }
    assert members(mart, settings, "{band: engagement, in: [hot, warm]}") == {
        p for p, row in latest.items() if row["band"] in ("hot", "warm")
    }
    # c1's newest band is warm, c3's is cold (its hot score comes after the as-of date).
    assert members(mart, settings, "{band: engagement, equals: hot}") == {"c2"}
    unscored = set(PROFILES) - set(latest)
    assert members(mart, settings, "{score: engagement, missing: true}") == unscored


def test_model_scores(mart: Datamart, settings: Settings) -> None:
    latest = newest(PREDICTIONS, "churn_90")
    assert members(mart, settings, "{probability: churn_90, above: 0.6}") == {
        p for p, row in latest.items() if row["probability"] > 0.6
    }
    assert members(mart, settings, "{decile: churn_90, at_most: 2}") == {"c2"}


def test_behaviour_windows(mart: Datamart, settings: Settings) -> None:
    views = counted(EVENTS, 30, lambda r: r["event_type"] == "page_view")
    assert views == {"c1": 3, "c2": 2, "c3": 0, "c4": 0, "c5": 3, "c7": 0, "c8": 0}
    target = "{events: page_view, within_days: 30, at_least: 3}"
    assert members(mart, settings, target) == {p for p, n in views.items() if n >= 3}
    # No page view at all in the window: a count of zero, not a missing value.
    target = "{events: [page_view, search], within_days: 30, equals: 0}"
    both = counted(EVENTS, 30, lambda r: r["event_type"] in ("page_view", "search"))
    assert members(mart, settings, target) == {p for p, n in both.items() if n == 0}
    books = counted(TRANSACTIONS, 30, lambda r: r["kind"] == "sale" and r["category"] == "books")
    target = "{transactions: sale, within_days: 30, category: books, at_least: 1}"
    assert members(mart, settings, target) == {p for p, n in books.items() if n >= 1}
    b2 = counted(TRANSACTIONS, 365, lambda r: r["kind"] == "sale" and r["product_id"] == "B2")
    target = "{transactions: sale, within_days: 365, product: B2, at_least: 1}"
    assert members(mart, settings, target) == {p for p, n in b2.items() if n >= 1} == {"c4", "c5"}
    open_complaints = counted(
        INTERACTIONS, 90, lambda r: r["kind"] == "complaint" and r["status"] == "open"
    )
    target = "{interactions: complaint, within_days: 90, status: open, at_least: 1}"
    assert members(mart, settings, target) == {p for p, n in open_complaints.items() if n} == {"c2"}
    clicks = counted(RESPONSES, 30, lambda r: r["kind"] == "click" and r["campaign"] == "spring")
    target = "{responses: click, within_days: 30, campaign: spring, at_least: 1}"
    assert members(mart, settings, target) == {p for p, n in clicks.items() if n} == {"c1"}


def test_segments_and_groups(mart: Datamart, settings: Settings) -> None:
    regions = {c["customer_id"]: c.get("region") for c in CUSTOMERS}
    north = {p for p in PROFILES if regions[p] == "North"}
    assert members(mart, settings, "{segment: loyal_north}") == north
    assert members(mart, settings, "{not: {segment: loyal_north}}") == set(PROFILES) - north
    latest = newest(SNAPSHOTS, "engagement")
    warm = {p for p, row in latest.items() if row["band"] == "warm"}
    target = "{any: [{segment: loyal_north}, {band: engagement, equals: warm}]}"
    assert members(mart, settings, target) == north | warm
    target = "{all: [{segment: loyal_north}, {not: {score: engagement, missing: true}}]}"
    assert members(mart, settings, target) == north & set(latest)


def test_one_expression_per_target(mart: Datamart, settings: Settings) -> None:
    """Every subject at once compiles to one expression that the backend runs as one query."""
    text = """
    all:
      - {field: region, in: [North, South, East]}
      - {attribute: household_size, missing: false}
      - {score: engagement, at_least: 0}
      - {probability: churn_90, below: 0.9}
      - {events: page_view, within_days: 60, at_least: 1}
      - {transactions: sale, within_days: 365, at_least: 1}
      - {not: {interactions: complaint, within_days: 90, at_least: 1}}
      - {any: [{responses: click, within_days: 30, at_least: 1}, {segment: loyal_north}]}
    """
    assert members(mart, settings, text) == {"c1"}


# -- the description ---------------------------------------------------------------------------


def test_describe_gives_one_line_per_test() -> None:
    target = parse_target_text(
        """
        all:
          - {field: region, equals: North}
          - {events: page_view, within_days: 30, at_least: 3}
          - not: {segment: vip}
          - {transactions: sale, within_days: 90, category: [books, toys], equals: 0}
        """
    )
    assert target.describe() == [
        "field region equals North",
        "events page_view in the last 30 days: at least 3",
        "not: member of segment vip",
        "transactions sale, category books or toys in the last 90 days: equals 0",
    ]
    assert target.names("segment") == ["vip"]


# -- bad targets -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def duck(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Datamart, Settings]]:
    settings_ = Settings(db=str(tmp_path_factory.mktemp("targets") / "datamart.duckdb"))
    dm = connect(settings_)
    migrate(dm)
    build(dm)
    yield dm, settings_
    dm.close()


def fails(duck: tuple[Datamart, Settings], text: str, source: str | None = None) -> str:
    dm, settings_ = duck
    with pytest.raises((ConfigError, NotFoundError)) as caught:
        target = parse_target_text(text, source=source)
        target_members(dm, settings_, target, AS_OF)
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "{field: regoin, equals: North}",
            "unknown field 'regoin' (did you mean 'region'?); fields are the customer's columns",
        ),
        (
            "{attribute: houshold_size, at_least: 2}",
            "unknown third-party attribute 'houshold_size' (did you mean 'household_size'?); "
            "the datamart has: household_size",
        ),
        (
            "{score: engagment, at_least: 50}",
            "no scoring model 'engagment' with scores (did you mean 'engagement'?); the models "
            "with scores are: engagement, loyalty",
        ),
        (
            "{band: engagement, equals: hott}",
            "no band 'hott' of scoring model 'engagement' (did you mean 'hot'?); its bands are: "
            "cold, hot, warm",
        ),
        (
            "{probability: churn90, above: 0.5}",
            "no predictive model 'churn90' with scores (did you mean 'churn_90'?)",
        ),
        (
            "{events: page_veiw, within_days: 30, at_least: 1}",
            "unknown event type 'page_veiw' (did you mean 'page_view'?); the known ones are: ",
        ),
        (
            "{interactions: complains, within_days: 30, at_least: 1}",
            "unknown kind of interactions 'complains' (did you mean 'complaint'?)",
        ),
        (
            "{segment: loyal_nort}",
            "no saved segment 'loyal_nort' (did you mean 'loyal_north'?); the saved segments "
            "are: loyal_north, recent_buyers",
        ),
        (
            "{field: employees, at_least: many}",
            "type mismatch: field 'employees' is a number but 'at_least' got 'many'",
        ),
        (
            "{field: region, equals: 3}",
            "type mismatch: field 'region' is text (put a code that looks like a number in "
            "quotes, e.g. '75001') but 'equals' got 3",
        ),
        (
            "{field: birth_date, below: 1980}",
            "type mismatch: field 'birth_date' is a date (write it as 2026-01-31) but 'below' "
            "got 1980",
        ),
        (
            "{field: birth_date, below: 'last year'}",
            "type mismatch: field 'birth_date' is a date",
        ),
        (
            "{field: segment, in: [Loyal, Champion]}",
            "no RFM segment 'Champion' (did you mean 'Champions'?); the RFM segments are: "
            "Lost, Hibernating, At Risk",
        ),
        ("{field: value_tier, equals: E}", "no value tier 'E'; the value tiers are: A, B, C, D"),
        (
            "{field: orders, in: [1, two]}",
            "type mismatch: field 'orders' is a number but 'in' got 'two'",
        ),
    ],
)
def test_datamart_checks_name_the_problem(
    duck: tuple[Datamart, Settings], text: str, expected: str
) -> None:
    assert expected in fails(duck, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{segment: vip, equals: true}", "'segment: vip' selects the segment's members and takes"),
        ("{events: page_view, at_least: 1}", "counting events needs 'within_days'"),
        (
            "{events: page_view, within_days: 7, category: books, at_least: 1}",
            "'category' does not filter events; its filters are: channel, object",
        ),
        ("{field: region, within_days: 7, equals: North}", "within_days only apply to a count"),
        (
            "{events: page_view, within_days: 7, at_least: often}",
            "type mismatch: a count is a number, but 'at_least' got 'often'",
        ),
        ("{score: engagement, equals: high}", "type mismatch: a score is a number"),
        ("{band: engagement, at_least: 3}", "a band is a name: 'at_least' does not apply to it"),
        (
            "{region: North}",
            "unknown key 'region'; a test names its subject with one of field, attribute, "
            "score, band, probability, decile, events, transactions, interactions, responses, "
            "segment (to test a field, write {field: region, equals: ...})",
        ),
        ("{field: region}", "a condition has exactly one operator of equals"),
        ("{scroe: engagement, at_least: 1}", "unknown key 'scroe' (did you mean 'score'?)"),
        ("{events: page_view, within_days: 0, at_least: 1}", "within_days"),
        ("[a, b]", "a target is a condition mapping"),
    ],
)
def test_the_file_is_checked_first(
    duck: tuple[Datamart, Settings], text: str, expected: str
) -> None:
    assert expected in fails(duck, text)


def test_errors_give_the_file_and_line(duck: tuple[Datamart, Settings], tmp_path: Path) -> None:
    text = "all:\n  - {field: region, equals: North}\n  - {field: ordrs, at_least: 3}\n"
    assert fails(duck, text, source="spring.yaml").startswith("spring.yaml, line 3: unknown field")
    text = "any:\n  - {segment: loyal_north}\n  - segment: vipp\n"
    assert fails(duck, text, source="spring.yaml").startswith("spring.yaml, line 3: no saved")
    text = "all:\n  - {field: region, equals: North}\n  - {events: page_view, at_least: 3}\n"
    assert fails(duck, text, source="spring.yaml").startswith("spring.yaml, line 3: ")
    # A target inside a campaign file read with the line-aware reader keeps its lines.
    path = tmp_path / "campaign.yaml"
    path.write_text("name: spring\ntarget:\n  all:\n    - {field: age, at_least: old}\n")
    data = read_yaml(path)
    dm, settings_ = duck
    with pytest.raises(ConfigError, match=r"campaign\.yaml, line 4: type mismatch: field 'age'"):
        target_members(dm, settings_, parse_target(data["target"], source=path), AS_OF)


def test_a_model_without_scores_says_how_to_score_it(duck: tuple[Datamart, Settings]) -> None:
    dm, _ = duck
    put(dm, "predictive_models", [{"name": "upsell", "version": 1}])
    assert "predictive model 'upsell' has no scores yet" in fails(
        duck, "{decile: upsell, at_most: 3}"
    )


# -- the documentation's examples ------------------------------------------------------------

DOC = REPO / "docs" / "campaign-targets.md"


def doc_targets() -> list[str]:
    blocks = re.findall(r"^```yaml\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.S | re.M)
    return [b for b in blocks if b.lstrip().startswith("target:")]


def test_the_documented_targets_run(duck: tuple[Datamart, Settings]) -> None:
    dm, settings_ = duck
    examples = doc_targets()
    assert len(examples) >= 5
    for text in examples:
        target = parse_target(yaml.safe_load(text)["target"], source=DOC)
        dm.to_pyarrow(target_members(dm, settings_, target, AS_OF))


# -- properties: the groups are set algebra over the base ----------------------------------------

LEAVES = (
    "{field: region, equals: North}",
    "{field: region, in: [South, East]}",
    "{attribute: household_size, at_least: 4}",
    "{score: engagement, at_least: 50}",
    "{band: engagement, equals: warm}",
    "{probability: churn_90, below: 0.5}",
    "{events: page_view, within_days: 30, at_least: 2}",
    "{transactions: sale, within_days: 60, at_least: 1}",
    "{segment: loyal_north}",
)


def trees() -> st.SearchStrategy[Any]:
    leaf = st.sampled_from(range(len(LEAVES)))

    def grow(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        lists = st.lists(children, min_size=1, max_size=3)
        return st.one_of(
            lists.map(lambda parts: ("all", parts)),
            lists.map(lambda parts: ("any", parts)),
            children.map(lambda part: ("not", part)),
        )

    return st.recursive(leaf, grow, max_leaves=5)


def as_yaml(tree: Any) -> Any:
    if isinstance(tree, int):
        return yaml.safe_load(LEAVES[tree])
    op, parts = tree
    if op == "not":
        return {"not": as_yaml(parts)}
    return {op: [as_yaml(p) for p in parts]}


def expected(tree: Any, leaf_sets: list[set[str]]) -> set[str]:
    if isinstance(tree, int):
        return leaf_sets[tree]
    op, parts = tree
    if op == "not":
        return set(PROFILES) - expected(parts, leaf_sets)
    sets = [expected(p, leaf_sets) for p in parts]
    return set.intersection(*sets) if op == "all" else set.union(*sets)


@pytest.fixture(scope="module")
def leaf_sets(duck: tuple[Datamart, Settings]) -> list[set[str]]:
    dm, settings_ = duck
    return [members(dm, settings_, text) for text in LEAVES]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tree=trees())
def test_groups_are_intersection_union_and_complement(
    duck: tuple[Datamart, Settings], leaf_sets: list[set[str]], tree: Any
) -> None:
    dm, settings_ = duck
    target: Target = parse_target(as_yaml(tree))
    found = dm.to_pyarrow(target_members(dm, settings_, target, AS_OF))
    assert set(found.column("profile_id").to_pylist()) == expected(tree, leaf_sets)


def test_the_cli_reports_a_bad_target_in_one_line(
    cli: Callable[..., Any], duckdb_settings: Settings, tmp_path: Path
) -> None:
    with connect(duckdb_settings) as dm:
        migrate(dm)
        build(dm)
    campaign = tmp_path / "spring.yaml"
    campaign.write_text(
        "name: spring\nchannel: email\noffers:\n  - {id: S1, name: Spring}\ntarget:\n  all:\n"
        "    - {segment: loyal_north}\n    - {field: orders, at_least: many}\n"
    )
    result = cli("--db", duckdb_settings.db, "campaign", "preview", campaign, "--json")
    assert result.code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {campaign}, line 8: type mismatch: field 'orders' is a number but 'at_least' "
        "got 'many'"
    ]


# -- properties: counts in windows are plain counts -------------------------------------------

EVENT_TYPES = ("page_view", "search", "cart_add")
OPERATORS = {
    "at_least": lambda count, n: count >= n,
    "at_most": lambda count, n: count <= n,
    "equals": lambda count, n: count == n,
}


@pytest.fixture(scope="module")
def blank(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Datamart, Settings]]:
    """Customers and their profiles only: a property test brings its own behaviour."""
    settings_ = Settings(db=str(tmp_path_factory.mktemp("windows") / "datamart.duckdb"))
    dm = connect(settings_)
    migrate(dm)
    insert(dm, "customers", CUSTOMERS)
    put(dm, "identity", [{"customer_id": "c6", "profile_id": "c5"}])
    yield dm, settings_
    dm.close()


event_rows = st.lists(
    st.tuples(
        st.sampled_from([c["customer_id"] for c in CUSTOMERS]),
        st.sampled_from(EVENT_TYPES),
        st.integers(0, 24 * 45),  # hours before the start of the as-of date
        st.sampled_from(["web", "app", None]),
    ),
    max_size=40,
)
windows = st.lists(
    st.tuples(
        st.lists(st.sampled_from(EVENT_TYPES), min_size=1, max_size=2, unique=True),
        st.integers(1, 40),
        st.sampled_from([None, "web", "app"]),
        st.sampled_from(sorted(OPERATORS)),
        st.integers(0, 4),
    ),
    min_size=1,
    max_size=3,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=event_rows, tests=windows)
def test_counts_in_windows_are_plain_counts(
    blank: tuple[Datamart, Settings], rows: list[Any], tests: list[Any]
) -> None:
    dm, settings_ = blank
    dm.sql("DELETE FROM events")
    if rows:
        insert(
            dm,
            "events",
            [
                {"customer_id": c, "event_type": t, "occurred_at": ago(h / 24), "channel": ch}
                for c, t, h, ch in rows
            ],
        )
    leaves = []
    for types, days, channel, operator, threshold in tests:
        leaf: dict[str, Any] = {"events": types, "within_days": days, operator: threshold}
        if channel is not None:
            leaf["channel"] = channel
        leaves.append(leaf)

    def holds(profile_id: str, types: list[str], days: int, channel: str | None, op: str, n: int):
        count = sum(
            1
            for c, t, h, ch in rows
            if profile(c) == profile_id
            and t in types
            and 0 < h <= 24 * days
            and (channel is None or ch == channel)
        )
        return OPERATORS[op](count, n)

    wanted = {p for p in PROFILES if all(holds(p, *test) for test in tests)}
    assert members(dm, settings_, {"all": leaves}) == wanted
