"""The services on both backends: build, the value report and one profile."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.schema import TABLES
from clientela.errors import DataError, NotFoundError
from clientela.services import build, default_as_of, get_profile, value_report
from tests.profile._data import AS_OF, expected_kpis, expected_tiers


def _insert(dm: Datamart, table: str, columns: str, rows: list[tuple[object, ...]]) -> None:
    names = columns.split()
    schema = TABLES[table]
    arrow = pa.Table.from_pylist(
        [dict(zip(names, row, strict=True)) for row in rows],
        schema=pa.schema([pa.field(c, schema[c].to_pyarrow()) for c in names]),
    )
    dm.bulk_insert(table, arrow)


def _details(dm: Datamart) -> None:
    """Behaviour, social, issues, consents and third-party rows for profile c000 (+ c001)."""
    t = dt.datetime
    _insert(dm, "events", "event_id customer_id occurred_at event_type object_id", [
        ("e1", "c000", t(2026, 5, 30), "page_view", "/shoes"),
        ("e2", "c001", t(2026, 5, 20), "page_view", "/shoes"),
        ("e3", "c000", t(2026, 3, 20), "email_open", "nl-3"),
        ("e4", "c000", t(2025, 1, 1), "page_view", "/old"),
        ("e5", "c000", t(2026, 6, 2), "page_view", "/future"),
        ("e6", "c005", t(2026, 5, 30), "page_view", "/other"),
    ])  # fmt: skip
    _insert(dm, "social", "signal_id customer_id network kind sentiment occurred_at", [
        ("s1", "c000", "x", "mention", -0.5, t(2026, 5, 1)),
        ("s2", "c001", "x", "mention", 0.9, t(2026, 5, 2)),
        ("s3", "c000", "instagram", "like", None, t(2026, 5, 3)),
    ])  # fmt: skip
    _insert(dm, "interactions", "interaction_id customer_id occurred_at kind channel status", [
        ("i1", "c001", t(2026, 5, 25), "return", "web", "open"),
        ("i2", "c000", t(2026, 5, 10), "complaint", "phone", "closed"),
        ("i3", "c000", t(2026, 5, 11), "call", "phone", "open"),
    ])  # fmt: skip
    _insert(dm, "consents", "consent_id customer_id channel purpose status recorded_at", [
        ("k1", "c000", "email", "marketing", "opt_in", t(2026, 1, 1)),
        ("k2", "c001", "email", "marketing", "opt_out", t(2026, 2, 1)),
        ("k3", "c000", "sms", "marketing", "opt_in", t(2026, 3, 1)),
    ])  # fmt: skip
    _insert(dm, "do_not_contact", "entry_id kind value list_name", [
        ("d1", "phone", "+442079460001", "TPS"),
        ("d2", "email", "c099@example.com", "robinson"),
    ])  # fmt: skip
    _insert(dm, "third_party", "attribute_id customer_id source as_of attribute value", [
        ("a1", "c000", "acme", dt.date(2025, 1, 1), "income", "low"),
        ("a2", "c000", "acme", dt.date(2026, 1, 1), "income", "high"),
        ("a3", "c001", "geo", dt.date(2026, 1, 1), "mosaic", "B12"),
    ])  # fmt: skip


def test_default_as_of_is_the_day_after_the_newest_transaction(
    loaded: Datamart, frames: dict[str, pd.DataFrame]
) -> None:
    newest = frames["transactions"].occurred_at.max()
    assert default_as_of(loaded) == newest.date() + dt.timedelta(days=1)


def test_build_matches_the_live_computation(loaded: Datamart, settings: Settings) -> None:
    live = value_report(loaded, settings, AS_OF)
    report = build(loaded, settings, AS_OF)
    assert report.as_of == AS_OF and report.profiles == live.customers
    assert report.tiers == {t.tier: t.customers for t in live.tiers}
    built = value_report(loaded, settings, AS_OF)
    assert (live.source, built.source) == ("live", "customer_summary")
    assert built.tiers == live.tiers
    assert built.top20_margin_share == pytest.approx(live.top20_margin_share)
    assert built.negative_contribution == live.negative_contribution
    # Another as_of is computed live again.
    assert value_report(loaded, settings, dt.date(2026, 1, 1)).source == "live"


def test_value_report_matches_pandas(
    loaded: Datamart, settings: Settings, frames: dict[str, pd.DataFrame]
) -> None:
    report = value_report(loaded, settings, AS_OF)
    want = expected_kpis(frames)
    assert report.customers == len(want)
    assert report.margin == pytest.approx(want.margin.sum())
    assert report.contribution == pytest.approx(want.contribution.sum())
    assert report.revenue_without_margin == pytest.approx(want.revenue_without_margin.sum())

    buyers = want[want.orders > 0].sort_values(["margin", "customer_id"], ascending=[False, True])
    top = -(-len(buyers) // 5)
    assert report.top20_margin_share == pytest.approx(
        buyers.margin.head(top).sum() / buyers.margin.sum()
    )
    referrers = want[want.referrals_made > 0].sort_values(
        ["referrals_converted", "customer_id"], ascending=[False, True]
    )
    top = -(-len(referrers) // 5)
    assert report.top20_referral_share == pytest.approx(
        referrers.referrals_converted.head(top).sum() / referrers.referrals_converted.sum()
    )
    negative = want[want.contribution < 0]
    assert report.negative_contribution.customers == len(negative) > 0
    assert report.negative_contribution.total == pytest.approx(negative.contribution.sum())

    tiers = expected_tiers(want.set_index("customer_id").contribution)
    want = want.assign(value_tier=want.customer_id.map(tiers))
    per_tier = want.groupby("value_tier").agg(
        customers=("customer_id", "size"), revenue=("revenue", "sum"),
        margin=("margin", "sum"), cost_to_serve=("cost_to_serve", "sum"),
        contribution=("contribution", "sum"),
    )  # fmt: skip
    for tier in report.tiers:
        row = per_tier.loc[tier.tier]
        assert tier.customers == row.customers
        for name in ("revenue", "margin", "cost_to_serve", "contribution"):
            assert getattr(tier, name) == pytest.approx(row[name]), (tier.tier, name)
    assert 1 < len(report.curve) <= 100
    assert report.curve[-1].contribution_share == pytest.approx(1.0)


def test_profile_has_every_section(
    loaded: Datamart, settings: Settings, frames: dict[str, pd.DataFrame]
) -> None:
    _details(loaded)
    profile = get_profile(loaded, settings, "c001", as_of=AS_OF, page=1, page_size=5)
    assert profile.customer_id == "c000"  # c001 is unified into c000
    assert profile.identity.customer_ids == ("c000", "c001")
    assert profile.identity.emails == ("c000@example.com", "c001@example.com")
    assert profile.identity.age == 46

    kpis = expected_kpis(frames).set_index("customer_id").loc["c000"]
    assert profile.kpis.revenue == pytest.approx(kpis.revenue)
    assert profile.kpis.orders == kpis.orders
    assert profile.kpis.contribution == pytest.approx(kpis.contribution)
    assert profile.rfm.segment is not None and profile.rfm.r is not None
    assert profile.value_tier in {"A", "B", "C", "D"}
    assert profile.service_policy == settings.service_policies[profile.value_tier].model_dump()

    assert [(a.source, a.attribute, a.value) for a in profile.third_party] == [
        ("acme", "income", "high"), ("geo", "mosaic", "B12"),
    ]  # fmt: skip
    events = {e.event_type: e for e in profile.behaviour.events}
    assert (events["page_view"].last_7_days, events["page_view"].last_30_days) == (1, 2)
    assert (events["page_view"].last_90_days, events["email_open"].last_90_days) == (2, 1)
    assert profile.behaviour.last_activity == dt.datetime(2026, 5, 30)
    assert profile.behaviour.top_objects[0].object_id == "/shoes"
    assert profile.behaviour.top_objects[0].events == 2
    assert profile.social.signals == 3
    assert profile.social.mean_sentiment == pytest.approx(0.2)

    assert [i.interaction_id for i in profile.open_issues] == ["i1"]
    assert profile.do_not_pitch
    assert profile.do_not_pitch_reason == "waiting for a return since 2026-05-25"

    statuses = {(c.channel, c.purpose): c.status for c in profile.consents.statuses}
    assert statuses == {("email", "marketing"): "opt_out", ("sms", "marketing"): "opt_in"}
    assert profile.consents.phone_do_not_contact and not profile.consents.email_do_not_contact

    timeline = profile.timeline
    assert timeline.page_size == 5 and len(timeline.entries) == 5
    times = [e.occurred_at for e in timeline.entries]
    assert times == sorted(times, reverse=True)
    assert all(e.occurred_at < dt.datetime(2026, 6, 1) for e in timeline.entries)
    last_page = get_profile(loaded, settings, "c000", as_of=AS_OF, page=timeline.pages, page_size=5)
    assert len(last_page.timeline.entries) == timeline.total - 5 * (timeline.pages - 1)


def test_profile_by_email_and_phone(loaded: Datamart, settings: Settings) -> None:
    assert get_profile(loaded, settings, " C007@Example.com ", as_of=AS_OF).customer_id == "c007"
    assert get_profile(loaded, settings, "020 7946 0008", as_of=AS_OF).customer_id == "c008"
    customer = get_profile(loaded, settings, "c199", as_of=AS_OF)
    assert customer.kpis.orders == 0 and customer.rfm.r is None and customer.value_tier == "D"
    assert not customer.do_not_pitch and customer.timeline.total == 0


def test_profile_errors(loaded: Datamart, settings: Settings) -> None:
    with pytest.raises(
        NotFoundError,
        match=r"no customer with id, e-mail or phone 'c199x' \(did you mean 'c199'\?\)",
    ):
        get_profile(loaded, settings, "c199x", as_of=AS_OF)
    with pytest.raises(DataError, match="page must be 1 or more, got 0"):
        get_profile(loaded, settings, "c007", as_of=AS_OF, page=0)
