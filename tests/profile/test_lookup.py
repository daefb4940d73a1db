"""The fast profile lookup on both backends: parameterised queries, the same answers as the
sections run directly, and a default as-of date that follows new transactions."""

from __future__ import annotations

import dataclasses
import datetime as dt
from concurrent.futures import Future

import pandas as pd
import pyarrow as pa
import pytest

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.schema import TABLES
from clientela.errors import DataError
from clientela.profile import sections
from clientela.services import default_as_of, get_profile
from tests.profile._data import AS_OF
from tests.profile.test_services import _details, _insert


def test_records_binds_parameters_and_names_columns(loaded: Datamart) -> None:
    rows = loaded.records(
        "SELECT customer_id, email FROM customers WHERE customer_id IN (?, ?) "
        "AND email LIKE 'c%' ORDER BY customer_id",
        ["c002", "c001"],
    )
    assert rows == [
        {"customer_id": "c001", "email": "c001@example.com"},
        {"customer_id": "c002", "email": "c002@example.com"},
    ]
    assert loaded.records("SELECT customer_id FROM customers WHERE email = ?", [None]) == []


def test_submitted_records_are_the_records_and_see_the_transaction(loaded: Datamart) -> None:
    query = "SELECT customer_id, city FROM customers WHERE customer_id IN (?, ?) ORDER BY 1"
    started = [loaded.submit_records(query, ["c001", "c002"]) for _ in range(5)]
    assert [future.result() for future in started] == [loaded.records(query, ["c001", "c002"])] * 5
    before = loaded.generation
    with loaded.transaction():
        loaded.sql("UPDATE customers SET city = ? WHERE customer_id = ?", ["Leeds", "c001"])
        # Uncommitted: only the transaction's own connection sees the new city.
        seen = loaded.submit_records("SELECT city FROM customers WHERE customer_id = ?", ["c001"])
        assert seen.result() == [{"city": "Leeds"}]
    assert loaded.generation == before + 1
    failed = loaded.submit_records("SELECT * FROM no_such_table")
    with pytest.raises(Exception, match="no_such_table"):
        failed.result()


def test_concurrent_lookups_match_the_sequential_ones(
    loaded: Datamart, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _details(loaded)
    concurrent = [get_profile(loaded, settings, c, as_of=AS_OF) for c in ("c000", "c003", "c007")]

    def one_by_one(query: str, params: list[object] | None = None) -> Future[list[object]]:
        done: Future[list[object]] = Future()
        done.set_result(loaded.records(query, params))  # type: ignore[arg-type]
        return done

    monkeypatch.setattr(loaded, "submit_records", one_by_one)
    assert concurrent == [
        get_profile(loaded, settings, c, as_of=AS_OF) for c in ("c000", "c003", "c007")
    ]
    loaded.close()  # the cursors close with the connection


def test_generation_counts_writes_not_reads(loaded: Datamart) -> None:
    before = loaded.generation
    loaded.sql("SELECT count(*) FROM customers")
    loaded.records("WITH c AS (SELECT 1 AS one) SELECT one FROM c")
    assert loaded.generation == before
    loaded.sql("UPDATE customers SET city = ? WHERE customer_id = ?", ["York", "c001"])
    assert loaded.generation == before + 1
    event = ("x", "c001", dt.datetime(2026, 1, 1))
    _insert(loaded, "events", "event_id customer_id occurred_at", [event])
    assert loaded.generation == before + 2


def test_default_as_of_follows_new_transactions(
    loaded: Datamart, frames: dict[str, pd.DataFrame]
) -> None:
    newest = frames["transactions"].occurred_at.max().date()
    assert default_as_of(loaded) == newest + dt.timedelta(days=1)
    later = dt.datetime.combine(newest + dt.timedelta(days=40), dt.time(9))
    sale = ("tnew", "c005", later, 10.0)
    _insert(loaded, "transactions", "transaction_id customer_id occurred_at amount", [sale])
    assert default_as_of(loaded) == later.date() + dt.timedelta(days=1)


def _direct(dm: Datamart, expr: object) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = dm.to_pyarrow(expr).to_pylist()  # type: ignore[arg-type]
    return rows


def test_profile_matches_the_sections_run_directly(loaded: Datamart, settings: Settings) -> None:
    _details(loaded)
    profile = get_profile(loaded, settings, "c000", as_of=AS_OF, page=2, page_size=3)
    ids = ["c000", "c001"]
    t = loaded.table
    third = _direct(loaded, sections.latest_third_party(t("third_party"), ids, AS_OF))
    assert [dataclasses.asdict(a) for a in profile.third_party] == third
    counts = _direct(loaded, sections.event_counts(t("events"), ids, AS_OF))
    assert [e.event_type for e in profile.behaviour.events] == [r["event_type"] for r in counts]
    assert [e.last_90_days for e in profile.behaviour.events] == [r["last_90_days"] for r in counts]
    objects = _direct(loaded, sections.top_objects(t("events"), ids, AS_OF))
    assert [(o.object_id, o.events) for o in profile.behaviour.top_objects] == [
        (r["object_id"], r["events"]) for r in objects
    ]
    consents = _direct(loaded, sections.latest_consents(t("consents"), ids, AS_OF))
    assert [dataclasses.asdict(c) for c in profile.consents.statuses] == consents
    timeline = _direct(loaded, sections.timeline(t("transactions"), t("interactions"), ids, AS_OF))
    assert profile.timeline.total == len(timeline)
    assert [e.reference for e in profile.timeline.entries] == [
        r["reference"] for r in timeline[3:6]
    ]


def test_timeline_page_past_the_end_still_counts_the_entries(
    loaded: Datamart, settings: Settings
) -> None:
    first = get_profile(loaded, settings, "c000", as_of=AS_OF)
    beyond = get_profile(loaded, settings, "c000", as_of=AS_OF, page=99, page_size=5)
    assert beyond.timeline.entries == () and beyond.timeline.total == first.timeline.total > 0


def test_key_shared_by_two_profiles_is_ambiguous(loaded: Datamart, settings: Settings) -> None:
    schema = TABLES["customers"]
    row = {"customer_id": "c900", "email": "c007@example.com", "is_placeholder": False}
    loaded.bulk_insert(
        "customers",
        pa.Table.from_pylist(
            [row], schema=pa.schema([pa.field(c, schema[c].to_pyarrow()) for c in row])
        ),
    )
    with pytest.raises(DataError, match=r"matches customers of 2 profiles \(c007, c900\)"):
        get_profile(loaded, settings, "c007@example.com", as_of=AS_OF)
    assert get_profile(loaded, settings, "c900", as_of=AS_OF).customer_id == "c900"
