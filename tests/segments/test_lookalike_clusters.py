"""Look-alikes rank held-out members above the rest; clusters are reproducible with a seed."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from clientela.config import Settings
from clientela.datamart import connect
from clientela.errors import ConfigError, InsufficientDataError
from clientela.segments import cluster_customers, lookalike_scores, parse_segment
from clientela.segments._matrix import design_matrix
from clientela.services.segments import cluster_base, find_lookalikes
from tests.segments._expected import features_frame


def test_held_out_members_score_above_non_members(demo_settings: Settings) -> None:
    with connect(demo_settings) as dm:
        frame, _ = features_frame(dm)
        tiers = dm.to_pandas(dm.table("customer_summary").select("customer_id", "value_tier"))
    tier = tiers.set_index("customer_id")["value_tier"].reindex(frame.index)
    members = (tier.isin(["A", "B"])).to_numpy()
    numeric = [c for c in frame.columns if frame[c].dtype.kind in "if"]
    categorical = ["kind", "gender", "region", "industry"]
    matrix = design_matrix(frame, numeric, categorical)
    # A quarter of the members is hidden among the non-members: their scores must stand out.
    random = np.random.default_rng(1)
    hidden = members & (random.random(len(members)) < 0.25)
    scored = lookalike_scores(matrix, members & ~hidden, seed=3)
    outside = ~members | hidden
    auc = roc_auc_score(hidden[outside], scored.scores[outside])
    assert auc > 0.85, auc
    assert scored.scores.min() >= 0 and scored.scores.max() <= 1
    again = lookalike_scores(matrix, members & ~hidden, seed=3)
    assert np.array_equal(scored.scores, again.scores)


def test_lookalike_report_on_the_demo(demo_settings: Settings) -> None:
    with connect(demo_settings) as dm:
        report = find_lookalikes(dm, demo_settings, parse_segment({"tier": "A"}), top=10)
        members = {
            r[0] for r in dm.sql("SELECT customer_id FROM customer_summary WHERE value_tier = 'A'")
        }
    assert report.members == len(members) and report.separation > 0.9
    assert [x.rank for x in report.lookalikes] == list(range(1, 11))
    scores = [x.score for x in report.lookalikes]
    assert scores == sorted(scores, reverse=True)
    assert not {x.profile_id for x in report.lookalikes} & members
    assert all(x.traits for x in report.lookalikes)
    assert list(report.frame().columns) == ["rank", "profile_id", "score", "traits"]


def test_lookalikes_need_members(demo_settings: Settings) -> None:
    with connect(demo_settings) as dm:
        frame, _ = features_frame(dm)
    matrix = design_matrix(frame, ["orders", "revenue"])
    few = np.zeros(len(frame), dtype=bool)
    few[:3] = True
    with pytest.raises(InsufficientDataError, match=r"at least 5 members .* it has 3 and"):
        lookalike_scores(matrix, few)


def test_clusters_are_reproducible_and_described(demo_settings: Settings) -> None:
    with connect(demo_settings) as dm:
        first = cluster_base(dm, demo_settings, seed=4, top=None)
        again = cluster_base(dm, demo_settings, seed=4, top=None)
        given = cluster_base(dm, demo_settings, k=4, seed=4, top=3)
    # The same clusters, names and traits (sums in the database may differ in the last digit).
    assert [(c.name, c.size) for c in first.clusters] == [(c.name, c.size) for c in again.clusters]
    for mine, other in zip(first.clusters, again.clusters, strict=True):
        assert [t.sentence for t in mine.traits] == [t.sentence for t in other.traits]
        assert [t.effect for t in mine.traits] == pytest.approx([t.effect for t in other.traits])
    assert first.k == max(first.silhouettes, key=lambda k: first.silhouettes[k])
    assert set(first.silhouettes) <= set(range(2, 9))
    sizes = [c.size for c in first.clusters]
    assert sum(sizes) == first.customers and sizes == sorted(sizes, reverse=True)
    assert all(c.name and c.traits for c in first.clusters)
    assert "days_since_last_purchase" in first.features and "revenue" in first.features
    assert given.k == 4 and not given.silhouettes and len(given.clusters) == 4
    assert all(len(c.traits) == 3 for c in given.clusters)


def test_cluster_customers_bad_input() -> None:
    values = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(ConfigError, match="at least 2, got 1"):
        cluster_customers(values, k=1)
    with pytest.raises(InsufficientDataError, match="every one looks the same"):
        cluster_customers(np.zeros((20, 2)))
    # Well separated blobs: the silhouette finds them.
    blobs = np.concatenate([values[:25] * 0.1, values[25:] * 0.1 + 5])
    assert cluster_customers(blobs, seed=1).k == 2


@pytest.mark.slow
def test_lookalikes_and_clusters_on_online_retail(retail_db: str) -> None:
    settings = Settings(db=retail_db)
    with connect(settings) as dm:
        report = find_lookalikes(dm, settings, parse_segment({"rfm": "Champions"}), top=5)
        clusters = cluster_base(dm, settings, k=3, seed=0)
    assert report.separation > 0.9 and len(report.lookalikes) == 5
    assert (
        clusters.customers > 4000 and sum(c.size for c in clusters.clusters) == clusters.customers
    )
