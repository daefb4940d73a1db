"""Every kind of data loads from CSV, XLSX and Parquet through a mapping, on every backend."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.ingest import ingest_file
from clientela.datamart.ingest.normalize import normalise_phone
from tests.datamart.ingest._files import write

AS_OF = dt.datetime(2026, 11, 22)
PLACEHOLDER = "unknown_customers: placeholder\n"

# table -> (source header, rows, mapping YAML)
SOURCES: dict[str, tuple[list[str], list[list[Any]], str]] = {
    "customers": (
        ["Cust No", "Full Name", "E-mail", "Tel", "Born", "Sex"],
        [
            ["C1", "Ann Lee", " ANN@Example.COM ", "020 7946 0000", "31/01/1980", "F"],
            ["C2", "Bob Ray", None, "+44 20 7946 0001", "01/02/1975", "M"],
            ["C3", "Cy Ng", "cy@example.org", None, None, "X"],
        ],
        """columns:
  customer_id: Cust No
  name: Full Name
  email: E-mail
  phone: Tel
  birth_date: {source: Born, format: "%d/%m/%Y"}
  gender: {source: Sex, map: {M: male, F: female}, default: unknown}
  kind: {value: person}
""",
    ),
    "transactions": (
        ["Invoice", "Line", "Client", "Date", "SKU", "Qty", "Price"],
        [
            ["A1", "1", "C1", "2024-03-01 10:00:00", "P1", "2", "3.5"],
            ["A1", "2", "C1", "2024-03-01 10:00:00", "P2", "1", "10"],
            ["R9", "1", "C2", "2024-03-05 09:30:00", "P1", "-1", "3.5"],
        ],
        PLACEHOLDER
        + """columns:
  order_id: Invoice
  line_no: Line
  customer_id: Client
  occurred_at: Date
  product_id: SKU
  quantity: Qty
  unit_price: Price
  currency: {value: EUR}
""",
    ),
    "referrals": (
        ["From", "To", "When", "Bought"],
        [["C1", "C2", "2024-01-02", "yes"], ["C1", "C3", "2024-02-03", "no"]],
        PLACEHOLDER
        + """columns:
  referrer_id: From
  referred_id: To
  referred_at: When
  converted: Bought
""",
    ),
    "cost_to_serve": (
        ["Client", "Start", "End", "Type", "Cost"],
        [
            ["C1", "2024-01-01", "2024-01-31", "support", "12.5"],
            ["C2", "2024-01-01", "", "visit", "80"],
        ],
        PLACEHOLDER
        + """columns:
  customer_id: Client
  period_start: Start
  period_end: End
  category: Type
  cost: Cost
""",
    ),
    "third_party": (
        ["Client", "Job", "Education"],
        [["C1", "engineer", "master"], ["C2", "teacher", "bachelor"]],
        PLACEHOLDER
        + """columns:
  customer_id: Client
  source: {value: bureau}
  as_of: {value: "2024-06-30"}
unpivot:
  columns: [Job, Education]
  attribute: attribute
  value: value
""",
    ),
    "events": (
        ["Visitor", "Client", "Time", "Type", "Page", "Props"],
        [
            ["v1", "", "2024-05-01 08:00:00", "page_view", "/home", '{"ref": "ad, spring"}'],
            ["v2", "C1", "2024-05-01 08:05:00", "email_open", "news-5", ""],
        ],
        PLACEHOLDER
        + """columns:
  anonymous_id: Visitor
  customer_id: Client
  occurred_at: Time
  event_type: Type
  object_id: Page
  properties: Props
""",
    ),
    "social": (
        ["Client", "Net", "Kind", "Score", "At"],
        [
            ["C1", "x", "like", "0.8", "2024-04-01 12:00:00"],
            ["C2", "x", "review", "-0.5", "2024-04-02 13:00:00"],
        ],
        PLACEHOLDER
        + """columns:
  customer_id: Client
  network: Net
  kind: Kind
  sentiment: Score
  occurred_at: At
""",
    ),
    "interactions": (
        ["Client", "At", "Kind", "Channel", "Status"],
        [
            ["C1", "2024-04-01 12:00:00", "complaint", "phone", "open"],
            ["C2", "2024-04-03 09:00:00", "offer", "email", ""],
        ],
        PLACEHOLDER
        + """columns:
  customer_id: Client
  occurred_at: At
  kind: Kind
  channel: Channel
  status: Status
