"""Scoring-model files: every mistake a person can make comes back as one ConfigError that
names the file, the line and, for a misspelt name, the close match."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.errors import ConfigError, DataError, NotFoundError
from clientela.scoring import load_model_file, parse_model_text
from clientela.services._score_models import validate_against_datamart
from clientela.services.scoring import backfill, get_model, register_model, run_model
from tests.scoring._rows import AS_OF, ago, attributes, customers, events, insert


def _y(text: str) -> str:
    return textwrap.dedent(text)


def _more_bands(text: str) -> str:
    """Band entries that follow BANDS (indented as list items of ``bands``)."""
    return textwrap.indent(textwrap.dedent(text), "  ")


RULE = _y("""\
rules:
  - name: a
    points: 1
    when: {field: region, equals: X}
""")
BANDS = _y("""\
name: m
bands:
  - name: low
    max: 10
""")

# (case, the model file, the line the error names, what the message says)
FILE_CASES = [
    (
        "misspelt key",
        _y("""\
        name: m
        rules:
          - name: a
            pionts: 1
            when: {field: region, equals: X}
        """),
        4,
        "unknown key 'pionts' (did you mean 'points'?)",
    ),
    (
        "misspelt top-level key",
        _y("""\
        name: m
        rule:
          - name: a
        """),
        2,
        "unknown key 'rule' (did you mean 'rules'?)",
    ),
    (
        "wrong type",
        _y("""\
        name: m
        rules:
          - name: a
            points: ten
            when: {field: region, equals: X}
        """),
        4,
        "'rules.0.points': Input should be a valid number, unable to parse string as a number "
        "(got 'ten')",
    ),
    (
        "no rules",
        _y("""\
        name: m
        rules: []
        """),
        2,
        "'rules': List should have at least 1 item after validation, not 0",
    ),
    (
        "bad model name",
        "name: 2nd model\n" + RULE,
        1,
        "a model name starts with a letter and holds letters, digits, _ . -",
    ),
    (
        "bad rule name",
        _y("""\
        name: m
        rules:
          - name: my rule
            points: 1
            when: {field: region, equals: X}
        """),
        3,
        "a rule name starts with a letter and holds letters, digits, _ . -",
    ),
    (
        "bands overlap",
        BANDS
        + _more_bands("""\
          - name: high
            min: 8
        """)
        + RULE,
        6,
        "bands 'low' (below 10) and 'high' (from 8) overlap",
    ),
    (
        "bands leave a gap",
        BANDS
        + _more_bands("""\
          - name: high
            min: 12
        """)
        + RULE,
        6,
        "bands 'low' and 'high' leave a gap between 10 and 12",
    ),
    (
        "bands out of order",
        _y("""\
        name: m
        bands:
          - name: high
            min: 10
          - name: low
            max: 10
        """)
        + RULE,
        5,
        "bands must be listed from the lowest to the highest: 'low' comes after 'high'",
    ),
    (
        "lowest band with a min",
        _y("""\
        name: m
        bands:
          - name: low
            min: 0
            max: 10
          - name: high
            min: 10
        """)
        + RULE,
        4,
        "the lowest band 'low' must have no 'min' so that every score has a band",
    ),
    (
        "highest band with a max",
        BANDS
        + _more_bands("""\
          - name: high
            min: 10
            max: 20
        """)
        + RULE,
        7,
        "the highest band 'high' must have no 'max' so that every score has a band",
    ),
    (
        "middle band without a max",
        BANDS
        + _more_bands("""\
          - name: mid
            min: 10
          - name: high
            min: 20
        """)
        + RULE,
        5,
        "band 'mid' needs a 'max' (band 'high' follows it)",
    ),
    (
        "middle band without a min",
        BANDS
        + _more_bands("""\
          - name: mid
            max: 20
          - name: high
            min: 20
        """)
        + RULE,
        5,
        "band 'mid' needs a 'min' (it follows band 'low')",
    ),
    (
        "band min above its max",
        BANDS
        + _more_bands("""\
          - name: mid
            min: 20
            max: 10
          - name: high
            min: 20
        """)
        + RULE,
        5,
        "band 'mid' has min 20 >= max 10",
    ),
    (
        "band named twice",
        BANDS
        + _more_bands("""\
          - name: low
            min: 10
        """)
        + RULE,
        5,
        "band names must be unique: 'low' is used twice",
    ),
    (
        "when and activity",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            when: {field: region, equals: X}
            activity: {type: page_view}
        """),
        3,
        "rule 'a' needs either 'when' (a test on the profile) or 'activity' (points for "
        "behaviour), not both",
    ),
    (
        "neither when nor activity",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
        """),
        3,
        "rule 'a' needs either 'when' (a test on the profile) or 'activity' (points for behaviour)",
    ),
    (
        "rule named twice",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            when: {field: region, equals: X}
          - name: a
            points: 2
            when: {field: region, equals: Y}
        """),
        6,
        "rule names must be unique: 'a' is used twice",
    ),
    (
        "unknown group",
        _y("""\
        name: m
        groups:
          persona: {max: 10}
        rules:
          - name: a
            points: 1
            group: persna
            when: {field: region, equals: X}
        """),
        7,
        "rule 'a' names group 'persna', which 'groups' does not define (did you mean 'persona'?)",
    ),
    (
        "invalid regex",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            when:
              field: region
              matches: "San (Jos"
        """),
        5,
        "'matches' is not a valid pattern: missing ), unterminated subpattern at position 4",
    ),
    (
        "invalid regex in an activity's where",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            activity:
              type: page_view
              where:
                - property: page
                  matches: "(("
        """),
        8,
        "'rules.0.activity.where.0': 'matches' is not a valid pattern",
    ),
    (
        "a pattern not every datamart reads",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            when: {field: region, matches: "(?<!North )Carolina"}
        """),
        5,
        "'matches' uses a look-around, a named group or a back-reference, which the datamart's "
        "regular expressions (DuckDB, PostgreSQL) do not all support",
    ),
    (
        "two operators",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            when:
              all:
                - field: region
                  equals: X
                  in: [Y]
        """),
        7,
        "a condition has exactly one operator of equals, not_equals, in, not_in, at_least, "
        "at_most, above, below, between, matches, missing (got equals, in)",
    ),
    (
        "no subject",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            when: {equals: X}
        """),
        5,
        "a condition names exactly one of field, attribute, column or property (got none)",
    ),
    (
        "a group with a test",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            when:
              field: region
              any: [{field: city, equals: Y}]
        """),
        5,
        "a group (all, any, not) stands alone in its condition",
    ),
    (
        "between upside down",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            when: {field: employees, between: [50, 10]}
        """),
        5,
        "'between' needs the lower bound first",
    ),
    (
        "decay with two kinds",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            activity: {type: page_view}
            decay:
              half_life_days: 30
              window_days: 10
        """),
        6,
        "'rules.0.decay': a decay is one of half_life_days, window_days or percent with "
        "every_days (got half_life_days, window_days)",
    ),
    (
        "model decay with two kinds",
        _y("""\
        name: m
        decay: {window_days: 10, percent: 20, every_days: 7}
        """)
        + RULE,
        2,
        "a decay is one of half_life_days, window_days or percent with every_days (got "
        "window_days, percent)",
    ),
    (
        "misspelt decay key",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            activity: {type: page_view}
            decay:
              half_life: 30
        """),
        7,
        "unknown key 'half_life' (did you mean 'half_life_days'?)",
    ),
    (
        "decay neither none nor a mapping",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            activity: {type: page_view}
            decay: nonee
        """),
        6,
        "'rules.0.decay': Input should be 'none' (got 'nonee') (did you mean 'none'?)",
    ),
    (
        "percent without every_days",
        _y("""\
        name: m
        decay: {percent: 20}
        """)
        + RULE,
        2,
        "'percent' and 'every_days' go together",
    ),
    (
        "behaviour keys on an explicit rule",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            repeat: once
            decay: none
            when: {field: region, equals: X}
        """),
        3,
        "rule 'a': decay, repeat only apply to 'activity' rules",
    ),
    (
        "count with repeat",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            activity: {type: page_view}
            count: {at_least: 3, within_days: 7}
            repeat: once
        """),
        3,
        "rule 'a': 'count' gives its points once; it does not combine with repeat, per, "
        "max_per_day, max_per_period or max_times",
    ),
    (
        "per without per_object",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            activity: {type: page_view}
            per: properties.page
        """),
        3,
        "rule 'a': 'per' needs repeat: per_object",
    ),
    (
        "max_per_day without every",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            activity: {type: page_view}
            repeat: per_day
            max_per_day: 2
        """),
        3,
        "rule 'a': 'max_per_day' needs repeat: every",
    ),
    (
        "unknown repeat",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            activity: {type: page_view}
            repeat: per_objet
        """),
        6,
        "'rules.0.repeat': Input should be 'every', 'once', 'per_object' or 'per_day' "
        "(got 'per_objet') (did you mean 'per_object'?)",
    ),
    (
        "minimum above maximum",
        _y("""\
        name: m
        maximum: 10
        minimum: 20
        """)
        + RULE,
        3,
        "'minimum' must not be above 'maximum'",
    ),
    (
        "levels upside down",
        _y("""\
        name: m
        levels: {high: 40, medium: 60}
        """)
        + RULE,
        2,
        "'levels': 'medium' must not be above 'high'",
    ),
    (
        "not a mapping",
        "- name: m\n",
        1,
        "a scoring model is a mapping (name, rules, bands...)",
    ),
    (
        "invalid YAML",
        "name: m\nrules:\n  - name: [a\n",
        4,
        "invalid YAML: ",
    ),
]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [case[1:] for case in FILE_CASES],
    ids=[case[0] for case in FILE_CASES],
)
def test_a_bad_model_file_names_the_file_the_line_and_the_problem(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_model_file(path)
    assert caught.value.file == str(path)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}, line {line}: ")
    assert message in caught.value.message
    assert " more problem" not in caught.value.message  # the one problem, not its echoes


def test_an_empty_or_missing_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"empty\.yaml: the file is empty$"):
        load_model_file(empty)
    with pytest.raises(ConfigError, match=r"absent\.yaml: file not found$"):
        load_model_file(tmp_path / "absent.yaml")


def test_model_text_without_a_file_names_its_source() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_model_text("name: m\nrules: []\n")
    assert str(caught.value) == "'rules': List should have at least 1 item after validation, not 0"
    with pytest.raises(ConfigError, match=r"^stored, line 2: invalid YAML: "):
        parse_model_text("name: [m\n", source="stored")


def test_a_good_file_keeps_the_lines_of_its_rules(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _y("""\
        name: m
        description: lines
        rules:
          - name: a
            points: 1
            when: {field: region, equals: X}
          - name: b
            points: -2.5
            activity:
              type: [page_view, email_open]
              where:
                - property: page
                  matches: "(?i)^/landing/"
            decay: {percent: 10, every_days: 7}
        """),
    )
    model = load_model_file(path)
    assert [r.line for r in model.rules] == [4, 7]
    activity = model.rules[1].activity
    assert activity is not None
    assert activity.types == ("page_view", "email_open")
    assert activity.where[0].line == 12
    assert model.rules[1].decay is not None
    assert model.rules[1].decay.describe() == "-10% every 7 days"
    assert model.source_file == str(path)


# -- against what the datamart holds ----------------------------------------------------------


DATAMART_CASES = [
    (
        "unknown field",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            when:
              all:
                - field: region
                  equals: X
                - field: regoin
                  equals: Y
        """),
        9,
        "rule 'a': unknown field 'regoin' (did you mean 'region'?); fields are the customer's "
        "columns, age, email_domain, days_since_signup and the summary's KPIs",
    ),
    (
        "unknown attribute",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            when: {attribute: work_provnce, equals: X}
        """),
        5,
        "rule 'a': unknown third-party attribute 'work_provnce' (did you mean 'work_province'?); "
        "the datamart has: interests, work_province",
    ),
    (
        "unknown event type",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            activity:
              type: page_veiw
        """),
        6,
        "rule 'a': unknown event_type 'page_veiw' in events (did you mean 'page_view'?); known: ",
    ),
    (
        "unknown column in an activity's where",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            activity:
              table: transactions
              type: sale
              where:
                - column: categry
                  equals: toys
        """),
        9,
        "rule 'a': transactions has no column 'categry' (did you mean 'category'?)",
    ),
    (
        "a field in an activity's where",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            activity:
              where:
                - field: region
                  equals: X
        """),
        7,
        "rule 'a': an activity's 'where' tests the rows' 'column' or 'property', not a field",
    ),
    (
        "a property outside events",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            activity:
              table: interactions
              where:
                - property: page
                  equals: X
        """),
        8,
        "rule 'a': only events have properties; use 'column' for interactions",
    ),
    (
        "per names no column",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            activity: {type: page_view}
            repeat: per_object
            per: objet_id
        """),
        3,
        "rule 'a': 'per' names no column of events: 'objet_id' (did you mean 'object_id'?)",
    ),
    (
        "per a property outside events",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            activity: {table: interactions, type: response}
            repeat: per_object
            per: properties.offer
        """),
        3,
        "rule 'a': only events have properties; 'per' names a column of interactions",
    ),
    (
        "a column in a when",
        _y("""\
        name: m
        rules:
          - name: a
            points: 1
            when: {column: category, equals: toys}
        """),
        5,
        "rule 'a': a 'when' condition tests a 'field' or an 'attribute' of the profile; "
        "'column' belongs in an activity's 'where'",
    ),
]


def test_a_model_is_checked_against_the_datamart(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    customers(datamart, "c1")
    attributes(datamart, {"c1": {"interests": "toys", "work_province": "San José"}})
    events(datamart, "c1", ("page_view", ago(1)))
    for case, text, line, message in DATAMART_CASES:
        path = _write(tmp_path, text)
        model = load_model_file(path)  # the file itself is well formed
        with pytest.raises(ConfigError) as caught:
            validate_against_datamart(datamart, model)
        assert str(caught.value).startswith(f"{path}, line {line}: "), case
        assert message in caught.value.message, case

    # Registering and running check the same way, and nothing is stored.
    unknown_type = _write(tmp_path, DATAMART_CASES[2][1])
    with pytest.raises(ConfigError, match="did you mean 'page_view'"):
        register_model(datamart, unknown_type)
    with pytest.raises(ConfigError, match="did you mean 'region'"):
        run_model(datamart, settings, load_model_file(_write(tmp_path, DATAMART_CASES[0][1])))
    assert datamart.sql("SELECT count(*) FROM score_models")[0][0] == 0
    assert datamart.sql("SELECT count(*) FROM score_runs")[0][0] == 0

    # A type the datamart holds is known even when the documentation does not list it.
    insert(
        datamart,
        "events",
        [{"customer_id": "c1", "event_type": "quiz_done", "occurred_at": ago(1)}],
    )
    ok = parse_model_text(
        "name: m\nrules:\n  - name: a\n    points: 1\n    activity: {type: quiz_done}\n"
    )
    validate_against_datamart(datamart, ok)


def test_an_attribute_is_not_checked_before_any_is_loaded(datamart: Datamart) -> None:
    model = parse_model_text(
        "name: m\nrules:\n  - name: a\n    points: 1\n    when: {attribute: anything, equals: X}\n"
    )
    validate_against_datamart(datamart, model)


def test_missing_models_and_bad_backfills(datamart: Datamart, settings: Settings) -> None:
    with pytest.raises(NotFoundError) as caught:
        get_model(datamart, "toy")
    assert str(caught.value) == (
        "no scoring model 'toy'; the models are: none yet (register one with 'clientela score add')"
    )
    register_model(datamart, parse_model_text("name: toy_store\n" + RULE))
    with pytest.raises(NotFoundError, match=r"^no scoring model 'toy_stor' \(did you mean "):
        get_model(datamart, "toy_stor")
    with pytest.raises(NotFoundError, match=r"^scoring model 'toy_store' has no version 3$"):
        get_model(datamart, "toy_store", version=3)
    with pytest.raises(DataError, match=r"the back-fill ends \(2026-05-01\) before it starts"):
        backfill(datamart, settings, "toy_store", AS_OF, dt.date(2026, 5, 1))
    with pytest.raises(DataError, match="--every must be 1 or more days, got 0"):
        backfill(datamart, settings, "toy_store", AS_OF, AS_OF, every_days=0)
