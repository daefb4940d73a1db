"""List scoring at scale: a 100,000-contact list matched, scored and written to Excel.

Steps (each in its own process, so that peak memory is its own):
- ``prepare``: a demo company of 150,000 customers (cached in benchmarks/.data), 60% of whom
  consent to advertising, and a CRM export of 100,000 rows drawn from it the way real lists
  look: e-mails in mixed case, phones in E.164, in the national format and without the "+",
  15% people the datamart does not know, 2% duplicate rows.
- ``score``: ``score_list`` on that list with a rule-based model: read, normalise, match, score,
  record the run, write the Excel report and the audience files (target: under 20 s).

    .venv/bin/python benchmarks/run.py --only score_list
"""

from __future__ import annotations

import csv
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import DATA, child_main

SEED = 11
CUSTOMERS = 150_000
CONTACTS = 100_000
UNKNOWN_SHARE = 0.15
DUPLICATE_SHARE = 0.02
MODEL = """\
name: list_benchmark
description: Buyers who spend, come back and browse.
levels: {high: 40, medium: 15}
rules:
  - name: big_spender
    points: 30
    when: {field: revenue, at_least: 500}
  - name: repeat_buyer
    points: 15
    when: {field: orders, at_least: 3}
  - name: recent_buyer
    points: 10
    when: {field: recency_days, at_most: 90}
  - name: page_views
    points: 1
    max_points: 20
    decay: {half_life_days: 30}
    activity: {table: events, type: page_view}
  - name: complained
    points: -10
    activity: {table: interactions, type: complaint}
"""


def _db() -> Path:
    return DATA / f"score_list_{CUSTOMERS}.duckdb"


def _list() -> Path:
    return DATA / f"score_list_{CONTACTS}.csv"


def prepare() -> dict[str, Any]:
    from clientela.config import Settings
    from clientela.datamart import connect
    from clientela.demo import build_demo
    from clientela.scoring.definition import parse_model_text
    from clientela.services.scoring import register_model

    started = time.perf_counter()
    db = _db()
    marker = db.with_suffix(".complete")
    cached = marker.exists() and _list().exists()
    settings = Settings(db=str(db))
    if not marker.exists():
        for stale in (db, Path(f"{db}.wal"), _list()):
            stale.unlink(missing_ok=True)
        with connect(settings) as dm:
            build_demo(dm, settings, customers=CUSTOMERS, seed=SEED)
            register_model(dm, parse_model_text(MODEL))
        marker.write_text("ok")
    with connect(settings) as dm:
        _ensure_ad_consents(dm)
    if not _list().exists():
        with connect(settings) as dm:
            customers = dm.table("customers")
            people = dm.to_pyarrow(
                customers.order_by("customer_id").select("email", "phone")
            ).to_pylist()
        _write_list(people)
    return {"seconds": time.perf_counter() - started, "cached": cached}


def _ensure_ad_consents(dm: Any) -> None:
    """The demo company asks for e-mail, SMS, phone and mail consent; 60% also agree to ads."""
    if dm.sql("SELECT count(*) FROM consents WHERE channel = 'ads'")[0][0]:
        return
    dm.sql(
        "INSERT INTO consents (consent_id, customer_id, channel, purpose, status, source, "
        "recorded_at) SELECT 'ADS-' || customer_id, customer_id, 'ads', 'advertising', "
        "'opt_in', 'benchmark', created_at FROM customers "
        "WHERE hash(customer_id) % 10 < 6 AND created_at IS NOT NULL"
    )


def _write_list(people: list[dict[str, Any]]) -> None:
    import random

    rng = random.Random(SEED)
    known = int(CONTACTS * (1 - UNKNOWN_SHARE - DUPLICATE_SHARE))
    chosen = rng.sample(people, known)
    rows: list[tuple[str, str, str]] = []
    for i, person in enumerate(chosen):
        email = person["email"] or ""
        phone = person["phone"] or ""
        style = i % 4
        if style == 0:
            email = email.upper()
        elif style == 1 and phone.startswith("+44"):
            phone = "0" + phone[3:6] + " " + phone[6:]  # national format
        elif style == 2:
            phone = phone.lstrip("+")  # CRM exports that drop the "+"
        rows.append((f"Contact {i}", email, phone))
    for i in range(int(CONTACTS * UNKNOWN_SHARE)):
        rows.append((f"Stranger {i}", f"stranger{i}@example.org", f"+4479{i:08d}"[:13]))
    rows.extend(rng.sample(rows, CONTACTS - len(rows)))  # duplicates
    rng.shuffle(rows)
    with _list().open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["Full Name", "E-mail Address", "Mobile Phone"])
        writer.writerows(rows)


def score() -> dict[str, Any]:
    from clientela.config import Settings
    from clientela.datamart import connect
    from clientela.services.score_list import score_list

    out = DATA / "score_list_report.xlsx"
    audience = DATA / "score_list_audience"
    shutil.rmtree(audience, ignore_errors=True)
    settings = Settings(db=str(_db()))
    with connect(settings) as dm:
        dm.sql("DELETE FROM score_list_contacts")  # each measurement starts without history
        dm.sql("DELETE FROM score_list_runs")
        started = time.perf_counter()
        cpu_started = time.process_time()
        result = score_list(dm, settings, _list(), "list_benchmark", out=out, audience_dir=audience)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
    s = result.summary
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "rows": s.rows,
        "contacts": s.contacts,
        "matched": s.matched,
        "scored": s.scored,
        "duplicates": s.duplicates,
        "levels": s.levels,
        "audience_rows": [f.rows for f in s.audience],
    }


if __name__ == "__main__":
    child_main({"prepare": prepare, "score": score})
