"""The toy-store example of the seed documents, scored by hand (examples/toy_store/README.md).

+8 for living or working in the province of San José, +5 for each buyer-persona requirement
met (interests, goal, spending on toys), -5 for living far from San José, +2 for each
interaction with landing pages, e-mails and forms; 40 nurture, 60 frequent, 80 preferential.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.ingest import load_folder
from clientela.scoring.definition import parse_model_text
from clientela.services.score_views import CountedUnit, show
from clientela.services.scoring import (
    backfill,
    register_model,
    run_model,
    run_models,
    score_profiles,
)
from tests.scoring._rows import insert

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "toy_store"
AS_OF = dt.date(2026, 11, 1)

# customer: (San José, persona interests, goal, toys, far away, landing visits, e-mails and forms)
HAND_WORKED = {
    "C001": (8, 5, 5, 5, 0, 2 * 4, 2 * 6, 43, "nurture"),
    "C002": (8, 5, 0, 5, 0, 2 * 8, 2 * 12, 58, "nurture"),
    "C003": (8, 5, 5, 5, 0, 2 * 11, 2 * 18, 81, "preferential"),
    "C004": (0, 5, 0, 0, -5, 2 * 2, 2 * 3, 10, "prospect"),
    "C005": (0, 0, 0, 0, -5, 0, 0, -5, "prospect"),
    "C006": (0, 5, 5, 5, 0, 2 * 9, 2 * 14, 61, "frequent"),
    "C007": (8, 5, 5, 0, 0, 2 * 9, 2 * 13, 62, "frequent"),
    "C008": (0, 5, 5, 5, -5, 2 * 14, 2 * 21, 80, "preferential"),
    "C009": (0, 0, 0, 0, 0, 0, 2 * 1, 2, "prospect"),
    "C010": (8, 0, 0, 0, 0, 2 * 6, 2 * 9, 38, "prospect"),
}
RULES = (
    "lives_or_works_in_san_jose",
    "persona_interests",
    "persona_goal",
    "persona_spends_on_toys",
    "far_from_san_jose",
    "landing_pages",
    "emails_and_forms",
)


@pytest.fixture
def toy_store(datamart: Datamart, settings: Settings) -> Datamart:
    load_folder(datamart, settings, EXAMPLE)
    return datamart


def _snapshot(dm: Datamart, as_of: dt.date) -> dict[str, tuple[float, str]]:
    rows = dm.sql(
        "SELECT profile_id, score, band FROM score_snapshots WHERE model = 'toy_store' "
        "AND as_of = ? ORDER BY profile_id",
        [as_of],
    )
    return {str(p): (float(s), str(b)) for p, s, b in rows}


def _ledger(dm: Datamart, as_of: dt.date) -> dict[tuple[str, str], float]:
    rows = dm.sql(
        "SELECT profile_id, rule, points FROM score_ledger WHERE model = 'toy_store' AND as_of = ?",
        [as_of],
    )
    return {(str(p), str(r)): float(points) for p, r, points in rows}


def test_the_hand_worked_scores_and_stages(toy_store: Datamart, settings: Settings) -> None:
    run = run_model(toy_store, settings, "toy_store", AS_OF)
    assert run.profiles == 10
    assert run.bands == {"prospect": 4, "nurture": 2, "frequent": 2, "preferential": 2}
    assert run.warnings == ()
    snapshot = _snapshot(toy_store, AS_OF)
    ledger = _ledger(toy_store, AS_OF)
    for customer, (*points, total, band) in HAND_WORKED.items():
        assert sum(points) == total, customer  # the table above adds up
        assert snapshot[customer] == (total, band), customer
        for rule, expected in zip(RULES, points, strict=True):
            assert ledger.get((customer, rule), 0.0) == expected, (customer, rule)
    # Everyone above the lowest band entered a band on this first run.
    entered = toy_store.sql(
        "SELECT profile_id, to_band, direction FROM score_band_changes ORDER BY profile_id"
    )
    assert [(p, b) for p, b, _ in entered] == [
        (c, v[-1]) for c, v in HAND_WORKED.items() if v[-1] != "prospect"
    ]
    assert {d for _, _, d in entered} == {"entered"}


def test_every_score_is_the_sum_of_its_reasons(toy_store: Datamart, settings: Settings) -> None:
    run_model(toy_store, settings, "toy_store", AS_OF)
    sums: dict[str, float] = {}
    for (customer, _rule), points in _ledger(toy_store, AS_OF).items():
        sums[customer] = sums.get(customer, 0.0) + points
    for customer, (score, _band) in _snapshot(toy_store, AS_OF).items():
        assert sums.get(customer, 0.0) == pytest.approx(score, abs=1e-9)


def _independent_scores(as_of: dt.date) -> dict[str, float]:
    """The model applied with pandas straight from the example's CSV files."""
    customers = pd.read_csv(EXAMPLE / "customers.csv")
    answers = pd.read_csv(EXAMPLE / "signup_answers.csv")
    orders = pd.read_csv(EXAMPLE / "orders.csv", parse_dates=["date"])
    events = pd.read_csv(EXAMPLE / "web_and_email.csv", parse_dates=["timestamp"])
    cutoff = pd.Timestamp(as_of)
    events = events[events.timestamp < cutoff]
    answer = answers.pivot(index="customer_id", columns="question", values="answer")
    scores = {}
    for row in customers.itertuples():
        cid = row.customer_id
        got = answer.loc[cid] if cid in answer.index else pd.Series(dtype=object)
        works = got.get("work_province")
        score = 8 if row.province == "San José" or works == "San José" else 0
        persona = 0
        interests = got.get("interests")
        if isinstance(interests, str) and re.search("(?i)toys|parenting", interests):
            persona += 5
        if isinstance(got.get("goal"), str):
            persona += 5
        bought = orders[(orders.customer_id == cid) & (orders.date < cutoff)]
        if (bought.category == "toys").any():
            persona += 5
        score += min(persona, 15)
        if row.province in ("Limón", "Guanacaste", "Puntarenas"):
            score -= 5
        mine = events[events.customer_id == cid]
        landing = mine[(mine.type == "page_view") & mine.page.fillna("").str.match("^/landing/")]
        other = mine[mine.type.isin(["email_open", "email_click", "form_submit"])]
        score += 2 * len(landing) + 2 * len(other)
        scores[cid] = float(score)
    return scores


