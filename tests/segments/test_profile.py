"""Segment profiles on the demo company and on Online Retail, checked against pandas."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from clientela.config import Settings
from clientela.datamart import connect
from clientela.segments import Trait, parse_segment
from clientela.segments.profile import cohens_d, cohens_h
from clientela.services.segments import profile_segment
from tests.segments._expected import features_frame, mean_effect, share_effect


def _traits(traits: list[Trait]) -> dict[tuple[str, str | None], Trait]:
    return {(t.feature, t.value): t for t in traits}


def _check_against_pandas(settings: Settings, tier: str) -> None:
    with connect(settings) as dm:
        profile = profile_segment(dm, settings, parse_segment({"tier": tier}), top=None)
        frame, as_of = features_frame(dm)
        tiers = dm.to_pandas(dm.table("customer_summary").select("customer_id", "value_tier"))
    assert profile.as_of == as_of
    tier_of = tiers.set_index("customer_id")["value_tier"].reindex(frame.index)
    members = tier_of == tier
    assert profile.members == int(members.sum()) and profile.base == len(frame)
    assert profile.share == pytest.approx(members.mean())
    found = _traits(profile.traits)
    # Ranked by the absolute effect size; the definition itself is left out.
    effects = [abs(t.effect) for t in profile.traits]
    assert effects == sorted(effects, reverse=True)
    assert not [t for t in profile.traits if t.feature == "value_tier"]
    for column in ("revenue", "margin", "average_order_value", "rfm_r", "days_since_last_purchase"):
        mine, rest, d = mean_effect(frame[column], members)
        trait = found[(column, None)]
        assert trait.kind == "mean"
        assert (trait.segment, trait.rest, trait.effect) == pytest.approx((mine, rest, d))
    for column in ("orders", "orders_30d", "orders_365d", "returns"):
        trait = found[(column, None)]
        if trait.kind == "share":
            expected = share_effect(frame[column] > 0, members)
        else:
            expected = mean_effect(frame[column], members)
        assert (trait.segment, trait.rest, trait.effect) == pytest.approx(expected)
        # The stronger of the mean and the share with any is the one kept.
        other = mean_effect(frame[column], members)
        if trait.kind == "share":
            assert abs(trait.effect) >= abs(other[2]) - 1e-9
    segments = dm_segments(settings).reindex(frame.index)
    top_segment = segments[members].value_counts().index[0]
    trait = found[("rfm_segment", top_segment)]
    expected = share_effect(segments == top_segment, members)
    assert (trait.segment, trait.rest, trait.effect) == pytest.approx(expected)
    assert trait.base == pytest.approx(float((segments == top_segment).mean()))


def dm_segments(settings: Settings) -> pd.Series:
    with connect(settings) as dm:
        rows = dm.to_pandas(dm.table("customer_summary").select("customer_id", "segment"))
    return rows.set_index("customer_id")["segment"]


def test_tier_profile_on_the_demo_matches_pandas(demo_settings: Settings) -> None:
    _check_against_pandas(demo_settings, "A")


@pytest.mark.slow
def test_tier_profile_on_online_retail_matches_pandas(retail_db: str) -> None:
    settings = Settings(db=retail_db)
    with connect(settings) as dm:
        from clientela.services.build import build

        build(dm, settings)
    _check_against_pandas(settings, "A")


def test_sentences_say_the_numbers(demo_settings: Settings) -> None:
    with connect(demo_settings) as dm:
        profile = profile_segment(dm, demo_settings, parse_segment({"rfm": "Champions"}), top=None)
    bought = next(t for t in profile.traits if t.feature.startswith("orders_"))
    window = bought.feature.removeprefix("orders_").removesuffix("d")
    if bought.kind == "share":
        assert bought.sentence == (
            f"{bought.segment * 100:.0f}% bought in the last {window} days, against "
            f"{bought.rest * 100:.0f}% of the rest of the base"
        )
    else:
        assert bought.sentence.startswith(f"average orders in the last {window} days ")
    share = next(t for t in profile.traits if t.kind == "share")
    assert share.sentence.startswith(f"{share.segment * 100:.0f}% ")
    assert share.sentence.endswith(f", against {share.rest * 100:.0f}% of the rest of the base")
    revenue = next(t for t in profile.traits if t.feature == "revenue")
    assert re.fullmatch(r"average revenue [0-9,]+ against [0-9,.]+", revenue.sentence)
    category = next(t for t in profile.traits if t.kind == "category")
    assert re.fullmatch(r"\d+% .+, against \d+% of the rest of the base", category.sentence)


def test_effect_sizes_follow_their_formulas() -> None:
    # Two groups of values: 1, 2, 3 and 4, 5, 6 (pooled sample deviation 1): d = -3.
    assert cohens_d(2.0, 2 / 3, 3, 5.0, 2 / 3, 3) == pytest.approx(-3.0)
    assert cohens_d(1.0, 0.0, 4, 1.0, 0.0, 4) is None
    assert cohens_h(0.5, 0.5) == 0.0
    assert cohens_h(1.0, 0.0) == pytest.approx(3.14159265, abs=1e-6)