""",
    ),
    "consents": (
        ["Client", "Channel", "Status", "At"],
        [
            ["C1", "email", "opt_in", "2024-01-01 00:00:00"],
            ["C2", "sms", "opt_out", "2024-01-02 00:00:00"],
        ],
        PLACEHOLDER
        + """columns:
  customer_id: Client
  channel: Channel
  status: Status
  recorded_at: At
  purpose: {value: marketing}
""",
    ),
    "do_not_contact": (
        ["Type", "Value", "List"],
        [["email", "NO@Example.com", "robinson"], ["phone", "020 7946 0002", "robinson"]],
        """columns:
  kind: Type
  value: Value
  list_name: List
""",
    ),
}


def _rows(dm: Datamart, table: str, columns: str) -> list[tuple[Any, ...]]:
    return sorted(dm.sql(f"SELECT {columns} FROM {table}"), key=repr)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_every_table_loads_through_a_mapping(
    datamart: Datamart, settings: Settings, tmp_path: Path, fmt: str
) -> None:
    reports = {}
    for table, (header, rows, mapping) in SOURCES.items():
        path = write(fmt, tmp_path, table, header, rows)
        (tmp_path / f"{table}.yaml").write_text(mapping)
        reports[table] = ingest_file(
            datamart, settings, path, table, tmp_path / f"{table}.yaml", as_of=AS_OF
        )
    for table, report in reports.items():
        expected = len(SOURCES[table][1]) * (2 if table == "third_party" else 1)
        assert report.rows_read == expected, (table, report)
        assert report.rows_rejected == 0, (table, report)
        assert report.rows_inserted == expected, (table, report)

    # Independent expectations, computed from the source values in plain Python.
    assert _rows(datamart, "customers", "customer_id, email, phone, birth_date, gender, kind") == [
        (
            "C1",
            "ann@example.com",
            normalise_phone("020 7946 0000", "GB"),
            dt.date(1980, 1, 31),
            "female",
            "person",
        ),
        ("C2", None, "+442079460001", dt.date(1975, 2, 1), "male", "person"),
        ("C3", "cy@example.org", None, None, "unknown", "person"),
    ]
    transactions = _rows(
        datamart, "transactions", "order_id, line_no, quantity, amount, kind, currency"
    )
    source = SOURCES["transactions"][1]
    assert transactions == sorted(
        [
            (
                r[0],
                int(r[1]),
                float(r[5]),
                float(r[5]) * float(r[6]),
                "return" if float(r[5]) < 0 else "sale",
                "EUR",
            )
            for r in source
        ],
        key=repr,
    )
    keys = [k for (k,) in datamart.sql("SELECT transaction_id FROM transactions")]
    assert len(set(keys)) == 3 and all(len(k) == 32 for k in keys)
    assert _rows(datamart, "referrals", "referred_id, converted") == [("C2", True), ("C3", False)]
    assert _rows(datamart, "cost_to_serve", "customer_id, period_end, cost") == [
        ("C1", dt.date(2024, 1, 31), 12.5),
        ("C2", None, 80.0),
    ]
    assert _rows(datamart, "third_party", "customer_id, attribute, value, source, as_of") == sorted(
        [
            (r[0], attribute, r[i], "bureau", dt.date(2024, 6, 30))
            for r in SOURCES["third_party"][1]
            for i, attribute in ((1, "Job"), (2, "Education"))
        ],
        key=repr,
    )
    events = _rows(datamart, "events", "anonymous_id, customer_id, properties")
    assert events == [("v1", None, '{"ref": "ad, spring"}'), ("v2", "C1", None)]
    assert json.loads(events[0][2]) == {"ref": "ad, spring"}
    assert _rows(datamart, "social", "kind, sentiment") == [("like", 0.8), ("review", -0.5)]
    assert _rows(datamart, "interactions", "kind, status") == [
        ("complaint", "open"),
        ("offer", None),
    ]
    assert _rows(datamart, "consents", "channel, status, purpose") == [
        ("email", "opt_in", "marketing"),
        ("sms", "opt_out", "marketing"),
    ]
    assert _rows(datamart, "do_not_contact", "kind, value") == [
        ("email", "no@example.com"),
        ("phone", "+442079460002"),
    ]
    # Every load is booked, with the file's checksum.
    loads = datamart.sql("SELECT target, rows_read, rows_inserted, sha256 FROM loads")
    assert len(loads) == len(SOURCES)
    assert all(sha is not None and len(sha) == 64 for *_, sha in loads)
    # Customers are all known: no placeholders were needed after the customers file.
    assert datamart.sql("SELECT count(*) FROM customers WHERE is_placeholder")[0][0] == 0