def test_the_events_behind_a_score(toy_store: Datamart, settings: Settings) -> None:
    """``score explain --events``: the rows each behaviour rule counted, with the points each
    earned, from the model version that made the stored score."""
    run_model(toy_store, settings, "toy_store", AS_OF)
    text = (EXAMPLE / "toy_store.yaml").read_text(encoding="utf-8")
    register_model(toy_store, parse_model_text(text.replace("points: 2", "points: 3")))

    shown = show(toy_store, settings, "C003", "toy_store", AS_OF, counted=True)
    assert shown.version == 1 and shown.counted is not None
    by_rule: dict[str, list[CountedUnit]] = {}
    for unit in shown.counted:
        by_rule.setdefault(unit.rule, []).append(unit)
    assert set(by_rule) == {"landing_pages", "emails_and_forms", "persona_spends_on_toys"}
    landing = by_rule["landing_pages"]
    assert len(landing) == 11 and {u.kind for u in landing} == {"page_view"}
    assert all(str(u.details["properties.page"]).startswith("/landing/") for u in landing)
    assert [u.points for u in landing] == [2.0] * 11  # version 1's points, not version 2's
    assert [u.occurred_at for u in landing] == sorted(
        (u.occurred_at for u in landing), reverse=True
    )
    assert all(u.occurred_at < dt.datetime(2026, 11, 1) for u in landing)
    emails = by_rule["emails_and_forms"]
    assert len(emails) == 18 and sum(u.points or 0 for u in emails) == 36.0
    assert {u.kind for u in emails} == {"email_open", "email_click", "form_submit"}
    [toys] = by_rule["persona_spends_on_toys"]  # once: the newest toys order
    assert (toys.kind, toys.details, toys.points) == ("sale", {"category": "toys"}, 5.0)
    assert toys.occurred_at.date() == dt.date(2026, 5, 12)

    # C009's product pages are page views the landing-page rule does not count.
    other = show(toy_store, settings, "C009", "toy_store", AS_OF, counted=True)
    assert other.counted is not None
    assert [u.rule for u in other.counted] == ["emails_and_forms"]
    assert show(toy_store, settings, "C009", "toy_store", AS_OF).counted is None


