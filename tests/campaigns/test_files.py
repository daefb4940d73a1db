"""The channel files of a campaign run (clientela.exports.campaign_files), on every backend.

A small datamart holds customers with and without addresses, consents (opt-outs, an opt-out
withdrawn by a newer opt-in, an opt-out on another record of the same profile, an opt-out for
any channel), do-not-contact entries, purchases, open issues and scores, and one run's contact
history with every status.  Each channel's files are written and read back.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.schema import TABLES
from clientela.errors import ConfigError
from clientela.exports.audience import sha256_hex
from clientela.exports.campaign_files import (
    CALL_COLUMNS,
    EMAIL_COLUMNS,
    MAIL_COLUMNS,
    PUSH_COLUMNS,
    SMS_COLUMNS,
    ChannelOffer,
    channel_name,
    export_channel_files,
    write_channel_files,
)
from tests._libreoffice import soffice, to_ods
from tests.conftest import REPO

AS_OF = dt.date(2026, 6, 1)
RUN = "run-0001"
CAMPAIGN = "spring retention"
OFFERS = {
    "o1": ChannelOffer(
        "o1",
        "10% off the renewal",
        arguments=("You have been with us for years", "The price is frozen for 12 months"),
        script="Hello {name}, I am calling about your renewal...",
    ),
    "o2": ChannelOffer("o2", "Free upgrade", arguments=("Twice the speed",), script=None),
}


def ts(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day)


# customer_id: (name, kind, email, phone, address, postal_code, city)
CUSTOMERS: dict[str, tuple[Any, ...]] = {
    "c1": ("Ada Lovelace", "person", "ada@example.com", "+447700900001", "1 Main St", "N1", "Ely"),
    "c2": ("Bob Stone", "person", "bob@example.com", "+447700900002", "2 Main St", "N2", "London"),
    "c3": ("Cleo Park", "person", "cleo@example.com", "+447700900003", "3 Main St", "N3", "Leeds"),
    "c4": ("Dan Wu", "person", "dan@example.com", "+447700900004", None, None, None),
    "c5": ("Eve Moss", "person", "eve@example.com", "+447700900005", "5 Main St", "N5", "York"),
    "c6": ("Fay Lin", "person", "fay@example.com", "+447700900006", "6 Main St", "N6", "Bath"),
    "c7": ("Gus Hale", "person", "gus@example.com", "+447700900007", "7 Main St", "N7", "Hull"),
    "c8": ("Acme Ltd", "company", None, None, "8 Main St", "N8", "Ely"),
    "c9": ("Ada Lovelace", "person", "ada.work@example.com", None, None, None, None),
    "c10": ("Dr Hal Reed", "person", "hal@example.com", "+447700900010", "10 Main St", "N1", "Ayr"),
    "c11": ("Ivy Cole", "person", "ivy@example.com", "+447700900011", "11 Main St", "N11", "Ayr"),
    "c12": ("Jon Ash", "person", "jon@example.com", "+447700900012", "12 Main St", "N12", "Ayr"),
    "c13": ("Cleo Park", "person", "cleo.old@example.com", None, None, None, None),
}  # fmt: skip


def insert(dm: Datamart, table: str, rows: Sequence[dict[str, Any]]) -> None:
    schema = TABLES[table]
    columns = list(rows[0])
    fields = [pa.field(c, schema[c].to_pyarrow()) for c in columns]
    dm.bulk_insert(table, pa.Table.from_pylist(list(rows), schema=pa.schema(fields)))


def history(channel: str, *, offers: Sequence[str | None] = ("o1", "o2")) -> list[dict[str, Any]]:
    """The run's contact history on ``channel``: c1..c8 and c10 planned over two days, c11 held
    out (control), c12 deferred and c2 also dropped in another run."""
    rows = []
    planned = ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c10"]
    for i, customer in enumerate(planned):
        rows.append(
            {
                "contact_id": f"{channel}-{customer}",
                "run_id": RUN,
                "campaign": CAMPAIGN,
                "version": 1,
                "profile_id": customer,
                "customer_id": customer,
                "channel": channel,
                "offer_id": offers[i % len(offers)],
                "status": "planned",
                "group_name": "target",
                "planned_for": AS_OF + dt.timedelta(days=i % 2),
                "priority": float(10 * i % 7),
                "score_decile": 1 + i % 10,
                "reason": None,
                "created_at": ts("2026-06-01T08:00:00"),
            }
        )
    for customer, status, group, reason in (
        ("c11", "held_out", "control", "control group"),
        ("c12", "deferred", "target", "over capacity on 2026-06-02"),
    ):
        rows.append({**rows[0], "contact_id": f"{channel}-{customer}", "profile_id": customer,
                     "customer_id": customer, "status": status, "group_name": group,
                     "reason": reason})  # fmt: skip
    rows.append({**rows[0], "contact_id": "other-run", "run_id": "run-0000", "profile_id": "c12",
                 "customer_id": "c12"})  # fmt: skip
    return rows


@pytest.fixture
def dm(datamart: Datamart) -> Datamart:
    insert(
        datamart,
        "customers",
        [
            {"customer_id": cid, "name": name, "kind": kind, "email": email, "phone": phone,
             "address": address, "postal_code": postal, "city": city, "country": "GB"}
            for cid, (name, kind, email, phone, address, postal, city) in CUSTOMERS.items()
        ],
    )  # fmt: skip
    # c9 is another record of c1's profile, c13 of c3's.
    insert(
        datamart,
        "identity",
        [
            {"customer_id": "c1", "profile_id": "c1", "updated_at": ts("2026-01-01T00:00:00")},
            {"customer_id": "c9", "profile_id": "c1", "updated_at": ts("2026-01-01T00:00:00")},
            {"customer_id": "c13", "profile_id": "c3", "updated_at": ts("2026-01-01T00:00:00")},
        ],
    )
    consent = [
        # c2 opted out of e-mail; c3 opted out, then back in; c5 opted out of every channel.
        ("k1", "c2", "email", "marketing", "opt_out", "2026-01-01T00:00:00"),
        ("k2", "c3", "email", "marketing", "opt_out", "2026-01-01T00:00:00"),
        ("k3", "c3", "email", "marketing", "opt_in", "2026-02-01T00:00:00"),
        ("k4", "c5", "any", "marketing", "opt_out", "2026-03-01T00:00:00"),
        # c4 opted out of SMS and calls, after as_of (still honoured).
        ("k5", "c4", "sms", "marketing", "opt_out", "2026-06-05T00:00:00"),
        ("k6", "c4", "phone", "marketing", "opt_out", "2026-06-05T00:00:00"),
        # c10 opted in to calls; c9 (c1's other record) opted out of push.
        ("k7", "c10", "phone", "marketing", "opt_in", "2026-01-01T00:00:00"),
        ("k8", "c9", "push", "marketing", "opt_out", "2026-01-01T00:00:00"),
    ]
    insert(
        datamart,
        "consents",
        [
            {"consent_id": k, "customer_id": c, "channel": ch, "purpose": p, "status": s,
             "recorded_at": ts(at)}
            for k, c, ch, p, s, at in consent
        ],
    )  # fmt: skip
    insert(
        datamart,
        "do_not_contact",
        [
            {"entry_id": "d1", "kind": "email", "value": "fay@example.com",
             "list_name": "robinson"},
            {"entry_id": "d2", "kind": "phone", "value": "+447700900007", "list_name": "tps"},
            # c3's old address, on c13: c3 asked not to be e-mailed.
            {"entry_id": "d3", "kind": "email", "value": "Cleo.Old@example.com",
             "list_name": "robinson"},
        ],
    )  # fmt: skip
    sale = {"line_no": 1, "kind": "sale", "product_id": "p1"}
    insert(
        datamart,
        "transactions",
        [
            {**sale, "transaction_id": "t1", "order_id": "a1", "customer_id": "c1",
             "occurred_at": ts("2026-03-10T10:00:00"), "amount": 120.0},
            {**sale, "transaction_id": "t2", "order_id": "a2", "customer_id": "c9",
             "occurred_at": ts("2026-05-20T10:00:00"), "amount": 80.0},
            {**sale, "transaction_id": "t3", "order_id": "a3", "customer_id": "c1",
             "occurred_at": ts("2024-01-10T10:00:00"), "amount": 500.0},
            {**sale, "transaction_id": "t4", "order_id": "a4", "customer_id": "c10",
             "occurred_at": ts("2026-04-01T10:00:00"), "amount": 40.0},
        ],
    )  # fmt: skip
    insert(
        datamart,
        "interactions",
        [
            {"interaction_id": "i1", "customer_id": "c9", "occurred_at": ts("2026-05-01T09:00:00"),
             "kind": "complaint", "status": "open", "description": "Late delivery"},
            {"interaction_id": "i2", "customer_id": "c1", "occurred_at": ts("2026-04-01T09:00:00"),
             "kind": "return", "status": "open", "description": "Broken kettle"},
            {"interaction_id": "i3", "customer_id": "c1", "occurred_at": ts("2026-02-01T09:00:00"),
             "kind": "complaint", "status": "closed", "description": "Old"},
        ],
    )  # fmt: skip
    reasons = {
        "raising": [
            {"feature": "recency_days", "value": "120", "effect": 0.42},
            {"feature": "open_issues", "value": "2", "effect": 0.2},
        ],
        "lowering": [{"feature": "orders", "value": "5", "effect": -0.1}],
    }
    insert(
        datamart,
        "predictive_scores",
        [
            {"model": "churn", "version": 1, "as_of": dt.date(2026, 5, 1), "profile_id": "c1",
             "probability": 0.5, "decile": 3, "reasons": "{}"},
            {"model": "churn", "version": 2, "as_of": dt.date(2026, 6, 1), "profile_id": "c1",
             "probability": 0.8234, "decile": 1, "reasons": json.dumps(reasons)},
            {"model": "churn", "version": 2, "as_of": dt.date(2026, 7, 1), "profile_id": "c1",
             "probability": 0.1, "decile": 9, "reasons": "{}"},
        ],
    )  # fmt: skip
    insert(
        datamart,
        "score_snapshots",
        [
            {"model": "engagement", "as_of": dt.date(2026, 5, 31), "profile_id": "c10",
             "version": 1, "run_id": "s1", "score": 72.46, "band": "hot"},
        ],
    )  # fmt: skip
    return datamart


def write(dm: Datamart, settings: Settings, channel: str, out: Path, **kw: Any) -> list[Path]:
    insert(dm, "contact_history", history(channel, **kw))
    return write_channel_files(
        dm, settings, run_id=RUN, campaign=CAMPAIGN, channel=channel, offers=OFFERS,
        out_dir=out, as_of=AS_OF,
    )  # fmt: skip


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_email_list_holds_contactable_planned_addresses_only(
    dm: Datamart, settings: Settings, tmp_path: Path
) -> None:
    paths = write(dm, settings, "email", tmp_path / "out")
    assert [p.name for p in paths] == ["spring_retention_email_2026-06-01.csv"]
    rows = read_csv(paths[0])
    assert list(rows[0]) == list(EMAIL_COLUMNS)
    # Out: c2 (opted out), c5 (opted out of any channel), c6 (Robinson list), c3 (its other
    # record's e-mail is on the Robinson list; it had opted back in), c8 (no e-mail); c11 held
    # out and c12 deferred are never read.
    assert sorted(r["customer_id"] for r in rows) == ["c1", "c10", "c4", "c7"]
    ada = next(r for r in rows if r["customer_id"] == "c1")
    assert ada["email"] == "ada@example.com"
    assert ada["first_name"] == "Ada"
    assert next(r for r in rows if r["customer_id"] == "c10")["first_name"] == "Hal"
    assert ada["offer"] == "10% off the renewal"
    assert ada["planned_for"] == "2026-06-01"


def test_email_summary_counts_what_was_left_out(
    dm: Datamart, settings: Settings, tmp_path: Path
) -> None:
    insert(dm, "contact_history", history("email"))
    run = {"run_id": RUN, "campaign": CAMPAIGN, "contacted": 9, "held_out": 1, "dropped": 0}
    insert(dm, "campaign_runs", [run])
    result = export_channel_files(
        dm, settings, run_id=RUN, campaign=CAMPAIGN, channel="e-mail", offers=OFFERS,
        out_dir=tmp_path, as_of=AS_OF,
    )  # fmt: skip
    assert result.channel == "email"
    assert (result.planned, result.written) == (9, 4)
    assert result.dropped == {
        "e-mail on a do-not-contact list": 2,
        "no e-mail address": 1,
        "opted out of e-mail": 2,
    }
    statuses = dm.to_pyarrow(
        dm.table("contact_history")
        .filter(lambda t: t.run_id == RUN)
        .select("customer_id", "status", "reason")
    ).to_pylist()
    by_customer = {r["customer_id"]: (r["status"], r["reason"]) for r in statuses}
    assert by_customer["c2"] == ("dropped", "left out of the email file: opted out of e-mail")
    assert by_customer["c8"] == ("dropped", "left out of the email file: no e-mail address")
    assert by_customer["c1"] == ("planned", None)
    assert by_customer["c11"] == ("held_out", "control group")
    assert dm.sql("SELECT contacted, dropped FROM campaign_runs") == [(4, 5)]
    assert result.summary() == (
        "email: 4 of 9 planned contacts written (5 left out: 2 e-mail on a do-not-contact "
        "list, 2 opted out of e-mail, 1 no e-mail address)"
    )


def test_sms_list_checks_phone_opt_outs_and_lists(
    dm: Datamart, settings: Settings, tmp_path: Path
) -> None:
    paths = write(dm, settings, "sms", tmp_path)
    rows = read_csv(paths[0])
    assert list(rows[0]) == list(SMS_COLUMNS)
    # Out: c4 (opted out of SMS after as_of), c5 (any), c7 (phone on the TPS list), c8 (no
    # phone).  c2's e-mail opt-out does not stop an SMS.
    assert sorted(r["customer_id"] for r in rows) == ["c1", "c10", "c2", "c3", "c6"]
    assert all(re.fullmatch(r"\+\d{8,15}", r["phone"]) for r in rows)
    assert "email" not in rows[0]


def test_call_list_has_offer_script_priority_and_essentials_in_order(
    dm: Datamart, settings: Settings, tmp_path: Path
) -> None:
    paths = write(dm, settings, "call", tmp_path)
    assert [p.suffix for p in paths] == [".csv", ".xlsx"]
    rows = read_csv(paths[0])
    assert list(rows[0]) == list(CALL_COLUMNS)
    assert sorted(r["customer_id"] for r in rows) == ["c1", "c10", "c2", "c3", "c6"]
    order = [(r["planned_for"], -float(r["priority"])) for r in rows]
    assert order == sorted(order)
    ada = next(r for r in rows if r["customer_id"] == "c1")
    assert ada["phone"] == "+447700900001"
    assert ada["offer"] == "10% off the renewal"
    assert ada["script"].startswith("Hello {name}")
    assert ada["arguments"] == (
        "You have been with us for years | The price is frozen for 12 months"
    )
    # The profile's purchases over 12 months (c1 and c9, not the 2024 one), its open issues
    # (c9's complaint is the newest), the newest score on or before as_of and its reasons.
    assert float(ada["revenue_12m"]) == pytest.approx(200.0)
    assert ada["orders_12m"] == "2"
    assert ada["last_purchase"] == "2026-05-20"
    assert ada["value_tier"] != ""
    assert ada["open_issues"] == "2"
    assert ada["newest_issue"] == "complaint since 2026-05-01: Late delivery"
    assert ada["predictive_score"] == "churn 0.82 (decile 1)"
    assert ada["score_reasons"] == "recency_days = 120 (+0.42); open_issues = 2 (+0.2)"
    assert ada["consent"] == "no record"
    hal = next(r for r in rows if r["customer_id"] == "c10")
    assert hal["rule_score"] == "engagement 72.5 (hot)"
    assert hal["consent"] == "opt_in"
    assert hal["open_issues"] == "0"
    assert hal["offer"] == "10% off the renewal"
    bob = next(r for r in rows if r["customer_id"] == "c2")
    assert bob["offer"] == "Free upgrade"
    assert bob["script"] == ""
    assert bob["predictive_score"] == bob["score_reasons"] == bob["rule_score"] == ""


def test_call_workbook_opens_with_calls_and_offers(
    dm: Datamart, settings: Settings, tmp_path: Path
) -> None:
    csv_path, xlsx_path = write(dm, settings, "call", tmp_path)
    rows = read_csv(csv_path)
    book = openpyxl.load_workbook(xlsx_path)
    assert book.sheetnames == ["Calls", "Offers"]
    calls = book["Calls"]
    assert calls.freeze_panes == "E2"
    header = [c.value for c in calls[1]]
    assert header[:6] == ["planned for", "priority", "name", "phone", "offer", "script"]
    body = list(calls.iter_rows(min_row=2, values_only=True))
    assert len(body) == len(rows)
    assert [r[3] for r in body] == [r["phone"] for r in rows]
    first = body[0]
    assert first[0] == dt.datetime(2026, 6, 1)
    ada = next(r for r in body if r[header.index("customer")] == "c1")
    assert ada[header.index("arguments")] == (
        "• You have been with us for years\n• The price is frozen for 12 months"
    )
    assert ada[header.index("revenue 12 months")] == pytest.approx(200.0)
    assert ada[header.index("last purchase")] == dt.datetime(2026, 5, 20)
    assert calls.column_dimensions["F"].width > 40
    offers = book["Offers"]
    listed = list(offers.iter_rows(min_row=2, max_row=3, values_only=True))
    assert [(r[0], r[1]) for r in listed] == [("o1", "10% off the renewal"), ("o2", "Free upgrade")]
    assert sum(int(r[2]) for r in listed) == len(rows)
    assert "The price is frozen" in str(listed[0][3])


def test_call_workbook_opens_in_libreoffice(
    dm: Datamart, settings: Settings, tmp_path: Path
) -> None:
    if dm.kind != "duckdb":
        pytest.skip("the workbook is the same on every backend: converted once, on DuckDB")
    command = soffice()
    _, xlsx_path = write(dm, settings, "call", tmp_path / "out")
    ods = to_ods(command, xlsx_path, tmp_path)
    with zipfile.ZipFile(ods) as package:
        content = package.read("content.xml").decode()
    assert re.findall(r'<table:table table:name="([^"]+)"', content) == ["Calls", "Offers"]
    assert "+447700900001" in content and "Late delivery" in content


def test_ads_files_are_hashed(dm: Datamart, settings: Settings, tmp_path: Path) -> None:
    paths = write(dm, settings, "ads", tmp_path)
    assert sorted(p.name for p in paths) == [
        "spring_retention_ads_2026-06-01.google-ads.csv",
        "spring_retention_ads_2026-06-01.meta.csv",
        "spring_retention_ads_2026-06-01.yandex.csv",
    ]
    text = "\n".join(p.read_text(encoding="utf-8") for p in paths)
    assert "@" not in text
    assert "+44" not in text
    meta = read_csv(next(p for p in paths if "meta" in p.name))
    emails = {r["email"] for r in meta}
    assert sha256_hex("ada@example.com") in emails
    # c6's e-mail is on a Robinson list: its phone stays, its e-mail does not.
    assert sha256_hex("fay@example.com") not in emails
    assert sha256_hex("447700900006") in {r["phone"] for r in meta}
    assert sha256_hex("cleo@example.com") not in emails
    assert sha256_hex("447700900003") in {r["phone"] for r in meta}
    # c5 opted out of every channel; c8 has no address.
    assert sha256_hex("eve@example.com") not in emails
    assert len(meta) == 7


def test_mail_and_push_lists(dm: Datamart, settings: Settings, tmp_path: Path) -> None:
    (mail,) = write(dm, settings, "mail", tmp_path)
    rows = read_csv(mail)
    assert list(rows[0]) == list(MAIL_COLUMNS)
    # c4 has no postal address, c5 opted out of any channel, c3, c6 and c7 are on a
    # do-not-contact list (by e-mail or phone); c8 (a company) is written.
    assert sorted(r["customer_id"] for r in rows) == ["c1", "c10", "c2", "c8"]
    acme = next(r for r in rows if r["customer_id"] == "c8")
    assert (acme["address"], acme["postal_code"], acme["city"]) == ("8 Main St", "N8", "Ely")

    dm.sql("DELETE FROM contact_history")
    (push,) = write(dm, settings, "push", tmp_path)
    rows = read_csv(push)
    assert list(rows[0]) == list(PUSH_COLUMNS)
    # c1's other record (c9) opted out of push: the profile is left out; so are the listed.
    assert sorted(r["customer_id"] for r in rows) == ["c10", "c2", "c4", "c8"]
    assert next(r for r in rows if r["customer_id"] == "c8")["first_name"] == ""


def test_another_run_on_the_same_day_does_not_overwrite(
    dm: Datamart, settings: Settings, tmp_path: Path
) -> None:
    (first,) = write(dm, settings, "sms", tmp_path)
    dm.sql("UPDATE contact_history SET run_id = 'run-0002', contact_id = contact_id || '-2'")
    (second,) = write_channel_files(
        dm, settings, run_id="run-0002", campaign=CAMPAIGN, channel="sms", offers=OFFERS,
        out_dir=tmp_path, as_of=AS_OF,
    )  # fmt: skip
    assert first.name == "spring_retention_sms_2026-06-01.csv"
    assert second.name == "spring_retention_sms_2026-06-01_run-0002.csv"
    assert first.exists()


def test_a_run_without_planned_contacts_writes_nothing(
    dm: Datamart, settings: Settings, tmp_path: Path
) -> None:
    rows = [r for r in history("email") if r["status"] != "planned"]
    insert(dm, "contact_history", rows)
    result = export_channel_files(
        dm, settings, run_id=RUN, campaign=CAMPAIGN, channel="email", offers=OFFERS,
        out_dir=tmp_path / "out", as_of=AS_OF,
    )  # fmt: skip
    assert result.paths == ()
    assert result.planned == result.written == 0
    assert list((tmp_path / "out").iterdir()) == []


def test_one_offer_fills_missing_offer_ids(
    dm: Datamart, settings: Settings, tmp_path: Path
) -> None:
    insert(dm, "contact_history", history("email", offers=(None,)))
    (path,) = write_channel_files(
        dm, settings, run_id=RUN, campaign=CAMPAIGN, channel="email",
        offers={"o2": OFFERS["o2"]}, out_dir=tmp_path, as_of=AS_OF,
    )  # fmt: skip
    assert {(r["offer_id"], r["offer"]) for r in read_csv(path)} == {("o2", "Free upgrade")}


def test_an_offer_the_campaign_no_longer_describes_is_listed_by_its_id(
    dm: Datamart, settings: Settings, tmp_path: Path
) -> None:
    insert(dm, "contact_history", history("call"))
    csv_path, xlsx_path = write_channel_files(
        dm, settings, run_id=RUN, campaign=CAMPAIGN, channel="phone",
        offers={"o1": OFFERS["o1"]}, out_dir=tmp_path, as_of=AS_OF,
    )  # fmt: skip
    rows = read_csv(csv_path)
    assert {(r["offer_id"], r["offer"]) for r in rows if r["offer_id"] == "o2"} == {("o2", "o2")}
    offers = list(openpyxl.load_workbook(xlsx_path)["Offers"].iter_rows(values_only=True))
    assert offers[2][:3] == ("o2", "(not described in the campaign)", 2)


def test_unknown_channel_names_the_close_match() -> None:
    assert channel_name("Phone") == "call"
    with pytest.raises(ConfigError, match=r"unknown channel 'emial' \(did you mean 'email'\?\)"):
        channel_name("emial")


def test_output_folder_that_is_a_file_is_refused(
    dm: Datamart, settings: Settings, tmp_path: Path
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        write(dm, settings, "email", taken)


def test_docs_list_every_column() -> None:
    page = (REPO / "docs" / "channel-files.md").read_text(encoding="utf-8")
    for columns in (CALL_COLUMNS, EMAIL_COLUMNS, SMS_COLUMNS, MAIL_COLUMNS, PUSH_COLUMNS):
        for column in columns:
            assert f"`{column}`" in page, column


# -- the invariant, over random datamarts ------------------------------------------------------
STATUSES = ("planned", "held_out", "deferred", "dropped")
consent_events = st.lists(
    st.tuples(
        st.sampled_from(["email", "sms", "phone", "any"]),
        st.sampled_from(["marketing", "service"]),
        st.sampled_from(["opt_in", "opt_out"]),
        st.integers(0, 5),
    ),
    max_size=3,
)
random_customer = st.fixed_dictionaries(
    {
        "email": st.booleans(),
        "phone": st.booleans(),
        "email_listed": st.booleans(),
        "phone_listed": st.booleans(),
        "status": st.sampled_from(STATUSES),
        "consents": consent_events,
    }
)


def expected_ids(customers: list[dict[str, Any]], channel: str) -> set[str]:
    """Who the file may hold, computed independently: planned, an address, not listed, and no
    newest record of a (channel, purpose) of this channel or 'any' is an opt-out."""
    address = "email" if channel == "email" else "phone"
    consent_channel = {"email": "email", "sms": "sms", "call": "phone"}[channel]
    found = set()
    for i, c in enumerate(customers):
        if c["status"] != "planned" or not c[address] or c[f"{address}_listed"]:
            continue
        newest: dict[tuple[str, str], tuple[int, int, str]] = {}
        for n, (ch, purpose, status, day) in enumerate(c["consents"]):
            if ch in (consent_channel, "any"):
                key = (ch, purpose)
                # Ties on the day go to the larger consent id, as in the datamart.
                newest[key] = max(newest.get(key, (-1, -1, "")), (day, n, status))
        if not any(status == "opt_out" for _, _, status in newest.values()):
            found.add(f"r{i}")
    return found


@hypothesis_settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    customers=st.lists(random_customer, min_size=1, max_size=8),
    channel=st.sampled_from(["email", "sms", "call"]),
)
def test_no_listed_or_opted_out_address_is_ever_in_a_file(
    datamart: Datamart,
    settings: Settings,
    tmp_path: Path,
    customers: list[dict[str, Any]],
    channel: str,
) -> None:
    for table in ("customers", "consents", "do_not_contact", "contact_history"):
        datamart.sql(f"DELETE FROM {table}")
    people, consents, listed, contacts = [], [], [], []
    for i, c in enumerate(customers):
        cid = f"r{i}"
        email, phone = f"{cid}@example.com", f"+4477009{i:05d}"
        people.append({"customer_id": cid, "name": f"Person {i}",
                       "email": email if c["email"] else None,
                       "phone": phone if c["phone"] else None})  # fmt: skip
        for n, (ch, purpose, status, day) in enumerate(c["consents"]):
            consents.append({"consent_id": f"{cid}-{n}", "customer_id": cid, "channel": ch,
                             "purpose": purpose, "status": status,
                             "recorded_at": dt.datetime(2026, 1, 1 + day)})  # fmt: skip
        if c["email_listed"]:
            listed.append({"entry_id": f"e{i}", "kind": "email", "value": email})
        if c["phone_listed"]:
            listed.append({"entry_id": f"p{i}", "kind": "phone", "value": phone})
        contacts.append({**history(channel)[0], "contact_id": cid, "profile_id": cid,
                         "customer_id": cid, "status": c["status"]})  # fmt: skip
    insert(datamart, "customers", people)
    insert(datamart, "contact_history", contacts)
    if consents:
        insert(datamart, "consents", consents)
    if listed:
        insert(datamart, "do_not_contact", listed)

    out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    result = export_channel_files(
        datamart, settings, run_id=RUN, campaign=CAMPAIGN, channel=channel, offers=OFFERS,
        out_dir=out, as_of=AS_OF,
    )  # fmt: skip
    written = {r["customer_id"] for r in read_csv(result.paths[0])} if result.paths else set()
    assert written == expected_ids(customers, channel)
    planned = sum(c["status"] == "planned" for c in customers)
    assert result.planned == planned
    assert result.written + sum(result.dropped.values()) == planned
    # The history agrees with the file: whoever was left out is no longer planned.
    still_planned = datamart.sql("SELECT customer_id FROM contact_history WHERE status = 'planned'")
    assert {row[0] for row in still_planned} == written
