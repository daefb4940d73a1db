"""List scoring on the datamart (every backend): matching, filters, levels, runs and changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.errors import ConfigError, NotFoundError
from clientela.scoring.definition import parse_model_text
from clientela.scoring.lists import ListFilters, choose_cutoffs
from clientela.services.score_list import score_list
from clientela.services.scoring import register_model
from tests.scoring._list_data import (
    AS_OF,
    CRM_MATCHED,
    CRM_ROWS,
    CRM_UNMATCHED,
    EMAILS,
    SCORES,
    TOY_STORE,
    level,
    load_toy_store,
    phone,
    write_csv,
)


@pytest.fixture
def toy_store(datamart: Datamart, settings: Settings) -> Datamart:
    return load_toy_store(datamart, settings)


def _contacts(result: object) -> dict[str, dict[str, object]]:
    table = result.contacts.to_pylist()  # type: ignore[attr-defined]
    return {row["contact"]: row for row in table}


def test_a_crm_export_is_matched_scored_and_levelled(
    toy_store: Datamart, settings: Settings, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "crm.csv", CRM_ROWS)
    result = score_list(toy_store, settings, path, "toy_store", as_of=AS_OF, region="CR")
    s = result.summary
    assert (s.contacts, s.rows, s.duplicates) == (10, 11, 1)
    assert (s.matched, s.unmatched, s.excluded, s.scored) == (7, 3, 0, 7)
    assert s.coverage == pytest.approx(0.7)
    assert s.cutoffs_source == "model"
    assert (s.cutoffs.high, s.cutoffs.medium) == (60, 40)  # type: ignore[union-attr]
    assert s.levels == {"high": 3, "medium": 2, "low": 2}
    assert s.previous_run is None and s.changes == {}
    rows = _contacts(result)
    assert len(rows) == s.contacts  # every contact once, none dropped
    for contact, customer in CRM_MATCHED.items():
        row = rows[contact]
        assert (row["status"], row["profile_id"], row["customer_id"]) == (
            "scored", customer, customer,
        )  # fmt: skip
        assert row["score"] == SCORES[customer]
        assert row["level"] == level(SCORES[customer])
    for contact, reason in CRM_UNMATCHED.items():
        assert rows[contact]["status"] == "unmatched"
        assert str(rows[contact]["reasons"]).startswith(reason)
    assert rows["sofia.jimenez@example.cr"]["matched_on"] == "email+phone"
    assert rows["+50688010002"]["matched_on"] == "phone"
    # Top reasons: the ledger lines with the largest points first.
    assert str(rows["sofia.jimenez@example.cr"]["reasons"]).startswith("emails_and_forms +36")
    assert s.warnings == (
        "1 duplicate row (same e-mail or phone as an earlier row) merged into the first row's "
        "contact",
        "2 phones without a country code read as numbers of region CR",
        "2 e-mail or phone values neither a valid e-mail nor a valid phone; their contacts are "
        "matched on their other values or listed as unmatched",
    )


def test_profile_filters_narrow_the_list(
    toy_store: Datamart, settings: Settings, tmp_path: Path
) -> None:
    rows = [("email",), *((e,) for e in EMAILS.values())]
    path = write_csv(tmp_path / "all.csv", rows)
    filters = ListFilters(genders=("female",), min_age=30, max_age=40, interests=("Parenting",))
    result = score_list(toy_store, settings, path, "toy_store", as_of=AS_OF, filters=filters)
    by_profile = {r["profile_id"]: r for r in result.contacts.to_pylist()}
    # Women aged 30-40 on 2026-11-01 interested in parenting: Ana (38) and Sofía (35).
    assert sorted(p for p, r in by_profile.items() if r["status"] == "scored") == ["C001", "C003"]
    assert result.summary.excluded == 8
    assert by_profile["C002"]["reasons"] == (
        "excluded by the filters: gender male; age 41; no interests matching Parenting"
    )
    assert by_profile["C009"]["reasons"] == (
        "excluded by the filters: age 27; no interests matching Parenting"
    )
    assert by_profile["C008"]["reasons"] == "excluded by the filters: gender male"
    assert by_profile["C005"]["score"] is None and by_profile["C005"]["level"] is None
    assert result.summary.filters == "gender female; age 30-40; interests Parenting"


def test_terciles_when_the_model_has_no_levels(
    toy_store: Datamart, settings: Settings, tmp_path: Path
) -> None:
    text = (TOY_STORE / "toy_store.yaml").read_text(encoding="utf-8")
    text = text.replace("name: toy_store", "name: toy_store_plain").replace(
        "levels:\n  high: 60\n  medium: 40\n", ""
    )
    register_model(toy_store, parse_model_text(text))
    path = write_csv(tmp_path / "all.csv", [("email",), *((e,) for e in EMAILS.values())])
    result = score_list(toy_store, settings, path, "toy_store_plain", as_of=AS_OF)
    s = result.summary
    ordered = sorted(SCORES.values())  # -5 2 10 38 43 58 61 62 80 81
    assert s.cutoffs_source == "terciles"
    # (10 - 1) / 3 and 2 (10 - 1) / 3 fall on order statistics 3 and 6 exactly.
    assert s.cutoffs is not None
    assert (s.cutoffs.medium, s.cutoffs.high) == (ordered[3], ordered[6])
    assert s.levels == {"high": 4, "medium": 3, "low": 3}
    explicit = score_list(
        toy_store, settings, path, "toy_store_plain", as_of=AS_OF, high=80, medium=0
    )
    assert explicit.summary.cutoffs_source == "options"
    assert explicit.summary.levels == {"high": 2, "medium": 7, "low": 1}


def test_choose_cutoffs_rules() -> None:
    scores = [float(v) for v in range(10)]
    cutoffs, source = choose_cutoffs(scores, model_levels=None)
    assert source == "terciles" and cutoffs is not None
    assert (cutoffs.high, cutoffs.medium) == (pytest.approx(6.0), pytest.approx(3.0))
    assert choose_cutoffs([], model_levels=None) == (None, "none")
    with pytest.raises(ConfigError) as error:
        choose_cutoffs(scores, model_levels=None, high=5, medium=7)
    assert str(error.value) == (
        "the medium cut-off (7) is above the high one (5); expected --medium <= --high"
    )


def test_runs_are_recorded_and_compared_with_the_previous_one(
    toy_store: Datamart, settings: Settings, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "crm.csv", CRM_ROWS)
    first = score_list(toy_store, settings, path, "toy_store", as_of=AS_OF, region="CR")
    # Later, Valeria joins the list and the scores are as of a month earlier.
    longer = write_csv(tmp_path / "crm.csv", [*CRM_ROWS, ("Valeria", EMAILS["C009"], "")])
    second = score_list(toy_store, settings, longer, "toy_store", region="CR",
                        as_of=AS_OF.replace(month=10))  # fmt: skip
    assert second.summary.previous_run == first.summary.run_id
    rows = _contacts(second)
    assert rows[EMAILS["C009"]]["movement"] == "new"
    ana = rows["ana.mora@example.cr"]
    assert ana["previous_score"] == 43.0 and ana["previous_level"] == "medium"
    assert ana["change"] == pytest.approx(float(ana["score"]) - 43.0)  # type: ignore[arg-type]
    assert sum(second.summary.changes.values()) == 8  # the scored contacts of this run
    assert [run.run_id for run in second.history] == [first.summary.run_id, second.summary.run_id]
    assert second.history[0].high == 3 and second.history[0].contacts == 10
    recorded = toy_store.sql(
        "SELECT list_name, model, contacts, matched, unmatched FROM score_list_runs "
        "ORDER BY scored_at"
    )
    assert [tuple(r) for r in recorded] == [
        ("crm", "toy_store", 10, 7, 3),
        ("crm", "toy_store", 11, 8, 3),
    ]
    contacts = toy_store.sql(
        "SELECT count(*), count(profile_id), count(level) FROM score_list_contacts "
        "WHERE run_id = ?",
        [first.summary.run_id],
    )
    assert tuple(contacts[0]) == (10, 7, 7)
    # Another name is another list: no history.
    other = score_list(
        toy_store, settings, path, "toy_store", as_of=AS_OF, name="other", region="CR"
    )
    assert other.summary.previous_run is None and other.summary.list_name == "other"


def test_an_unknown_model_and_bad_levels(
    toy_store: Datamart, settings: Settings, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "crm.csv", CRM_ROWS)
    with pytest.raises(
        NotFoundError, match=r"no scoring model 'toy_stor' \(did you mean 'toy_store'\?\)"
    ):
        score_list(toy_store, settings, path, "toy_stor")
    with pytest.raises(
        ConfigError, match="unknown interest level 'hot'; expected some of: high, medium, low"
    ):
        score_list(
            toy_store, settings, path, "toy_store", audience_levels=["hot"], audience_dir=tmp_path
        )
    with pytest.raises(
        ConfigError, match=r"the workbook name must end in \.xlsx, got 'report\.xls'"
    ):
        score_list(toy_store, settings, path, "toy_store", out=tmp_path / "report.xls")


_CUSTOMERS = sorted(EMAILS)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    picks=st.lists(
        st.tuples(
            st.sampled_from([*_CUSTOMERS, "stranger"]),
            st.sampled_from(["email", "phone", "both", "EMAIL", "junk"]),
        ),
        min_size=1,
        max_size=14,
    )
)
def test_every_contact_is_matched_or_unmatched_exactly_once(
    toy_store: Datamart, settings: Settings, tmp_path: Path, picks: list[tuple[str, str]]
) -> None:
    rows: list[tuple[str, str]] = [("email", "phone")]
    for customer, how in picks:
        email = EMAILS.get(customer, "stranger@example.org")
        number = phone(customer) if customer in EMAILS else "+50670000000"
        rows.append({
            "email": (email, ""), "phone": ("", number), "both": (email, number),
            "EMAIL": (email.upper(), ""), "junk": ("junk", "1"),
        }[how])  # fmt: skip
    path = write_csv(tmp_path / "prop.csv", rows)
    result = score_list(toy_store, settings, path, "toy_store", as_of=AS_OF, region="CR")
    table = result.contacts.to_pylist()
    s = result.summary
    assert len(table) == s.contacts == s.matched + s.unmatched
    assert sum(r["rows"] for r in table) == len(picks)
    for row in table:
        assert (row["status"] == "unmatched") == (row["profile_id"] is None)
        if row["status"] == "scored":
            assert row["score"] == SCORES[row["profile_id"]]
