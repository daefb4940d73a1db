"""Run the performance targets and print a table of measured figures against their targets.

    make bench                                  # every target at full scale
    .venv/bin/python benchmarks/run.py --customers 100000   # a smaller synthetic run
    .venv/bin/python benchmarks/run.py --only scoring --customers 100000   # scoring, smaller
    .venv/bin/python benchmarks/run.py --only score_list   # a 100,000-contact list to Excel
    .venv/bin/python benchmarks/run.py --only clv          # CLV models on 1M customers
    .venv/bin/python benchmarks/run.py --only predictive   # propensity scoring of 1M customers
    .venv/bin/python benchmarks/run.py --only campaigns    # a campaign over 1M customers
    .venv/bin/python benchmarks/run.py --only synthetic --skip-build   # lookups, RFM, no build

Each step runs in its own process; peak memory is that process's maximum resident set size.
The figures of the last full run are recorded in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import DATA, run_step
from benchmarks.synthetic import built_marker
from rich.console import Console
from rich.table import Table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--transactions-per-customer", type=float, default=20.0)
    parser.add_argument("--events-per-customer", type=float, default=50.0)
    parser.add_argument(
        "--slice-customers",
        type=int,
        default=100_000,
        help="customers of the scoring comparison against the Python loop",
    )
    parser.add_argument(
        "--only",
        choices=[
            "online_retail",
            "synthetic",
            "scoring",
            "score_list",
            "clv",
            "predictive",
            "campaigns",
        ],
        default=None,
    )
    parser.add_argument(
        "--skip-build",
        action="store_true",
        help="synthetic: measure lookups and RFM on the datamart the last build left complete",
    )
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    console = Console()
    rows: list[tuple[str, str, str, bool]] = []

    def record(row: tuple[str, str, str, bool]) -> None:
        rows.append(row)
        name, measured, target, met = row
        print(f"  {name}: {measured} (target {target}) {'met' if met else 'NOT MET'}", flush=True)

    if args.only in (None, "online_retail"):
        console.print("Online Retail: ingest + build ...")
        r = run_step("online_retail.py", "ingest_and_build")
        rows.append(
            (
                "Online Retail ingest+profiles+RFM+tiers",
                f"{r['seconds']:.1f} s "
                f"(ingest {r['ingest_seconds']:.1f}, build {r['build_seconds']:.1f})",
                "< 10 s",
                r["seconds"] < 10,
            )
        )
        rows.append(
            (
                "Online Retail peak memory",
                f"{r['peak_rss_mb']:.0f} MB",
                "< 2048 MB",
                r["peak_rss_mb"] < 2048,
            )
        )

    if args.only in (None, "synthetic"):
        n = args.customers
        t = int(n * args.transactions_per_customer)
        e = int(n * args.events_per_customer)
        console.print(
            f"Synthetic: generating {n:,} customers, {t:,} transactions, {e:,} events ..."
        )
        g = run_step("synthetic.py", "generate", customers=n, transactions=t, events=e)
        rows.append(
            (
                "Synthetic generation (not part of the build)",
                "cached" if g.get("cached") else f"{g['seconds']:.1f} s",
                "-",
                True,
            )
        )
        if args.skip_build:
            if not built_marker(n).exists():
                raise SystemExit(
                    f"--skip-build: no complete build of {n:,} customers in {DATA}; run "
                    "without it once"
                )
            console.print("Synthetic: full build skipped (the last complete build is reused)")
        else:
            console.print("Synthetic: full build ...")
            b = run_step("synthetic.py", "build", customers=n)
            rows.append(
                (
                    f"Synthetic full build ({n:,} customers)",
                    f"{b['seconds']:.1f} s "
                    f"(load {b['load_seconds']:.1f}, build {b['build_seconds']:.1f})",
                    "< 180 s",
                    b["seconds"] < 180,
                )
            )
            rows.append(
                (
                    "Synthetic build peak memory",
                    f"{b['peak_rss_mb']:.0f} MB",
                    "< 6144 MB",
                    b["peak_rss_mb"] < 6144,
                )
            )
        console.print("Synthetic: profile lookups ...")
        lk = run_step("synthetic.py", "lookups", customers=n)
        rows.append(
            (
                "Profile lookup p95",
                f"{lk['p95_ms']:.1f} ms (p50 {lk['p50_ms']:.1f})",
                "< 50 ms",
                lk["p95_ms"] < 50,
            )
        )
        console.print("Synthetic: RFM against pandas ...")
        rf = run_step("synthetic.py", "rfm", customers=n)
        rows.append(
            (
                "RFM clientela vs pandas",
                f"{rf['clientela_seconds']:.1f} s vs "
                f"{rf['pandas_seconds']:.1f} s = {rf['speedup']:.1f}x",
                ">= 5x",
                rf["speedup"] >= 5,
            )
        )

    if args.only in (None, "scoring"):
        rows.extend(
            _scoring(console, args.customers, args.events_per_customer, args.slice_customers)
        )

    if args.only in (None, "score_list"):
        rows.extend(_score_list(console))

    if args.only in (None, "clv"):
        rows.extend(_clv(console, args.customers))

    if args.only in (None, "predictive"):
        rows.extend(
            _predictive(
                console,
                args.customers,
                int(args.customers * args.transactions_per_customer),
                int(args.customers * args.events_per_customer),
            )
        )

    if args.only in (None, "campaigns"):
        rows.extend(
            _campaigns(
                console,
                args.customers,
                int(args.customers * args.transactions_per_customer),
                int(args.customers * args.events_per_customer),
            )
        )

    table = Table(title="clientela benchmarks", title_justify="left")
    for column in ("benchmark", "measured", "target", "met"):
        table.add_column(column)
    for name, measured, target, met in rows:
        table.add_row(name, measured, target, "yes" if met else "NO")
    console.print(table)
    return 0 if all(met for *_, met in rows) else 1


def _scoring(
    console: Console, customers: int, events_per_customer: float, slice_customers: int
) -> list[tuple[str, str, str, bool]]:
    """Three models of 20 rules: the full runs, then the slice against the Python loop."""
    rows: list[tuple[str, str, str, bool]] = []
    n, e = customers, int(customers * events_per_customer)
    s = min(slice_customers, n)
    console.print(f"Scoring: generating {n:,} customers and {e:,} events with DuckDB SQL ...")
    g = run_step("scoring.py", "generate", customers=n, events=e)
    rows.append(
        (
            "Scoring data generation (not part of scoring)",
            "cached" if g.get("cached") else f"{g['seconds']:.1f} s",
            "-",
            True,
        )
    )
    console.print("Scoring: previous week's snapshots (not timed) ...")
    run_step("scoring.py", "history", customers=n, events=e)
    console.print("Scoring: run_model of 3 models x 20 rules ...")
    r = run_step("scoring.py", "score", customers=n, events=e)
    per_model = ", ".join(f"{name} {seconds:.1f}" for name, seconds in r["models"].items())
    rows.append(
        (
            f"Scoring 3 models x 20 rules ({n:,} customers, {e:,} events)",
            f"{r['seconds']:.1f} s ({per_model})",
            "< 60 s",
            r["seconds"] < 60,
        )
    )
    rows.append(
        (
            "Scoring peak memory",
            f"{r['peak_rss_mb']:.0f} MB",
            "< 6144 MB",
            r["peak_rss_mb"] < 6144,
        )
    )
    console.print("Scoring: the same day's run again (a corrected rule, a back-fill) ...")
    again = run_step("scoring.py", "rerun", customers=n, events=e)
    rows.append(
        (
            "Scoring: the same date run again (information)",
            f"{again['seconds']:.1f} s ({again['replaced_snapshots']:,} snapshot rows "
            f"replaced; the day's first run above {r['seconds']:.1f} s)",
            "-",
            True,
        )
    )
    console.print(f"Scoring: a datamart of the first {s:,} customers ...")
    run_step("scoring.py", "slice", customers=n, events=e, slice_customers=s)
    console.print("Scoring: clientela against the Python loop on the slice ...")
    c = run_step("scoring.py", "compare", customers=n, events=e, slice_customers=s)
    rows.append(
        (
            f"Scoring vs Python loop ({s:,} customers, {c['rows']:,} rows; same scores)",
            f"{c['clientela_seconds']:.1f} s vs {c['python_seconds']:.1f} s = {c['speedup']:.1f}x",
            ">= 50x",
            c["speedup"] >= 50,
        )
    )
    return rows


def _score_list(console: Console) -> list[tuple[str, str, str, bool]]:
    """A 100,000-contact list matched, scored and written to Excel (and audience files)."""
    console.print("List scoring: 150,000 demo customers and a 100,000-contact list ...")
    g = run_step("score_list.py", "prepare")
    rows: list[tuple[str, str, str, bool]] = [
        (
            "List scoring data (not part of the run)",
            "cached" if g.get("cached") else f"{g['seconds']:.1f} s",
            "-",
            True,
        )
    ]
    console.print("List scoring: read, match, score, record, write Excel and audiences ...")
    r = run_step("score_list.py", "score")
    rows.append(
        (
            f"List scoring to Excel and audiences ({r['rows']:,} rows, {r['contacts']:,} "
            f"contacts, {r['matched']:,} matched)",
            f"{r['seconds']:.1f} s (CPU {r['cpu_seconds']:.1f} s, peak memory "
            f"{r['peak_rss_mb']:.0f} MB)",
            "< 20 s",
            r["seconds"] < 20,
        )
    )
    return rows


def _clv(console: Console, customers: int) -> list[tuple[str, str, str, bool]]:
    """BG/NBD and Gamma-Gamma fitted on simulated customers, clientela then lifetimes."""
    n = customers
    console.print(f"CLV: simulating {n:,} customers from BG/NBD and Gamma-Gamma ...")
    g = run_step("clv.py", "generate", customers=n)
    rows: list[tuple[str, str, str, bool]] = [
        (
            "CLV data simulation (not part of the fits)",
            "cached" if g.get("cached") else f"{g['seconds']:.1f} s",
            "-",
            True,
        )
    ]
    console.print("CLV: clientela BG/NBD + Gamma-Gamma (and Pareto/NBD) ...")
    c = run_step("clv.py", "clientela", customers=n)
    console.print("CLV: lifetimes BG/NBD + Gamma-Gamma ...")
    lt = run_step("clv.py", "lifetimes", customers=n)
    rows.append(
        (
            f"CLV BG/NBD + Gamma-Gamma fits ({n:,} customers, {c['distinct_rows']:,} distinct)",
            f"{c['seconds']:.1f} s (BG/NBD {c['bgnbd_seconds']:.1f}, Gamma-Gamma "
            f"{c['gamma_gamma_seconds']:.1f}; peak {c['peak_rss_mb']:.0f} MB)",
            "< 5 s",
            c["seconds"] < 5,
        )
    )
    rows.append(
        (
            "CLV lifetimes 0.11.3, same fits and data",
            f"{lt['seconds']:.1f} s (BG/NBD {lt['bgnbd_seconds']:.1f}, Gamma-Gamma "
            f"{lt['gamma_gamma_seconds']:.1f}; peak {lt['peak_rss_mb']:.0f} MB)",
            "baseline",
            True,
        )
    )
    differences = [
        abs(c[model][name] / lt[model][name] - 1)
        for model in ("bgnbd", "gamma_gamma")
        for name in c[model]
    ]
    fitted = ", ".join(f"{k} {v:.3f}" for k, v in {**c["bgnbd"], **c["gamma_gamma"]}.items())
    rows.append(
        (
            "CLV parameters: clientela vs lifetimes",
            f"largest difference {max(differences):.1e} ({fitted})",
            "< 1e-3",
            max(differences) < 1e-3,
        )
    )
    rows.append(
        (
            "CLV Pareto/NBD fit (information, numerical gradient)",
            f"{c['pareto_nbd_seconds']:.1f} s",
            "-",
            True,
        )
    )
    return rows


def _predictive(
    console: Console, customers: int, transactions: int, events: int
) -> list[tuple[str, str, str, bool]]:
    """A propensity model trained on the synthetic datamart, then every customer scored."""
    n = customers
    rows: list[tuple[str, str, str, bool]] = []
    console.print(f"Predictive: the synthetic datamart of {n:,} customers ...")
    run_step("synthetic.py", "generate", customers=n, transactions=transactions, events=events)
    if built_marker(n).exists():
        rows.append(("Predictive: synthetic datamart (not timed)", "cached", "-", True))
    else:
        b = run_step("synthetic.py", "build", customers=n)
        rows.append(
            (
                "Predictive: synthetic datamart (not timed)",
                f"built in {b['seconds']:.0f} s",
                "-",
                True,
            )
        )
    console.print("Predictive: training a 30-day purchase propensity model ...")
    t = run_step("predictive.py", "train", customers=n)
    rows.append(
        (
            f"Predictive training, propensity 30 days ({t['examples']:,} examples, "
            f"{t['features']} features; information)",
            f"{t['seconds']:.1f} s (ROC AUC {t['roc_auc']:.3f}, {t['validation']}; peak "
            f"{t['peak_rss_mb']:.0f} MB)",
            "-",
            True,
        )
    )
    console.print(f"Predictive: features and scoring of {n:,} customers ...")
    s = run_step("predictive.py", "score", customers=n)
    rows.append(
        (
            f"Predictive features + scoring ({n:,} customers)",
            f"{s['seconds']:.1f} s ({s['scored']:,} scored, {s['with_reasons']:,} with reasons)",
            "< 120 s",
            s["seconds"] < 120 and s["with_reasons"] == s["scored"],
        )
    )
    rows.append(
        (
            "Predictive scoring peak memory",
            f"{s['peak_rss_mb']:.0f} MB",
            "< 8192 MB",
            s["peak_rss_mb"] < 8192,
        )
    )
    console.print("Predictive: the same, stage by stage (information) ...")
    g = run_step("predictive.py", "stages", customers=n)
    shown = ", ".join(
        f"{name} {seconds:.1f}" for name, seconds in g["stages"].items() if seconds >= 0.05
    )
    rows.append(("Predictive scoring by stage (s; information)", shown, "-", True))
    return rows


def _synthetic_datamart(
    console: Console, what: str, customers: int, transactions: int, events: int
) -> tuple[str, str, str, bool]:
    """Generate and build the synthetic datamart unless a complete build is there."""
    console.print(f"{what}: the synthetic datamart of {customers:,} customers ...")
    run_step(
        "synthetic.py", "generate", customers=customers, transactions=transactions, events=events
    )
    if built_marker(customers).exists():
        return (f"{what}: synthetic datamart (not timed)", "cached", "-", True)
    b = run_step("synthetic.py", "build", customers=customers)
    return (f"{what}: synthetic datamart (not timed)", f"built in {b['seconds']:.0f} s", "-", True)


def _campaigns(
    console: Console, customers: int, transactions: int, events: int
) -> list[tuple[str, str, str, bool]]:
    """A call-centre campaign with five exclusions, pressure, control group and capacity."""
    n = customers
    rows = [_synthetic_datamart(console, "Campaigns", n, transactions, events)]
    console.print("Campaigns: the earlier contact history and the global hold-out ...")
    h = run_step("campaigns.py", "history", customers=n)
    shown = "cached" if h.get("cached") else f"written in {h['seconds']:.0f} s"
    rows.append((f"Campaigns: {h['rows']:,} contact-history rows (not timed)", shown, "-", True))
    console.print("Campaigns: preview ...")
    p = run_step("campaigns.py", "preview", customers=n)
    console.print("Campaigns: execute ...")
    e = run_step("campaigns.py", "execute", customers=n)
    funnel = ", ".join(f"{step} {count:,}" for step, count in p["funnel"])
    rows.append(("Campaign funnel (information)", funnel, "-", True))
    total = p["seconds"] + e["seconds"]
    rows.append(
        (
            f"Campaign preview + execute ({n:,} customers, {h['rows']:,} history rows)",
            f"{total:.1f} s (preview {p['seconds']:.1f}, execute {e['seconds']:.1f}; "
            f"{e['contacted']:,} planned, {e['held_out']:,} held out, "
            f"{e['deferred']:,} deferred)",
            "< 30 s",
            total < 30,
        )
    )
    peak = max(p["peak_rss_mb"], e["peak_rss_mb"])
    rows.append(("Campaign peak memory", f"{peak:.0f} MB", "< 6144 MB", peak < 6144))
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