def test_a_past_score_is_reproducible(toy_store: Datamart, settings: Settings) -> None:
    run_model(toy_store, settings, "toy_store", AS_OF)
    first = _snapshot(toy_store, AS_OF)
    past = dt.date(2026, 9, 15)
    run_model(toy_store, settings, "toy_store", past)
    assert {c: s for c, (s, _) in _snapshot(toy_store, past).items()} == _independent_scores(past)
    run_model(toy_store, settings, "toy_store", AS_OF)  # recomputed: the same, stored once
    assert _snapshot(toy_store, AS_OF) == first
    assert toy_store.sql("SELECT count(*) FROM score_runs WHERE as_of = ?", [AS_OF])[0][0] == 1


def test_a_rerun_replaces_the_snapshot(toy_store: Datamart, settings: Settings) -> None:
    """A date run again after the data and the model changed: the stored snapshot is that of
    the new run (scores, bands, version, run), for the profiles there are now."""
    run_model(toy_store, settings, "toy_store", AS_OF)
    toy_store.sql("UPDATE identity SET profile_id = 'C003' WHERE customer_id = 'C010'")  # merged
    insert(toy_store, "customers", [{"customer_id": "C011", "region": "San José"}])
    text = (EXAMPLE / "toy_store.yaml").read_text(encoding="utf-8")
    register_model(toy_store, parse_model_text(text.replace("points: 2", "points: 3")))

    run = run_model(toy_store, settings, "toy_store", AS_OF)
    stored = toy_store.sql(
        "SELECT profile_id, score, band, version, run_id FROM score_snapshots "
        "WHERE model = 'toy_store' AND as_of = ? ORDER BY profile_id",
        [AS_OF],
    )
    live = score_profiles(toy_store, settings, "toy_store", as_of=AS_OF).scores.to_pylist()
    expected = sorted((r["profile_id"], r["score"], r["band"]) for r in live)
    assert [(p, s, b) for p, s, b, _v, _r in stored] == expected
    assert [p for p, *_ in stored] == [f"C{n:03d}" for n in range(1, 12) if n != 10]
    assert {(v, r) for *_, v, r in stored} == {(2, run.run_id)}
    assert {p: s for p, s, *_ in stored}["C011"] == 8.0  # lives in San José
    assert toy_store.sql("SELECT count(*) FROM score_runs WHERE as_of = ?", [AS_OF])[0][0] == 1


def test_later_activity_raises_the_score(toy_store: Datamart, settings: Settings) -> None:
    later = dt.date(2026, 11, 10)
    run_model(toy_store, settings, "toy_store", AS_OF)
    run_model(toy_store, settings, "toy_store", later)
    snapshot = _snapshot(toy_store, later)
    assert snapshot["C001"] == (55.0, "nurture")  # six November interactions: +12
    assert snapshot["C007"] == (66.0, "frequent")  # two e-mail clicks: +4
    assert _independent_scores(later) == {c: s for c, (s, _) in snapshot.items()}
    changes = toy_store.sql("SELECT count(*) FROM score_band_changes WHERE as_of = ?", [later])
    assert changes[0][0] == 0


