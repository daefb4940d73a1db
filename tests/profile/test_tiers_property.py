"""Property: tiers partition the profiles and A is the smallest prefix reaching its cut-off."""

from __future__ import annotations

from collections.abc import Iterator

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clientela.profile import value_tiers

contributions = st.lists(st.integers(min_value=-50, max_value=1000), min_size=1, max_size=40)
cutoffs = st.tuples(
    st.integers(min_value=1, max_value=98), st.integers(min_value=1, max_value=98)
).filter(lambda ab: ab[0] < ab[1])


@pytest.fixture(scope="module")
def con() -> Iterator[ibis.BaseBackend]:
    backend = ibis.duckdb.connect()
    yield backend
    backend.disconnect()


@settings(max_examples=60, deadline=None)
@given(values=contributions, cuts=cutoffs)
def test_tiers_partition_and_a_is_the_smallest_prefix(
    con: ibis.BaseBackend, values: list[int], cuts: tuple[int, int]
) -> None:
    cut_a, cut_b = cuts[0] / 100, cuts[1] / 100
    ids = [f"x{i:02d}" for i in range(len(values))]
    table = ibis.memtable(
        pa.table({"customer_id": ids, "contribution": [float(v) for v in values]})
    )
    rows = con.to_pyarrow(value_tiers(table, (cut_a, cut_b))).to_pylist()
    tier = {r["customer_id"]: r["value_tier"] for r in rows}
    assert sorted(tier) == ids  # every profile exactly once
    ranked = sorted(zip(ids, values, strict=True), key=lambda kv: (-kv[1], kv[0]))
    for customer, value in ranked:
        assert (tier[customer] == "D") == (value <= 0)
    order = [tier[c] for c, _ in ranked]
    assert order == sorted(order)  # A before B before C before D along the ranking
    total = sum(v for v in values if v > 0)
    a_sum = sum(v for c, v in ranked if tier[c] == "A")
    if total == 0:
        assert set(order) <= {"D"}
        return
    assert a_sum >= cut_a * total
    smallest_in_a = min(v for c, v in ranked if tier[c] == "A")
    assert a_sum - smallest_in_a < cut_a * total  # one profile fewer would not reach it
    ab_sum = sum(v for c, v in ranked if tier[c] in "AB")
    assert ab_sum >= cut_b * total
