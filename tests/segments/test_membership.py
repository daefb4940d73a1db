"""Who is in a segment, on every backend: tiers, RFM segments, bands and conditions against the
customer summary read with pandas; a profile runs on every backend too."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.demo import build_demo
from clientela.errors import NotFoundError
from clientela.segments import parse_segment, parse_segment_text
from clientela.services._summary import default_as_of
from clientela.services.segments import profile_segment, segment_members


def _members(dm: Datamart, settings: Settings, definition: dict[str, object]) -> set[str]:
    expr = segment_members(dm, settings, parse_segment(definition), default_as_of(dm))
    return set(dm.to_pyarrow(expr).column("profile_id").to_pylist())


def test_membership_and_profile_on_every_backend(datamart: Datamart, settings: Settings) -> None:
    build_demo(datamart, settings, customers=150, seed=3)
    summary = datamart.to_pandas(datamart.table("customer_summary"))
    customers = datamart.to_pandas(datamart.table("customers")).set_index("customer_id")

    expected = set(summary.loc[summary.value_tier == "B", "customer_id"])
    assert expected and _members(datamart, settings, {"tier": "b"}) == expected
    segment = summary.segment.value_counts().index[0]
    expected = set(summary.loc[summary.segment == segment, "customer_id"])
    assert _members(datamart, settings, {"rfm": segment}) == expected

    region = customers.region.value_counts().index[0]
    regions = customers.region.reindex(summary.customer_id).to_numpy()
    wanted = (regions == region) & (summary.orders.fillna(0).to_numpy() >= 3)
    condition = parse_segment_text(
        f"where:\n  all:\n    - field: region\n      equals: {region}\n"
        "    - field: orders\n      at_least: 3\n"
    )
    found = segment_members(datamart, settings, condition, default_as_of(datamart))
    assert set(datamart.to_pyarrow(found).column(0).to_pylist()) == set(summary.customer_id[wanted])

    # Bands: the newest snapshot on or before the as-of date counts, per profile.
    as_of = default_as_of(datamart)
    rows = [
        ("p1", as_of - dt.timedelta(days=3), "hot"),
        ("p1", as_of - dt.timedelta(days=1), "cold"),
        ("p2", as_of - dt.timedelta(days=2), "hot"),
        ("p3", as_of + dt.timedelta(days=5), "hot"),
    ]
    datamart.bulk_insert(
        "score_snapshots",
        pa.table(
            {
                "model": ["engagement"] * 4,
                "as_of": pa.array([r[1] for r in rows], pa.date32()),
                "profile_id": [r[0] for r in rows],
                "version": [1] * 4,
                "run_id": ["r"] * 4,
                "score": [1.0] * 4,
                "band": [r[2] for r in rows],
            }
        ),
    )
    assert _members(datamart, settings, {"band": {"model": "engagement", "band": "hot"}}) == {"p2"}

    with pytest.raises(
        NotFoundError, match=r"no band of engagement 'hto' \(did you mean 'hot'\?\)"
    ):
        _members(datamart, settings, {"band": {"model": "engagement", "band": "hto"}})
    with pytest.raises(NotFoundError, match=r"no scored model 'engagment' \(did you mean"):
        _members(datamart, settings, {"band": {"model": "engagment", "band": "hot"}})

    profile = profile_segment(datamart, settings, parse_segment({"tier": "A"}), top=5)
    assert profile.members == int((summary.value_tier == "A").sum())
    assert len(profile.traits) == 5