def test_a_back_filled_rule_change_shows_in_the_history(
    toy_store: Datamart, settings: Settings
) -> None:
    dates = [dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 10, 31)]
    backfill(toy_store, settings, "toy_store", dates[0], dates[-1], every_days=30)
    before = {d: _snapshot(toy_store, d)["C003"][0] for d in dates}
    text = (EXAMPLE / "toy_store.yaml").read_text(encoding="utf-8")
    changed = text.replace(
        "  - name: landing_pages\n    description: each visit to a landing page\n    points: 2",
        "  - name: landing_pages\n    description: each visit to a landing page\n    points: 3",
    )
    assert changed != text
    model = register_model(toy_store, parse_model_text(changed))
    assert model.version == 2
    runs = backfill(toy_store, settings, "toy_store", dates[0], dates[-1], every_days=30)
    assert [r.as_of for r in runs] == dates and {r.version for r in runs} == {2}
    history = toy_store.sql(
        "SELECT as_of, score, version FROM score_snapshots WHERE profile_id = 'C003' ORDER BY as_of"
    )
    landing = toy_store.sql(
        "SELECT as_of, matched FROM score_ledger WHERE profile_id = 'C003' "
        "AND rule = 'landing_pages' ORDER BY as_of"
    )
    visits = {d: int(n) for d, n in landing}
    assert [d for d, _, _ in history] == dates
    for as_of, score, version in history:
        assert version == 2
        assert score == before[as_of] + visits[as_of]  # one more point per landing visit
    assert visits == {dates[0]: 4, dates[1]: 8, dates[2]: 11}


def test_models_run_together_score_as_if_run_alone(toy_store: Datamart, settings: Settings) -> None:
    """``run_models`` reads the behaviour rows once and evaluates the rules of several models
    together; each model's snapshot and ledger are those of its own run."""
    text = (EXAMPLE / "toy_store.yaml").read_text(encoding="utf-8")
    variant = text.replace("name: toy_store", "name: toy_store_daily", 1).replace(
        "  - name: landing_pages\n    description: each visit to a landing page\n    points: 2",
        "  - name: landing_pages\n    description: each visit to a landing page\n    points: 2\n"
        "    repeat: per_day\n    decay:\n      half_life_days: 30",
    )
    assert "per_day" in variant
    # A field and a derived field the first model does not test: the models share one read of
    # what their explicit rules test.
    variant += (
        "  - name: women\n    points: 1\n    when:\n      field: gender\n      equals: female\n"
        "  - name: over_thirty\n    points: 2\n    when:\n      field: age\n      at_least: 30\n"
    )
    register_model(toy_store, parse_model_text(variant))

    def lines() -> list[tuple[object, ...]]:
        return toy_store.sql(
            "SELECT model, profile_id, rule, points, matched, evidence FROM score_ledger "
            "WHERE as_of = ? ORDER BY model, profile_id, rule",
            [AS_OF],
        )

    for name in ("toy_store", "toy_store_daily"):
        run_model(toy_store, settings, name, AS_OF)
    alone = lines()
    runs = run_models(toy_store, settings, ["toy_store", "toy_store_daily"], AS_OF)
    assert [r.model for r in runs] == ["toy_store", "toy_store_daily"]
    assert lines() == alone  # the runs of the same day replaced the earlier ones
    landing = {(r[0], r[1]): r[3] for r in alone if r[2] == "landing_pages"}
    daily = {p: v for (m, p), v in landing.items() if m == "toy_store_daily"}
    assert daily and all(v < landing["toy_store", p] for p, v in daily.items())
    added = {(r[1], r[2]) for r in alone if r[0] == "toy_store_daily" and r[2] != "landing_pages"}
    assert ("C001", "women") in added and ("C001", "over_thirty") in added  # born 1988
