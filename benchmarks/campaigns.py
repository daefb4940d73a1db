"""Campaigns (issue 5): one call-centre campaign over the synthetic company.

    .venv/bin/python benchmarks/run.py --only campaigns                      # 1,000,000 customers
    .venv/bin/python benchmarks/run.py --only campaigns --customers 100000   # a tenth

The datamart is the one ``synthetic.py`` generates and builds (1,000,000 customers), reused when
its build is complete.  The campaign (``CAMPAIGN`` below) targets value tiers A to C, has five
exclusions (consent, do-not-contact list, open complaints and incidents, the global hold-out,
minors), three pressure limits, a stratified 10% control group and a capacity of 10,000 calls a
day for 10 days.  Steps (each in its own process, see _measure.py):

* ``history`` (not timed): 20 contact-history rows per customer (20,000,000 at full scale) of
  40 earlier campaigns on every channel, planned over the 365 days before the as-of date and
  the 6 days after it (contacts already planned), 5% of them held out; and a 5% global hold-out.
  Written with DuckDB SQL; kept for later runs.
* ``preview``: ``campaign preview``: the funnel with its counts and a sample.
* ``execute``: ``campaign execute``: the same, then the contact history, the exclusions, the
  run and the call-centre files written.
Both steps first delete the rows of earlier benchmark executions (not timed), so that every run
plans the same contacts.

Target: preview and execute together under 30 s on 2 cores, peak memory under 6 GB.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import DATA, child_main
from benchmarks.synthetic import _db

NAME = "bench_call"
HISTORY_PREFIX = "bench-history-"
HISTORY_PER_CUSTOMER = 20
CAMPAIGN = f"""
name: {NAME}
objective: Retain valuable customers
channel: call
offers:
  - id: LOYAL20
    name: 20% loyalty voucher
    script: Greet the customer, offer the voucher, note the outcome.
target:
  field: value_tier
  in: [A, B, C]
exclusions:
  - consent
  - do_not_contact
  - rule: open_issues
    kinds: [complaint, incident]
  - global_holdout
  - rule: minors
    min_age: 18
pressure:
  - {{channel: call, min_gap_days: 7}}
  - {{channel: email, max: 2, days: 7}}
  - {{max: 4, days: 30}}
control:
  percent: 10
  seed: 42
  stratify: decile
capacity:
  per_day: 10000
  days: 10
  overflow: defer
priority: 10
"""


def _settings(customers: int) -> Any:
    from clientela.config import Settings

    return Settings(db=str(_db(customers)))


def _as_of(dm: Any) -> dt.date:
    from clientela.services._summary import default_as_of

    return default_as_of(dm)


def history(customers: int) -> dict[str, Any]:
    from clientela.datamart import connect, migrate
    from clientela.services._campaign_holdout import create_global_holdout

    rows = customers * HISTORY_PER_CUSTOMER
    with connect(_settings(customers)) as dm:
        migrate(dm)
        have = dm.sql(
            "SELECT count(*) FROM contact_history WHERE campaign LIKE ?", [HISTORY_PREFIX + "%"]
        )[0][0]
        holdout = dm.sql("SELECT count(*) FROM global_holdout")[0][0]
        if have == rows and holdout:
            return {"seconds": 0.0, "cached": True, "rows": rows}
        as_of = _as_of(dm)
        started = time.perf_counter()
        with dm.transaction():
            dm.sql("DELETE FROM contact_history WHERE campaign LIKE ?", [HISTORY_PREFIX + "%"])
            dm.sql("DELETE FROM global_holdout")
            dm.sql(
                f"""
                INSERT INTO contact_history
                WITH p AS (
                    SELECT profile_id, min(customer_id) AS customer_id,
                           row_number() OVER (ORDER BY profile_id) - 1 AS n
                    FROM identity GROUP BY profile_id
                ), sized AS (SELECT count(*) AS total FROM p),
                draws AS (
                    SELECT i, hash(i) % (SELECT total FROM sized) AS n FROM range({rows}) t(i)
                )
                SELECT
                    'bh-' || d.i,
                    '{HISTORY_PREFIX}run-' || (d.i % 40),
                    '{HISTORY_PREFIX}' || (d.i % 40),
                    1,
                    p.profile_id,
                    p.customer_id,
                    ['email', 'sms', 'call', 'mail'][1 + (hash(d.i * 7) % 4)::INTEGER],
                    'OFFER' || (d.i % 40),
                    CASE WHEN hash(d.i * 11) % 20 = 0 THEN 'held_out' ELSE 'planned' END,
                    CASE WHEN hash(d.i * 11) % 20 = 0 THEN 'control' ELSE 'target' END,
                    DATE '{as_of.isoformat()}' + ((hash(d.i * 13) % 372)::INTEGER - 365),
                    1.0,
                    1 + (hash(d.i * 17) % 10)::INTEGER,
                    NULL,
                    TIMESTAMP '{as_of.isoformat()}' - INTERVAL 370 DAY
                FROM draws d JOIN p ON p.n = d.n
                """
            )
        create_global_holdout(
            dm,
            percent=5,
            until=as_of + dt.timedelta(days=365),
            seed=7,
            valid_from=as_of - dt.timedelta(days=30),
        )
        return {"seconds": time.perf_counter() - started, "cached": False, "rows": rows}


def _campaign() -> Any:
    from clientela.campaigns.definition import parse_campaign_text

    return parse_campaign_text(CAMPAIGN, source="bench_call.yaml")


def _forget_earlier_runs(dm: Any) -> None:
    """Delete the rows of earlier benchmark executions, so every run plans the same contacts."""
    with dm.transaction():
        for table in ("contact_history", "campaign_exclusions", "campaign_runs"):
            dm.sql(f"DELETE FROM {table} WHERE campaign = ?", [NAME])


def preview(customers: int) -> dict[str, Any]:
    from clientela.datamart import connect
    from clientela.services.campaigns import preview_campaigns

    settings = _settings(customers)
    with connect(settings) as dm:
        _forget_earlier_runs(dm)
        as_of = _as_of(dm)
        started = time.perf_counter()
        (result,) = preview_campaigns(dm, settings, [_campaign()], as_of=as_of, sample=10)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "funnel": [(s.step, s.customers) for s in result.funnel]}


def execute(customers: int) -> dict[str, Any]:
    from clientela.datamart import connect
    from clientela.services.campaigns import execute_campaigns

    settings = _settings(customers)
    out = DATA / "campaign_files"
    with connect(settings) as dm:
        _forget_earlier_runs(dm)
        as_of = _as_of(dm)
        started = time.perf_counter()
        (run,) = execute_campaigns(dm, settings, [_campaign()], as_of=as_of, out_dir=out)
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "contacted": run.contacted,
        "held_out": run.held_out,
        "deferred": run.deferred,
        "files": len(run.files),
    }


if __name__ == "__main__":
    child_main({"history": history, "preview": preview, "execute": execute})
