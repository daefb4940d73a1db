"""Identity resolution on every backend, checked against plain-Python connected components."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from clientela.config import IdentityRule, Settings
from clientela.datamart import Datamart, connect, migrate
from clientela.datamart.ingest.identity import (
    merge_log,
    profile_members,
    resolve,
    undo_merge,
    unify,
    with_profile,
)
from clientela.errors import DataError, NotFoundError

T0 = dt.datetime(2026, 11, 1, 9, 0)
T1 = dt.datetime(2026, 11, 2, 9, 0)
T2 = dt.datetime(2026, 11, 3, 9, 0)

Row = tuple[str, str | None, str | None]  # customer_id, email, phone


def add_customers(dm: Datamart, rows: Sequence[Row], *, placeholder: bool = False) -> None:
    dm.bulk_insert(
        "customers",
        pa.table(
            {
                "customer_id": pa.array([r[0] for r in rows], pa.string()),
                "email": pa.array([r[1] for r in rows], pa.string()),
                "phone": pa.array([r[2] for r in rows], pa.string()),
                "is_placeholder": pa.array([placeholder] * len(rows), pa.bool_()),
            }
        ),
    )


def profiles(dm: Datamart) -> dict[str, str]:
    return {str(c): str(p) for c, p in dm.sql("SELECT customer_id, profile_id FROM identity")}


def with_rule(settings: Settings, **rule: Any) -> Settings:
    return settings.model_copy(update={"identity": IdentityRule(**rule)})


# -- unify -----------------------------------------------------------------------------------


def test_transitive_chain_is_one_profile(datamart: Datamart, settings: Settings) -> None:
    add_customers(
        datamart,
        [
            ("c", None, "+442079460001"),
            ("b", "b@example.com", "+442079460001"),
            ("a", "b@example.com", None),
            ("d", "d@example.com", "+442079460002"),
        ],
    )
    report = unify(datamart, settings, at=T0)
    assert profiles(datamart) == {"a": "a", "b": "a", "c": "a", "d": "d"}
    assert (report.customers, report.profiles, report.new_merges, report.unchanged) == (4, 2, 2, 0)
    log = {m.customer_id: m for m in merge_log(datamart)}
    assert set(log) == {"b", "c"}
    assert (log["b"].profile_id, log["b"].matched_on, log["b"].key_value) == (
        "a",
        "email",
        "b@example.com",
    )
    assert (log["c"].matched_on, log["c"].key_value) == ("phone", "+442079460001")
    assert all(m.status == "active" and m.merged_at == T0 for m in log.values())


def test_match_all_needs_every_key(datamart: Datamart, settings: Settings) -> None:
    rows: list[Row] = [
        ("a", "x@example.com", "+442079460001"),
        ("b", "x@example.com", "+442079460001"),
        ("c", "x@example.com", "+442079460002"),
        ("d", "x@example.com", None),
    ]
    add_customers(datamart, rows)
    unify(datamart, with_rule(settings, match="all"), at=T0)
    assert profiles(datamart) == {"a": "a", "b": "a", "c": "c", "d": "d"}
    assert [(m.customer_id, m.matched_on, m.key_value) for m in merge_log(datamart)] == [
        ("b", "email+phone", "x@example.com +442079460001")
    ]
    unify(datamart, with_rule(settings, match="any"), at=T1)
    assert set(profiles(datamart).values()) == {"a"}


def test_only_the_configured_keys_link(datamart: Datamart, settings: Settings) -> None:
    add_customers(datamart, [("a", "x@example.com", None), ("b", "x@example.com", None)])
    unify(datamart, with_rule(settings, keys=("phone",)), at=T0)
    assert profiles(datamart) == {"a": "a", "b": "b"}


def test_nulls_empty_keys_and_placeholders_never_link(
    datamart: Datamart, settings: Settings
) -> None:
    add_customers(datamart, [("a", None, ""), ("b", None, ""), ("c", "", None), ("d", "", None)])
    add_customers(datamart, [("p1", "shared@example.com", None)], placeholder=True)
    add_customers(datamart, [("p2", "shared@example.com", None)])
    report = unify(datamart, settings, at=T0)
    assert profiles(datamart) == {c: c for c in ("a", "b", "c", "d", "p1", "p2")}
    assert (report.profiles, report.new_merges) == (6, 0)
    assert merge_log(datamart) == []


def test_unify_twice_changes_nothing(datamart: Datamart, settings: Settings) -> None:
    add_customers(datamart, [("a", "x@example.com", None), ("b", "x@example.com", None)])
    unify(datamart, settings, at=T0)
    before = datamart.sql("SELECT * FROM identity ORDER BY customer_id")
    report = unify(datamart, settings, at=T1)
    assert (report.new_merges, report.unchanged) == (0, 2)
    assert datamart.sql("SELECT * FROM identity ORDER BY customer_id") == before
    assert datamart.sql("SELECT count(*) FROM identity_merges")[0][0] == 1


def test_a_smaller_newcomer_takes_over_the_profile(datamart: Datamart, settings: Settings) -> None:
    add_customers(datamart, [("b", "x@example.com", None), ("c", "x@example.com", None)])
    unify(datamart, settings, at=T0)
    add_customers(datamart, [("a", "x@example.com", None), ("e", None, None)])
    report = unify(datamart, settings, at=T1)
    assert profiles(datamart) == {"a": "a", "b": "a", "c": "a", "e": "e"}
    assert (report.new_merges, report.unchanged) == (2, 0)  # b and c moved; a and e are new
    statuses = {(m.customer_id, m.profile_id): m.status for m in merge_log(datamart)}
    assert statuses == {("c", "b"): "superseded", ("b", "a"): "active", ("c", "a"): "active"}
    stamped = dict(datamart.sql("SELECT customer_id, updated_at FROM identity"))
    assert stamped == {"a": T1, "b": T1, "c": T1, "e": T1}


def test_profiles_use_byte_order_on_every_backend(datamart: Datamart, settings: Settings) -> None:
    # In many PostgreSQL locales 'a' sorts before 'B'; the profile id must not depend on that.
    add_customers(datamart, [("a", "x@example.com", None), ("B", "x@example.com", None)])
    unify(datamart, settings, at=T0)
    assert profiles(datamart) == {"a": "B", "B": "B"}


def test_unify_joins_the_callers_transaction(datamart: Datamart, settings: Settings) -> None:
    add_customers(datamart, [("a", "x@example.com", None), ("b", "x@example.com", None)])
    with pytest.raises(RuntimeError), datamart.transaction():
        unify(datamart, settings, at=T0)
        raise RuntimeError("the caller fails afterwards")
    assert profiles(datamart) == {}
    assert merge_log(datamart) == []


def test_too_long_a_chain_is_reported(datamart: Datamart, settings: Settings) -> None:
    chain = [
        (f"c{i:02d}", f"e{i // 2}@example.com", f"+4420794600{(i + 1) // 2:02d}") for i in range(40)
    ]
    add_customers(datamart, chain)
    with pytest.raises(DataError, match="did not converge in 2 rounds"):
        unify(datamart, settings, at=T0, max_rounds=2)
    report = unify(datamart, settings, at=T0)
    assert report.profiles == 1
    assert report.rounds <= 10  # pointer jumping: about log2(40) rounds, not 40


# -- undo ------------------------------------------------------------------------------------


def _chain(dm: Datamart, settings: Settings) -> dict[str, str]:
    add_customers(
        dm,
        [
            ("a", "a@example.com", None),
            ("b", "a@example.com", "+442079460001"),
            ("c", None, "+442079460001"),
        ],
    )
    unify(dm, settings, at=T0)
    return {m.customer_id: m.merge_id for m in merge_log(dm)}


def test_undo_splits_the_customer_and_who_hung_on_it(
    datamart: Datamart, settings: Settings
) -> None:
    merge_ids = _chain(datamart, settings)
    undone = undo_merge(datamart, merge_ids["b"], at=T1, settings=settings)
    assert (undone.customer_id, undone.undone_at, undone.status) == ("b", T1, "undone")
    assert profiles(datamart) == {"a": "a", "b": "b", "c": "c"}  # c was linked only through b
    assert datamart.sql("SELECT customer_id, merge_id FROM identity_exclusions") == [
        ("b", merge_ids["b"])
    ]
    report = unify(datamart, settings, at=T2)
    assert report.new_merges == 0
    assert profiles(datamart) == {"a": "a", "b": "b", "c": "c"}
    statuses = {m.customer_id: m.status for m in merge_log(datamart)}
    assert statuses == {"b": "undone", "c": "superseded"}


def test_undo_without_settings_waits_for_the_next_unify(
    datamart: Datamart, settings: Settings
) -> None:
    merge_ids = _chain(datamart, settings)
    undo_merge(datamart, merge_ids["b"], at=T1)
    assert profiles(datamart) == {"a": "a", "b": "b", "c": "a"}
    unify(datamart, settings, at=T2)
    assert profiles(datamart) == {"a": "a", "b": "b", "c": "c"}


def test_undo_twice_changes_nothing(datamart: Datamart, settings: Settings) -> None:
    merge_ids = _chain(datamart, settings)
    first = undo_merge(datamart, merge_ids["c"], at=T1, settings=settings)
    again = undo_merge(datamart, merge_ids["c"], at=T2, settings=settings)
    assert again.undone_at == first.undone_at == T1
    assert datamart.sql("SELECT count(*) FROM identity_exclusions")[0][0] == 1
    assert profiles(datamart) == {"a": "a", "b": "a", "c": "c"}


def test_undo_unknown_merge_suggests_the_close_one(datamart: Datamart, settings: Settings) -> None:
    merge_id = _chain(datamart, settings)["b"]
    typo = merge_id[:-1] + ("0" if merge_id[-1] != "0" else "1")
    with pytest.raises(NotFoundError, match=f"no merge '{typo}'.*did you mean '{merge_id}'"):
        undo_merge(datamart, typo)


# -- looking up ------------------------------------------------------------------------------


def test_resolve_by_each_kind_of_key(datamart: Datamart, settings: Settings) -> None:
    _chain(datamart, settings)
    assert resolve(datamart, "c", "GB") == "a"
    assert resolve(datamart, "  A@Example.COM ", "GB") == "a"
    assert resolve(datamart, "020 7946 0001", "GB") == "a"  # national format, read in GB
    assert resolve(datamart, "+44 20 7946 0001", "ES") == "a"
    with pytest.raises(NotFoundError) as caught:
        resolve(datamart, "020 7946 0009", "GB")
    assert str(caught.value) == (
        "no customer matches '020 7946 0009': tried customer id '020 7946 0009', "
        "phone '+442079460009'"
    )
    with pytest.raises(NotFoundError, match=r"tried customer id 'z@example\.com', e-mail"):
        resolve(datamart, "z@example.com", "GB")


def test_resolve_before_unify_gives_the_customer_itself(datamart: Datamart) -> None:
    add_customers(datamart, [("cust-1001", "k@example.com", None)])
    assert resolve(datamart, "k@example.com", "GB") == "cust-1001"
    assert profile_members(datamart, "cust-1001") == ["cust-1001"]
    with pytest.raises(NotFoundError, match="did you mean 'cust-1001'"):
        resolve(datamart, "cust-1010", "GB")


def test_profile_members(datamart: Datamart, settings: Settings) -> None:
    _chain(datamart, settings)
    assert profile_members(datamart, "a") == ["a", "b", "c"]
    with pytest.raises(NotFoundError, match="customer 'b' belongs to profile 'a'"):
        profile_members(datamart, "b")
    with pytest.raises(NotFoundError, match="no profile 'zz'"):
        profile_members(datamart, "zz")


def test_with_profile_aggregates_by_unified_profile(datamart: Datamart, settings: Settings) -> None:
    _chain(datamart, settings)
    add_customers(datamart, [("d", None, None)])  # not unified yet: its own profile
    amounts = pd.DataFrame(
        {"transaction_id": ["t1", "t2", "t3", "t4"], "customer_id": ["a", "c", "d", "b"]}
    )
    amounts["amount"] = [10.0, 5.0, 7.0, 1.0]
    datamart.bulk_insert("transactions", pa.Table.from_pandas(amounts, preserve_index=False))
    transactions = datamart.table("transactions").select("transaction_id", "customer_id", "amount")
    by_profile = with_profile(transactions, datamart.table("identity"))
    assert by_profile.columns == ("transaction_id", "customer_id", "amount", "profile_id")
    totals = datamart.to_pandas(
        by_profile.group_by("profile_id").agg(total=by_profile.amount.sum())
    )
    expected = amounts.assign(profile_id=amounts.customer_id.map({"a": "a", "b": "a", "c": "a"}))
    expected["profile_id"] = expected.profile_id.fillna(expected.customer_id)
    assert dict(zip(totals.profile_id, totals.total, strict=True)) == (
        expected.groupby("profile_id").amount.sum().to_dict()
    )
    # An existing profile_id column is replaced, not duplicated.
    again = with_profile(
        by_profile.mutate(profile_id=ibis.literal("x")), datamart.table("identity")
    )
    assert again.columns.count("profile_id") == 1


# -- the property: profiles are the connected components -------------------------------------

IDS = ["a", "B", "b", "c1", "C", "_x", "Z9", "aa", "é", "0"]
EMAILS = [None, "", "e0@x.com", "e1@x.com", "e2@x.com"]
PHONES = [None, "", "+442079460000", "+442079460001", "+442079460002"]


def expected_profiles(
    rows: Sequence[tuple[str, str | None, str | None, bool]], rule: IdentityRule
) -> dict[str, str]:
    """Union-find over the customers that share a key, in plain Python."""
    parent = {row[0]: row[0] for row in rows}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first_with: dict[tuple[str, ...], str] = {}
    for customer_id, email, phone, placeholder in rows:
        if placeholder:
            continue
        values = {"email": email, "phone": phone}
        if rule.match == "any":
            keys = [(k, values[k]) for k in rule.keys if values[k]]
        else:
            present = all(values[k] for k in rule.keys)
            keys = [tuple(str(values[k]) for k in rule.keys)] if present else []
        for key in keys:
            other = first_with.setdefault(tuple(key), customer_id)
            parent[find(customer_id)] = find(other)
    groups: dict[str, list[str]] = {}
    for customer_id in parent:
        groups.setdefault(find(customer_id), []).append(customer_id)
    return {c: min(members) for members in groups.values() for c in members}


@hypothesis_settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    keys=st.lists(st.tuples(st.sampled_from(EMAILS), st.sampled_from(PHONES)), max_size=len(IDS)),
    placeholders=st.sets(st.sampled_from(IDS), max_size=2),
    match=st.sampled_from(["any", "all"]),
    key_order=st.sampled_from([("email", "phone"), ("phone", "email"), ("email",), ("phone",)]),
)
def test_profiles_are_the_connected_components(
    datamart: Datamart,
    settings: Settings,
    keys: list[tuple[str | None, str | None]],
    placeholders: set[str],
    match: str,
    key_order: tuple[str, ...],
) -> None:
    for table in ("customers", "identity", "identity_merges", "identity_exclusions"):
        datamart.sql(f"DELETE FROM {table}")
    rows = [(IDS[i], email, phone, IDS[i] in placeholders) for i, (email, phone) in enumerate(keys)]
    for customer_id, email, phone, placeholder in rows:
        add_customers(datamart, [(customer_id, email, phone)], placeholder=placeholder)
    rule = IdentityRule(keys=key_order, match=match)  # type: ignore[arg-type]
    report = unify(datamart, settings.model_copy(update={"identity": rule}), at=T0)

    expected = expected_profiles(rows, rule)
    assert profiles(datamart) == expected
    assert report.profiles == len(set(expected.values()))
    # Every customer that joined another profile has one merge naming a key it shares with it.
    merges = merge_log(datamart)
    assert sorted(m.customer_id for m in merges) == sorted(c for c, p in expected.items() if c != p)
    by_id = {row[0]: row for row in rows}
    for merge in merges:
        assert merge.profile_id == expected[merge.customer_id]
        if match == "any":
            column = 1 if merge.matched_on == "email" else 2
            assert by_id[merge.customer_id][column] == merge.key_value
            sharers = [
                r[0] for r in rows if r[column] == merge.key_value and r[0] != merge.customer_id
            ]
            assert any(expected[s] == merge.profile_id for s in sharers)


# -- the command line ------------------------------------------------------------------------


def test_cli_unify_merges_show_undo(cli, duckdb_settings: Settings) -> None:  # type: ignore[no-untyped-def]
    db = duckdb_settings.db
    dm = connect(duckdb_settings)
    migrate(dm)
    add_customers(
        dm,
        [
            ("a", "a@example.com", None),
            ("b", "a@example.com", "+442079460001"),
            ("c", None, "+442079460001"),
        ],
    )
    dm.close()

    result = cli("--db", db, "identity", "unify")
    assert result.code == 0, result.stderr
    assert "new merges" in result.stdout and "profiles" in result.stdout

    result = cli("--db", db, "identity", "merges", "--profile", "a", "--json")
    assert result.code == 0, result.stderr
    log = json.loads(result.stdout)["merges"]
    assert {(m["customer_id"], m["matched_on"], m["status"]) for m in log} == {
        ("b", "email", "active"),
        ("c", "phone", "active"),
    }

    result = cli("--db", db, "identity", "show", "020 7946 0001", "--json")
    assert result.code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["profile_id"] == "a"
    assert [m["customer_id"] for m in shown["members"]] == ["a", "b", "c"]
    assert shown["members"][1]["phone"] == "+442079460001"

    merge_b = next(m["merge_id"] for m in log if m["customer_id"] == "b")
    result = cli("--db", db, "identity", "undo", merge_b)
    assert result.code == 0, result.stderr
    assert f"merge {merge_b} undone" in result.stdout

    result = cli("--db", db, "identity", "show", "c")
    assert result.code == 0 and "profile c: 1 customer(s)" in result.stdout

    result = cli("--db", db, "identity", "undo", merge_b[:-1] + "_")
    assert result.code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: no merge '{merge_b[:-1]}_' in the merge log (did you mean '{merge_b}'?)"
    ]
