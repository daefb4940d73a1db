"""KPIs, RFM, tiers and Pareto on both backends against independent pandas computations."""

from __future__ import annotations

import pandas as pd
import pytest

from clientela.datamart import Datamart
from clientela.profile import (
    RFM_GRID,
    cumulative_curve,
    customer_kpis,
    negative_contribution,
    rfm,
    segment_of,
    top_share,
    value_tiers,
)
from tests.profile._data import (
    AS_OF,
    expected_kpis,
    expected_rfm,
    expected_segment,
    expected_tiers,
    frame,
)


def _kpis(dm: Datamart) -> pd.DataFrame:
    expr = customer_kpis(
        dm.table("transactions"),
        dm.table("cost_to_serve"),
        dm.table("referrals"),
        dm.table("identity"),
        AS_OF,
        customers=dm.table("customers"),
    )
    return frame(dm, expr).sort_values("customer_id").reset_index(drop=True)


def test_kpis_match_pandas(loaded: Datamart, frames: dict[str, pd.DataFrame]) -> None:
    got = _kpis(loaded)
    want = expected_kpis(frames)
    assert list(got.customer_id) == list(want.customer_id)
    # Unified customers count for their profile only.
    assert "c001" not in set(got.customer_id) and "c000" in set(got.customer_id)
    for column in (
        "revenue", "gross_sales", "returned_amount", "margin", "revenue_without_margin",
        "orders", "returns", "cost_to_serve", "referrals_made", "referrals_converted",
        "contribution",
    ):  # fmt: skip
        assert got[column].tolist() == pytest.approx(want[column].tolist()), column
    for column in ("first_purchase", "last_purchase"):
        assert [None if pd.isna(v) else pd.Timestamp(v) for v in got[column]] == [
            None if v is None or pd.isna(v) else pd.Timestamp(v) for v in want[column]
        ]
    with_orders = want.orders > 0
    assert got.average_order_value[with_orders].tolist() == pytest.approx(
        (want.revenue / want.orders)[with_orders].tolist()
    )
    assert got.average_order_value[~with_orders].isna().all()
    # Non-buyers (fee-only, cancellation-only, never bought) exist and have no tenure.
    no_sale = want.last_purchase.isna()
    assert no_sale.sum() >= 20
    assert got.tenure_days[no_sale].isna().all()
    assert (got.contribution <= 0).any() and (got.contribution > 0).any()


def test_kpis_ignore_rows_from_as_of_on(loaded: Datamart, frames: dict[str, pd.DataFrame]) -> None:
    later = frames["transactions"].occurred_at >= pd.Timestamp(AS_OF)
    assert later.any()  # the data set has rows after as_of
    got = _kpis(loaded)
    assert got.last_purchase.max() < pd.Timestamp(AS_OF)


def test_rfm_scores_and_segments_match_pandas(
    loaded: Datamart, frames: dict[str, pd.DataFrame]
) -> None:
    expr = rfm(loaded.table("transactions"), loaded.table("identity"), AS_OF)
    got = frame(loaded, expr).sort_values("customer_id").reset_index(drop=True)
    want = expected_rfm(frames).sort_values("customer_id").reset_index(drop=True)
    assert list(got.customer_id) == list(want.customer_id)
    for column in ("recency_days", "frequency", "r", "f", "m", "segment"):
        assert got[column].tolist() == want[column].tolist(), column
    assert got.monetary.tolist() == pytest.approx(want.monetary.tolist())
    # Ties share a score: every customer with the same recency has the same R.
    assert (got.groupby("recency_days").r.nunique() == 1).all()
    assert set(got.r) == set(got.m) == {1, 2, 3, 4, 5}
    assert len(set(got.f)) >= 3  # few distinct frequencies: ties hold F below 5


def test_rfm_grid_is_the_documented_one() -> None:
    assert len(RFM_GRID) == 25
    for r in range(1, 6):
        for f in range(1, 6):
            for m in range(1, 6):
                assert segment_of(r, f, m) == expected_segment(r, f, m)


def test_tiers_match_a_plain_loop(loaded: Datamart) -> None:
    kpis = customer_kpis(
        loaded.table("transactions"),
        loaded.table("cost_to_serve"),
        loaded.table("referrals"),
        loaded.table("identity"),
        AS_OF,
        customers=loaded.table("customers"),
    )
    got = frame(loaded, value_tiers(kpis, (0.5, 0.8)))
    want = expected_tiers(got.set_index("customer_id").contribution)
    assert dict(zip(got.customer_id, got.value_tier, strict=True)) == want
    assert set(want.values()) == {"A", "B", "C", "D"}


def test_pareto_matches_pandas(loaded: Datamart) -> None:
    kpis = customer_kpis(
        loaded.table("transactions"),
        loaded.table("cost_to_serve"),
        loaded.table("referrals"),
        loaded.table("identity"),
        AS_OF,
        customers=loaded.table("customers"),
    )
    profiles = frame(loaded, kpis)

    buyers = profiles[profiles.orders > 0].sort_values(
        ["margin", "customer_id"], ascending=[False, True]
    )
    top_n = -(-len(buyers) * 2 // 10)  # ceil(20%)
    got = frame(loaded, top_share(kpis.filter(kpis.orders > 0), "margin", 0.2)).iloc[0]
    assert got.top_profiles == top_n
    assert got.share == pytest.approx(buyers.margin.head(top_n).sum() / buyers.margin.sum())

    negative = frame(loaded, negative_contribution(kpis)).iloc[0]
    below = profiles[profiles.contribution < 0]
    assert negative.customers == len(below)
    assert negative.share == pytest.approx(len(below) / len(profiles))
    assert negative.total == pytest.approx(below.contribution.sum())

    curve = frame(loaded, cumulative_curve(kpis, points=100))
    ordered = profiles.sort_values(["contribution", "customer_id"], ascending=[False, True])
    cumulative = ordered.contribution.cumsum().to_numpy() / ordered.contribution.sum()
    n = len(profiles)
    assert len(curve) == min(100, n)
    assert curve.customer_share.iloc[-1] == pytest.approx(1.0)
    assert curve.contribution_share.iloc[-1] == pytest.approx(1.0)
    for share, value in zip(curve.customer_share, curve.contribution_share, strict=True):
        rank = round(share * n)
        assert value == pytest.approx(cumulative[rank - 1])


def test_top_share_breaks_ties_by_id_and_counts_ceil(datamart: Datamart) -> None:
    import ibis
    import pyarrow as pa

    ids = [f"x{i:02d}" for i in range(35)]
    table = ibis.memtable(pa.table({"customer_id": ids, "v": [1.0] * 35}))
    got = frame(datamart, top_share(table, "v", 0.2)).iloc[0]
    assert got.top_profiles == 7  # 0.2 * 35 is 7.000000000000001 in floating point
    assert got.share == pytest.approx(0.2)
