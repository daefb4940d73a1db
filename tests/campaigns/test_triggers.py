"""Triggers: each event fires for exactly the expected profiles, once per occurrence; change
triggers record a baseline; webhooks are POSTed to a real local server (failures retried);
the campaign action runs the campaign for the fired profiles; watch mode picks up new rows;
bad trigger files give clear errors."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import tempfile
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from clientela.campaigns.triggers import EVENTS as EVENT_NAMES
from clientela.campaigns.triggers import Trigger, parse_triggers_file
from clientela.config import Settings
from clientela.datamart import Datamart, connect, migrate
from clientela.datamart.schema import TABLES
from clientela.errors import ConfigError, NotFoundError
from clientela.services.triggers import TriggerPass, firing_log, run_triggers, watch_triggers
from tests.conftest import CliResult
from tests.models._data import insert

AS_OF = dt.date(2026, 6, 15)
T = dt.datetime
Cli = Callable[..., CliResult]


def _customers(dm: Datamart) -> None:
    names = "bday mover buyer newbie renew later idle busy fading saver steady late fee"
    names += " cart1 cart2 cart3 clicker opener riser high"
    rows: list[dict[str, Any]] = [
        {
            "customer_id": name,
            "kind": "person",
            "address": f"{name} street",
            "city": "Leeds",
            "created_at": T(2024, 1, 1),
        }
        for name in names.split()
    ]
    rows[0]["birth_date"] = dt.date(1990, 6, 20)
    rows[1]["birth_date"] = dt.date(1980, 7, 30)
    insert(dm, "customers", rows)


def _sale(customer: str, when: T, product: str, kind: str = "sale", name: str = "") -> dict:
    return {
        "customer_id": customer,
        "occurred_at": when,
        "product_id": product,
        "product_name": name or product,
        "category": "c-" + product,
        "amount": 10.0,
        "kind": kind,
    }


def _event(customer: str, when: T, event_type: str = "page_view") -> dict:
    return {"customer_id": customer, "occurred_at": when, "event_type": event_type}


def _contract(customer: str, product: str, ends: T, status: str = "active") -> dict:
    return {
        "customer_id": customer,
        "product": product,
        "status": status,
        "started_at": T(2025, 1, 10),
        "ends_at": ends,
        "monthly_amount": 10.0,
    }


def _rows(dm: Datamart, table: str, rows: list[dict[str, Any]]) -> None:
    """Rows of a table that is not loaded from files (score snapshots, band changes)."""
    schema = TABLES[table].to_pyarrow()
    dm.bulk_insert(
        table,
        pa.table({n: pa.array([r.get(n) for r in rows], schema.field(n).type) for n in rows[0]}),
    )


def small_datamart(dm: Datamart) -> None:
    """One or two customers per event, and near misses (module docstring of each test)."""
    _customers(dm)
    insert(
        dm,
        "transactions",
        [
            _sale("buyer", T(2026, 1, 10), "p1"),
            _sale("buyer", T(2026, 6, 12), "p2"),  # a new product: fires
            _sale("buyer", T(2026, 6, 13), "p1"),  # bought before: does not
            _sale("newbie", T(2026, 6, 12), "p3"),  # a first purchase is not a new product
            _sale("fee", T(2026, 6, 14), "f1", "fee", "Unpaid invoice fee"),
            _sale("fee", T(2026, 6, 14), "f2", "fee", "Delivery fee"),
            _sale("cart3", T(2026, 6, 13, 12), "p9"),
        ],
    )
    insert(
        dm,
        "contracts",
        [
            _contract("renew", "mobile", T(2026, 7, 1)),  # due in 16 days: fires
            _contract("later", "mobile", T(2026, 9, 1)),
            {**_contract("renew", "mobile", T(2026, 6, 20), "ended"), "ended_at": T(2026, 1, 1)},
            _contract("idle", "gym", T(2027, 1, 10)),
            _contract("busy", "gym", T(2027, 1, 10)),
            _contract("late", "gym", T(2027, 1, 10), "suspended"),
        ],
    )
    fading = [_event("fading", T(2026, 4, 20) + dt.timedelta(days=i)) for i in range(6)]
    insert(
        dm,
        "events",
        [
            _event("idle", T(2026, 3, 1)),
            _event("busy", T(2026, 6, 10)),
            *fading,
            _event("fading", T(2026, 6, 1)),
            _event("cart1", T(2026, 6, 14, 9), "cart_abandon"),
            _event("cart2", T(2026, 6, 13, 10), "cart_add"),
            _event("cart3", T(2026, 6, 13, 10), "cart_add"),
        ],
    )
    insert(
        dm,
        "third_party",
        [
            {"customer_id": c, "attribute": "balance", "value": v, "as_of": d}
            for c, v, d in [
                ("saver", "1000", dt.date(2026, 5, 1)),
                ("saver", "300", dt.date(2026, 6, 1)),
                ("steady", "1000", dt.date(2026, 5, 1)),
                ("steady", "900", dt.date(2026, 6, 1)),
            ]
        ],
    )
    insert(
        dm,
        "responses",
        [
            {"campaign": "coupon", "customer_id": "clicker", "kind": "click",
             "responded_at": T(2026, 6, 14)},
            {"campaign": "coupon", "customer_id": "opener", "kind": "open",
             "responded_at": T(2026, 6, 14)},
            {"campaign": "other", "customer_id": "opener", "kind": "click",
             "responded_at": T(2026, 6, 14)},
        ],
    )  # fmt: skip
    _rows(
        dm,
        "score_snapshots",
        [
            {"model": "engage", "as_of": d, "profile_id": p, "version": 1, "score": s}
            for p, d, s in [
                ("riser", dt.date(2026, 6, 1), 40.0),
                ("riser", dt.date(2026, 6, 15), 70.0),
                ("high", dt.date(2026, 6, 1), 70.0),
                ("high", dt.date(2026, 6, 15), 80.0),
            ]
        ],
    )
    _rows(
        dm,
        "predictive_scores",
        [
            {"model": "churn", "version": 1, "as_of": d, "profile_id": p, "probability": v}
            for p, d, v in [
                ("riser", dt.date(2026, 5, 1), 0.2),
                ("riser", dt.date(2026, 6, 1), 0.6),
                ("high", dt.date(2026, 5, 1), 0.7),
                ("high", dt.date(2026, 6, 1), 0.9),
                ("high", dt.date(2026, 6, 20), 0.1),  # after the day: not seen
            ]
        ],
    )
    _rows(
        dm,
        "score_band_changes",
        [
            {"model": "engage", "as_of": dt.date(2026, 6, 15), "profile_id": "riser",
             "from_band": "cold", "to_band": "hot", "direction": "up", "score": 70.0},
            {"model": "engage", "as_of": dt.date(2026, 1, 15), "profile_id": "high",
             "from_band": "cold", "to_band": "hot", "direction": "up", "score": 70.0},
        ],
    )  # fmt: skip


EVENTS: dict[str, tuple[str, set[str]]] = {
    "birthday": ("days_ahead: 7", {"bday"}),
    "new_product": ("within_days: 7", {"buyer"}),
    "contract_expiring": ("days_ahead: 30", {"renew"}),
    "under_use": ("days: 60\n  product: gym", {"idle"}),
    "activity_change": ("direction: drop\n  days: 30\n  ratio: 2", {"fading"}),
    "balance_change": ("attribute: balance\n  direction: drop\n  ratio: 0.5", {"saver"}),
    "non_payment": ("fee_text: unpaid", {"late", "fee"}),
    "cart_abandon": ("hours: 24", {"cart1", "cart2"}),
    "response": ("campaign: coupon\n  kinds: [click]", {"clicker"}),
    "score_threshold": ("model: engage\n  threshold: 60", {"riser"}),
    "band_change": ("model: engage\n  to_band: hot", {"riser"}),
    "score_threshold-predictive": (
        "model: churn\n  source: predictive\n  threshold: 0.5",
        {"riser"},
    ),
}


class Hooks:
    """A local HTTP server that records every POST; paths starting /fail answer 500."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        hooks = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hooks.received.append((self.path, json.loads(body)))
                self.send_response(500 if self.path.startswith("/fail") else 200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Hooks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    server = Hooks()
    yield server
    server.close()


def _file(tmp_path: Path, body: str, name: str = "triggers.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def _webhook_trigger(tmp_path: Path, event: str, options: str, url: str) -> tuple[Trigger, ...]:
    body = (
        f"triggers:\n- name: t-{event}\n  event: {event}\n  {options}\n"
        f"  action:\n    webhook: {url}/{event}\n"
    )
    return parse_triggers_file(_file(tmp_path, body))


def _run(dm: Datamart, settings: Settings, triggers: tuple[Trigger, ...], tmp: Path) -> TriggerPass:
    return run_triggers(dm, settings, triggers, as_of=AS_OF, out_dir=tmp / "out")


@pytest.mark.parametrize("event", list(EVENTS))
def test_each_event_fires_once_for_the_expected_profiles(
    datamart: Datamart, settings: Settings, tmp_path: Path, hooks: Hooks, event: str
) -> None:
    small_datamart(datamart)
    options, expected = EVENTS[event]
    event = event.split("-")[0]
    triggers = _webhook_trigger(tmp_path, event, options, hooks.url)
    first = _run(datamart, settings, triggers, tmp_path)
    assert {body["profile_id"] for _, body in hooks.received} == expected
    assert first.outcomes[0].fired == len(hooks.received)
    assert first.outcomes[0].results == {"sent": len(hooks.received)}
    logged = firing_log(datamart, trigger=f"t-{event}")
    assert {row["profile_id"] for row in logged} == expected
    assert all(row["result"] == "sent: HTTP 200" for row in logged)
    # Idempotent: a second pass finds the same occurrences and fires none of them.
    second = _run(datamart, settings, triggers, tmp_path)
    assert second.outcomes[0].occurrences == first.outcomes[0].occurrences
    assert second.outcomes[0].fired == 0
    assert len(firing_log(datamart, trigger=f"t-{event}")) == len(logged)


def test_new_data_fires_only_the_new_occurrence(
    datamart: Datamart, settings: Settings, tmp_path: Path, hooks: Hooks
) -> None:
    small_datamart(datamart)
    triggers = _webhook_trigger(tmp_path, "cart_abandon", "hours: 24", hooks.url)
    _run(datamart, settings, triggers, tmp_path)
    assert len(hooks.received) == 2
    insert(datamart, "events", [_event("opener", T(2026, 6, 15, 8), "cart_abandon")])
    again = _run(datamart, settings, triggers, tmp_path)
    assert again.outcomes[0].fired == 1
    assert hooks.received[-1][1]["profile_id"] == "opener"
    assert hooks.received[-1][1]["detail"] == "cart abandoned: ?"


def test_address_change_records_a_baseline_then_fires_on_each_change(
    datamart: Datamart, settings: Settings, tmp_path: Path, hooks: Hooks
) -> None:
    small_datamart(datamart)
    triggers = _webhook_trigger(tmp_path, "address_change", "fields: [address, city]", hooks.url)
    first = _run(datamart, settings, triggers, tmp_path)
    assert first.outcomes[0].baseline and first.outcomes[0].fired == 0 and not hooks.received
    assert _run(datamart, settings, triggers, tmp_path).outcomes[0].fired == 0
    datamart.sql("UPDATE customers SET address = 'new road' WHERE customer_id = 'mover'")
    moved = _run(datamart, settings, triggers, tmp_path)
    assert moved.outcomes[0].fired == 1
    assert hooks.received[0][1]["profile_id"] == "mover"
    assert hooks.received[0][1]["detail"] == "address: mover street | Leeds -> new road | Leeds"
    assert _run(datamart, settings, triggers, tmp_path).outcomes[0].fired == 0
    # Moving back is a change of its own.
    datamart.sql("UPDATE customers SET address = 'mover street' WHERE customer_id = 'mover'")
    assert _run(datamart, settings, triggers, tmp_path).outcomes[0].fired == 1
    assert len(hooks.received) == 2


def test_a_failed_webhook_is_logged_and_retried_up_to_max_attempts(
    datamart: Datamart, settings: Settings, tmp_path: Path, hooks: Hooks
) -> None:
    small_datamart(datamart)
    body = f"""\
    triggers:
      - name: flaky
        event: birthday
        days_ahead: 7
        action:
          webhook: {hooks.url}/fail
          max_attempts: 2
    """
    triggers = parse_triggers_file(_file(tmp_path, body))
    first = _run(datamart, settings, triggers, tmp_path)
    assert first.outcomes[0].results == {"failed: HTTP 500": 1}
    second = _run(datamart, settings, triggers, tmp_path)
    assert second.outcomes[0].fired == 1  # retried
    assert _run(datamart, settings, triggers, tmp_path).outcomes[0].fired == 0  # given up
    assert [r["result"] for r in firing_log(datamart, trigger="flaky")] == ["failed: HTTP 500"] * 2
    assert len(hooks.received) == 2
    unreachable = body.replace(hooks.url, "http://127.0.0.1:9").replace("flaky", "down")
    down = parse_triggers_file(_file(tmp_path, unreachable, "down.yaml"))
    result = _run(datamart, settings, down, tmp_path).outcomes[0].results
    assert next(iter(result)).startswith("failed: ")


def test_watch_mode_picks_up_rows_added_between_passes(
    datamart: Datamart, settings: Settings, tmp_path: Path, hooks: Hooks
) -> None:
    small_datamart(datamart)
    triggers = _webhook_trigger(tmp_path, "response", "campaign: coupon", hooks.url)
    sleeps: list[float] = []

    def between(number: int, done: TriggerPass) -> None:
        if number == 1:
            assert done.fired == 1
            insert(
                datamart,
                "responses",
                [{"campaign": "coupon", "customer_id": "opener", "kind": "click",
                  "responded_at": T(2026, 6, 15, 9)}],
            )  # fmt: skip

    passes = watch_triggers(
        datamart,
        settings,
        triggers,
        out_dir=tmp_path,
        as_of=AS_OF,
        interval=5,
        max_passes=2,
        on_pass=between,
        sleep=sleeps.append,
    )
    assert [p.fired for p in passes] == [1, 1] and sleeps == [5]
    assert [body["profile_id"] for _, body in hooks.received] == ["clicker", "opener"]


def test_the_triggers_cli_runs_watches_and_shows_the_log(
    cli: Cli, tmp_path: Path, hooks: Hooks
) -> None:
    db = str(tmp_path / "t.duckdb")
    assert cli("--db", db, "init").code == 0
    from clientela.datamart import connect

    with connect(Settings(db=db)) as dm:
        small_datamart(dm)
    body = f"""\
    triggers:
      - name: carts
        event: cart_abandon
        action: {{webhook: "{hooks.url}/carts"}}
      - name: renewals
        event: contract_expiring
        days_ahead: 30
        action: {{webhook: "{hooks.url}/renewals"}}
    """
    path = _file(tmp_path, body)
    ran = cli("--db", db, "triggers", "run", path, "--as-of", "2026-06-15", "--json")
    assert ran.code == 0, ran.stderr
    document = json.loads(ran.stdout)
    assert [(t["trigger"], t["fired"]) for t in document["passes"][0]["triggers"]] == [
        ("carts", 2),
        ("renewals", 1),
    ]
    text = cli("--db", db, "triggers", "run", path, "--as-of", "2026-06-15")
    assert text.code == 0 and "carts" in text.stdout and "0 fired" in text.stdout
    watched = cli(
        "--db", db, "triggers", "run", path, "--as-of", "2026-06-15", "--watch",
        "--interval", "0", "--max-passes", "2", "--json",
    )  # fmt: skip
    assert watched.code == 0, watched.stderr
    assert len(json.loads(watched.stdout)["passes"]) == 2
    shown = cli("--db", db, "triggers", "log", "--trigger", "carts", "--json")
    assert shown.code == 0, shown.stderr
    assert {row["profile_id"] for row in json.loads(shown.stdout)} == {"cart1", "cart2"}
    table = cli("--db", db, "triggers", "log", "--limit", "1")
    assert table.code == 0 and "sent" in table.stdout


BAD = {
    "unknown event": (
        "triggers:\n- name: x\n  event: birthdy\n  action: {webhook: 'http://h'}\n",
        "triggers.yaml, line 3: unknown event 'birthdy' (did you mean 'birthday'?)",
    ),
    "missing option": (
        "triggers:\n- name: x\n  event: score_threshold\n  model: m\n  action: {webhook: 'http://h'}\n",
        "trigger 'x' (score_threshold): 'threshold' is required",
    ),
    "unknown option": (
        "triggers:\n- name: x\n  event: birthday\n  days_ahaed: 3\n  action: {webhook: 'http://h'}\n",
        "line 4: trigger 'x' (birthday): unknown key 'days_ahaed' (did you mean 'days_ahead'?)",
    ),
    "two actions": (
        "triggers:\n- name: x\n  event: birthday\n  action: {webhook: 'http://h', campaign: c}\n",
        "give either campaign (a file or a stored name) or webhook (a URL)",
    ),
    "missing campaign file": (
        "triggers:\n- name: x\n  event: birthday\n  action: {campaign: nowhere.yaml}\n",
        "the campaign file nowhere.yaml does not exist",
    ),
    "duplicate names": (
        "triggers:\n- name: x\n  event: birthday\n  action: {webhook: 'http://h'}\n"
        "- name: x\n  event: birthday\n  action: {webhook: 'http://h'}\n",
        "two triggers are named 'x'",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_trigger_files_say_what_is_wrong(tmp_path: Path, case: str) -> None:
    text, message = BAD[case]
    with pytest.raises(ConfigError) as error:
        parse_triggers_file(_file(tmp_path, text))
    assert message in str(error.value)


def test_an_unknown_stored_campaign_is_refused_before_anything_fires(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    small_datamart(datamart)
    text = "triggers:\n- name: x\n  event: birthday\n  days_ahead: 7\n  action: {campaign: nope}\n"
    triggers = parse_triggers_file(_file(tmp_path, text))
    with pytest.raises(NotFoundError, match="no campaign 'nope'"):
        _run(datamart, settings, triggers, tmp_path)
    assert firing_log(datamart) == []


BIRTHDAY_MAIL = """\
name: birthday_mail
channel: email
offers: [{id: BDAY, name: A birthday present}]
priority_by: {score: "rule:engage", value: none}
control: {count: 1, seed: 3}
capacity: {per_day: 3, days: 1, overflow: drop}
"""


def test_a_campaign_action_runs_the_campaign_for_the_fired_profiles_only(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    from tests.campaigns.conftest import AS_OF as CAMPAIGN_DAY
    from tests.campaigns.conftest import World

    world = World()
    for i in range(1, 13):
        born = dt.date(1980, 3, i) if i <= 8 else dt.date(1980, 9, i)
        world.person(f"C{i:02d}", birth_date=born)
        world.opt(f"C{i:02d}", "email", "opt_out" if i == 1 else "opt_in")
        world.scores[f"C{i:02d}"] = float(i)
    world.load(datamart)
    _file(tmp_path, BIRTHDAY_MAIL, "birthday_mail.yaml")
    text = """\
    triggers:
      - name: birthdays
        event: birthday
        days_ahead: 7
        action:
          campaign: birthday_mail.yaml
    """
    triggers = parse_triggers_file(_file(tmp_path, text))
    done = run_triggers(
        datamart, settings, triggers, as_of=CAMPAIGN_DAY, out_dir=tmp_path / "files"
    )
    [outcome] = done.outcomes
    assert outcome.fired == 8 and outcome.run_id is not None
    assert outcome.results["sent"] == 3 and outcome.results["held_out: control group"] == 1
    assert sum(outcome.results.values()) == 8
    assert any(k.startswith("excluded: ") for k in outcome.results)  # C01 opted out
    [run] = datamart.records("SELECT trigger, run_id FROM campaign_runs")
    assert run == {"trigger": "birthdays", "run_id": outcome.run_id}
    contacted = datamart.sql("SELECT DISTINCT profile_id FROM contact_history ORDER BY 1")
    assert {p for (p,) in contacted} <= {f"C{i:02d}" for i in range(2, 9)}
    sent = datamart.sql(
        "SELECT f.profile_id FROM trigger_firings f JOIN contact_history h "
        "ON h.profile_id = f.profile_id AND h.run_id = ? WHERE f.result = 'sent' "
        "AND h.status = 'planned'",
        [outcome.run_id],
    )
    assert len(sent) == 3
    assert all(
        r["action"].startswith("campaign birthday_mail (run R") for r in firing_log(datamart)
    )
    again = run_triggers(
        datamart, settings, triggers, as_of=CAMPAIGN_DAY, out_dir=tmp_path / "files"
    )
    assert again.outcomes[0].fired == 0
    assert datamart.sql("SELECT count(*) FROM campaign_runs")[0][0] == 1


def test_a_profile_contacted_on_another_day_and_now_outside_the_target_is_said_so(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    """A triggered run skips only the same day's contacts: an older contact is not the reason
    a profile outside the target was left out."""
    from tests.campaigns.conftest import AS_OF as CAMPAIGN_DAY
    from tests.campaigns.conftest import World

    world = World()
    world.person("C01", birth_date=dt.date(1980, 3, 2))
    world.person("C02", birth_date=dt.date(1980, 3, 3), region="South")
    for cid in ("C01", "C02"):
        world.opt(cid, "email")
    world.contacts.append(("north_mail", "C02", "email", CAMPAIGN_DAY - dt.timedelta(days=365)))
    world.load(datamart)
    _file(
        tmp_path,
        "name: north_mail\nchannel: email\ntarget: {field: region, equals: North}\n",
        "north_mail.yaml",
    )
    text = "triggers:\n- name: b\n  event: birthday\n  days_ahead: 7\n  action:\n"
    text += "    campaign: north_mail.yaml\n"
    triggers = parse_triggers_file(_file(tmp_path, text))
    done = run_triggers(
        datamart, settings, triggers, as_of=CAMPAIGN_DAY, out_dir=tmp_path / "files"
    )
    assert done.outcomes[0].results == {"sent": 1, "skipped: not in the campaign target": 1}


def test_a_value_tier_change_fires_after_the_baseline(
    datamart: Datamart, settings: Settings, tmp_path: Path, hooks: Hooks
) -> None:
    small_datamart(datamart)
    triggers = _webhook_trigger(tmp_path, "segment_change", "of: value_tier", hooks.url)
    assert _run(datamart, settings, triggers, tmp_path).outcomes[0].baseline
    assert _run(datamart, settings, triggers, tmp_path).outcomes[0].fired == 0
    big = {**_sale("newbie", T(2026, 6, 14), "p7"), "amount": 5000.0, "margin": 2000.0}
    insert(datamart, "transactions", [big])
    _run(datamart, settings, triggers, tmp_path)
    changed = {body["profile_id"]: body["detail"] for _, body in hooks.received}
    assert "newbie" in changed and changed["newbie"].startswith("value_tier: ")
    assert changed["newbie"].endswith("-> A")


def test_the_example_trigger_files_parse() -> None:
    from tests.conftest import REPO

    for path in sorted((REPO / "examples" / "triggers").glob("*.yaml")):
        triggers = parse_triggers_file(path)
        assert triggers and all(t.action.label for t in triggers), path


def test_a_bad_trigger_file_is_one_line_on_the_cli(cli: Cli, tmp_path: Path) -> None:
    db = str(tmp_path / "t.duckdb")
    assert cli("--db", db, "init").code == 0
    path = _file(tmp_path, BAD["unknown event"][0])
    result = cli("--db", db, "triggers", "run", path)
    assert result.code == 2
    assert result.stderr.strip().endswith(
        "unknown event 'birthdy' (did you mean 'birthday'?); "
        "the events are " + ", ".join(EVENT_NAMES)
    )
    assert len(result.stderr.strip().splitlines()) == 1


# Batches of cart events (customer, hour of 14 June) loaded between passes.
batches_st = st.lists(
    st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 23)), max_size=4),
    min_size=1,
    max_size=4,
)


@hyp_settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=batches_st, repeats=st.integers(1, 2))
def test_every_occurrence_fires_exactly_once_over_any_sequence_of_passes(
    batches: list[list[tuple[str, int]]], repeats: int
) -> None:
    with tempfile.TemporaryDirectory() as folder, Hooks() as server:
        config = Settings(db=str(Path(folder) / "t.duckdb"))
        with connect(config) as dm:
            migrate(dm)
            insert(dm, "customers", [{"customer_id": c, "kind": "person"} for c in "abc"])
            triggers = _webhook_trigger(Path(folder), "cart_abandon", "hours: 1", server.url)
            loaded = 0
            for batch in batches:
                if batch:
                    insert(
                        dm,
                        "events",
                        [_event(c, T(2026, 6, 14, hour), "cart_abandon") for c, hour in batch],
                    )
                    loaded += len(batch)
                for _ in range(repeats):
                    run_triggers(dm, config, triggers, as_of=AS_OF, out_dir=Path(folder))
            occurrences = [body["occurrence"] for _, body in server.received]
            assert len(occurrences) == len(set(occurrences)) == loaded
            assert len(firing_log(dm, limit=1000)) == loaded
