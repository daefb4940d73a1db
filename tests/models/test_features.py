"""Point-in-time features and labels on every backend, worked out by hand; rows dated after the
cut-off never change a feature; a cut-off outside the data and an outcome window past it are
refused."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clientela.datamart import Datamart
from clientela.errors import DataError
from clientela.models import Target
from clientela.services.predictive import build_examples, check_window, choose_features
from tests.models._data import AS_OF, CUTOFF, hand_built, insert

PRODUCT_P1 = Target("propensity", 30, product="p1")


def _examples(dm: Datamart, target: Target) -> pd.DataFrame:
    return build_examples(dm, AS_OF, target, choose_features(dm, AS_OF, target))


def test_features_as_worked_out_by_hand(datamart: Datamart) -> None:
    hand_built(datamart)
    frame = _examples(datamart, PRODUCT_P1)
    assert list(frame.index) == ["a", "b"]  # c was created after the cut-off
    a, b = frame.loc["a"], frame.loc["b"]
    expected_a = {
        "city": "Leeds",
        "age": 35,  # born 1990-06-02: not yet 36 on 2026-06-01
        "tenure_days": 516,
        "orders": 2,
        "revenue": 25.0,  # 10 + 20 - 5
        "returned_amount": 5.0,
        "returns": 1,
        "orders_30d": 1,
        "revenue_30d": 5.0,
        "orders_365d": 2,
        "days_since_last_purchase": 12,
        "days_since_first_purchase": 182,
        "average_order_value": 12.5,
        "target_orders": 0,
        "events_email_open_30d": 1,  # the open at the cut-off itself is not seen
        "days_since_email_open": 1,
        "interactions_complaint": 1,
        "open_issues": 1,  # closed on 2026-06-05, after the cut-off: open then
        "outcome_resolved": 0,  # known only when it closed
        "social_like": 1,
        "social_sentiment": 0.5,
        "consent_email": "opt_out",
        "attr_income": "100",  # the value dated on the cut-off day is not seen
        "label": 0,
    }
    for column, value in expected_a.items():
        assert a[column] == value, column
    assert b["attr_income"] == "50"  # undated: counts
    assert b["outcome_accepted"] == 1  # the call of 2026-05-10, not the one of 2026-06-05
    assert b["orders"] == 0 and pd.isna(b["days_since_last_purchase"])
    assert b["label"] == 1


@pytest.mark.parametrize(
    ("target", "labels"),
    [
        (PRODUCT_P1, {"a": 0, "b": 1}),
        (Target("propensity", 30), {"a": 0, "b": 1}),
        (Target("churn", 30), {"a": 1}),  # a bought before and not in the window; b never did
        (Target("response", 30, campaign="X"), {"b": 1}),
        (Target("conversion", 30), {"b": 1}),  # a had bought before the cut-off
        (Target("propensity", 5, product="p1"), {"a": 0, "b": 0}),  # b buys on day 10
    ],
    ids=["product", "any", "churn", "response", "conversion", "short-window"],
)
def test_labels_of_each_kind(datamart: Datamart, target: Target, labels: dict[str, int]) -> None:
    hand_built(datamart)
    assert _examples(datamart, target)["label"].to_dict() == labels


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=400 * 24 * 60), min_size=1, max_size=6),
    customer=st.sampled_from(["a", "b", "c"]),
)
def test_rows_after_the_cutoff_never_change_the_features(
    datamart: Datamart, offsets: list[int], customer: str
) -> None:
    if not datamart.sql("SELECT count(*) FROM customers")[0][0]:
        hand_built(datamart)
    target = Target("propensity", 30)
    spec = choose_features(datamart, AS_OF, target)
    before = build_examples(datamart, AS_OF, target, spec).drop(columns="label")
    later = [CUTOFF + dt.timedelta(minutes=m) for m in offsets]
    tables = ("transactions", "events", "interactions", "social", "consents", "third_party")
    insert(
        datamart,
        "transactions",
        [
            {
                "order_id": f"late{i}",
                "customer_id": customer,
                "occurred_at": t,
                "amount": 99.0,
                "kind": "sale" if i % 2 else "return",
                "product_id": "p1",
            }
            for i, t in enumerate(later)
        ],
    )
    insert(
        datamart,
        "events",
        [{"customer_id": customer, "occurred_at": t, "event_type": "email_open"} for t in later],
    )
    insert(
        datamart,
        "interactions",
        [
            {
                "customer_id": customer,
                "occurred_at": t,
                "kind": "complaint",
                "outcome": "accepted",
                "status": "open",
            }
            for t in later
        ],
    )
    insert(
        datamart,
        "social",
        [
            {
                "customer_id": customer,
                "network": "x",
                "kind": "like",
                "sentiment": -1.0,
                "occurred_at": t,
            }
            for t in later
        ],
    )
    insert(
        datamart,
        "consents",
        [
            {"customer_id": customer, "channel": "email", "status": "opt_in", "recorded_at": t}
            for t in later
        ],
    )
    insert(
        datamart,
        "third_party",
        [
            {"customer_id": customer, "attribute": "income", "value": "999", "as_of": t.date()}
            for t in later
        ],
    )
    try:
        after = build_examples(datamart, AS_OF, target, spec).drop(columns="label")
        pd.testing.assert_frame_equal(before, after)
    finally:
        for table in tables:
            column = (
                "as_of"
                if table == "third_party"
                else ("recorded_at" if table == "consents" else "occurred_at")
            )
            datamart.sql(f"DELETE FROM {table} WHERE {column} >= ?", [AS_OF])


def test_a_cutoff_outside_the_data_is_refused(datamart: Datamart) -> None:
    hand_built(datamart)
    target = Target("propensity", 30)
    with pytest.raises(
        DataError,
        match=r"cut-off 2031-01-01 is after the data, which ends on "
        r"2026-06-10",
    ):
        check_window(datamart, dt.date(2031, 1, 1), target)
    with pytest.raises(
        DataError,
        match=r"cut-off 2020-01-01 is not after the data, which "
        r"starts on 2025-12-01",
    ):
        check_window(datamart, dt.date(2020, 1, 1), target)


def test_an_outcome_window_past_the_data_is_refused(datamart: Datamart) -> None:
    hand_built(datamart)
    with pytest.raises(
        DataError,
        match=r"outcome window 2026-06-01 to 2026-08-29 runs past the data, which ends on "
        r"2026-06-10: choose a cut-off on or before 2026-03-13, or fewer outcome days \(at "
        r"most 10 from 2026-06-01\)",
    ):
        check_window(datamart, AS_OF, Target("propensity", 90))
    check_window(datamart, AS_OF, Target("propensity", 10))
