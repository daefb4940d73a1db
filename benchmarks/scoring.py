"""Rule-based scoring at scale: 3 models of 20 rules on 1,000,000 customers and 50,000,000 events.

Steps (each in its own process, so that peak memory is its own):
- ``generate``: the datamart, written directly with DuckDB SQL into a migrated datamart (see
  ``_scoring_data.py``; cached in benchmarks/.data).
- ``history``: each model run once as of a week before the as-of date (not timed), so that the
  timed runs assign bands with hysteresis against a previous snapshot, as a daily run does.
- ``score``: ``run_model`` of the three models (``_scoring_models.py``), each writing its
  snapshot, ledger and band changes (target: under 60 s in all on 2 cores, peak memory under
  6 GB).
- ``rerun``: the same day's run again, as of the same date: the stored runs are replaced (as a
  corrected rule or a back-fill does); reported, no target.
- ``slice``: a datamart holding only the first 100,000 customers (and their rows), with its
  own history.
- ``compare``: on that slice, the three ``run_model`` against a plain-Python loop applying the
  same rules event by event per profile, its data already in memory (``_scoring_loop.py``; its
  load is not timed).  The scores, bands and ledger lines must agree (within 1e-6); target: at
  least 50x faster.

    .venv/bin/python benchmarks/run.py --only scoring --customers 100000
"""

from __future__ import annotations

import datetime as dt
import gc
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import DATA, child_main, peak_rss_mb
from benchmarks._scoring_data import AS_OF

HISTORY_AS_OF = AS_OF - dt.timedelta(days=7)
TOLERANCE = 1e-6


def _db(customers: int, events: int) -> Path:
    return DATA / f"scoring_{customers}_{events}.duckdb"


def _slice_db(customers: int, events: int, slice_customers: int) -> Path:
    return DATA / f"scoring_{customers}_{events}_slice_{slice_customers}.duckdb"


def _remove(db: Path) -> None:
    for leftover in (db, Path(f"{db}.wal"), db.with_suffix(".complete")):
        leftover.unlink(missing_ok=True)


def _settings(db: Path) -> Any:
    from clientela.config import Settings

    return Settings(db=str(db))


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def generate(customers: int, events: int) -> dict[str, Any]:
    from benchmarks._scoring_data import generate as generate_rows

    from clientela.datamart import connect, migrate

    db = _db(customers, events)
    marker = db.with_suffix(".complete")
    if marker.exists():
        return {"seconds": 0.0, "cached": True}
    _remove(db)
    started = time.perf_counter()
    with connect(_settings(db)) as dm:
        migrate(dm)
        steps = generate_rows(dm, customers, events, _log)
        rows = {
            table: dm.sql(f"SELECT count(*) FROM {table}")[0][0]
            for table in ("customers", "events", "interactions", "third_party", "consents")
        }
    marker.write_text("ok")
    return {
        "seconds": time.perf_counter() - started,
        "cached": False,
        "steps": steps,
        "rows": rows,
    }


def _register(dm: Any) -> list[Any]:
    from benchmarks._scoring_models import MODELS

    from clientela.scoring.definition import parse_model_text
    from clientela.services.scoring import register_model

    return [register_model(dm, parse_model_text(text)) for text in MODELS]


def _history(db: Path) -> dict[str, Any]:
    """Run each model as of HISTORY_AS_OF unless its current version already has that run."""
    from clientela.datamart import connect
    from clientela.services.scoring import run_model

    settings = _settings(db)
    seconds: dict[str, float] = {}
    with connect(settings) as dm:
        for model in _register(dm):
            done = dm.sql(
                "SELECT count(*) FROM score_runs WHERE model = ? AND as_of = ? AND version = ?",
                [model.name, HISTORY_AS_OF, model.version],
            )[0][0]
            if done:
                continue
            started = time.perf_counter()
            run_model(dm, settings, model, HISTORY_AS_OF)
            seconds[model.name] = time.perf_counter() - started
            _log(f"    history {model.name}: {seconds[model.name]:.1f} s")
    return {"seconds": sum(seconds.values()), "runs": seconds}


def history(customers: int, events: int) -> dict[str, Any]:
    return _history(_db(customers, events))


def _reset(dm: Any, models: list[Any]) -> None:
    """Forget earlier runs as of AS_OF (not timed), so that every timed run is a day's first run.

    A daily run is a new date: running a model again for the same date updates the stored
    snapshot in place (the ``rerun`` step), and these deletes (untimed) cost far more."""
    for table in ("score_snapshots", "score_ledger", "score_band_changes", "score_runs"):
        dm.sql(
            f"DELETE FROM {table} WHERE as_of = ? AND model IN ({', '.join('?' for _ in models)})",
            [AS_OF, *[m.name for m in models]],
        )
    dm.sql("CHECKPOINT")


def _run_models(dm: Any, settings: Any, models: list[Any]) -> tuple[dict[str, float], float]:
    """A day's run of the models (``run_models``: the behaviour tables read once for all): each
    model's seconds (with an equal share of that reading) and the wall time of the whole run."""
    from clientela.services.scoring import run_models

    _reset(dm, models)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    runs = run_models(dm, settings, models, AS_OF)
    total = time.perf_counter() - started
    for run in runs:
        seconds[run.model] = run.seconds
        _log(
            f"    {run.model}: {run.seconds:.1f} s, {run.profiles:,} profiles, "
            f"{run.scored:,} scored, {run.band_changes:,} band changes, bands {run.bands}, "
            f"peak so far {peak_rss_mb():.0f} MB"
        )
        if run.warnings:
            _log(f"    warnings: {'; '.join(run.warnings)}")
    return seconds, total


def score(customers: int, events: int) -> dict[str, Any]:
    """The timed runs: ``run_model`` of each model as of AS_OF (registering is not timed)."""
    from clientela.datamart import connect

    settings = _settings(_db(customers, events))
    with connect(settings) as dm:
        models = _register(dm)
        seconds, total = _run_models(dm, settings, models)
        ledger = dm.sql("SELECT count(*) FROM score_ledger WHERE as_of = ?", [AS_OF])[0][0]
    return {"seconds": total, "models": seconds, "ledger_lines": ledger}


def rerun(customers: int, events: int) -> dict[str, Any]:
    """The day's run of ``score`` again, as of the same date: its stored runs are replaced, as
    a corrected rule or a back-fill does (before, deleting them cost about 50 s at 1M)."""
    from clientela.datamart import connect
    from clientela.services.scoring import run_models

    settings = _settings(_db(customers, events))
    with connect(settings) as dm:
        models = _register(dm)
        stored = dm.sql("SELECT count(*) FROM score_snapshots WHERE as_of = ?", [AS_OF])[0][0]
        if not stored:
            raise AssertionError("rerun: no run as of the date to replace: run 'score' first")
        started = time.perf_counter()
        runs = run_models(dm, settings, models, AS_OF)
        total = time.perf_counter() - started
    return {
        "seconds": total,
        "replaced_snapshots": stored,
        "models": {r.model: r.seconds for r in runs},
    }


def make_slice(customers: int, events: int, slice_customers: int) -> dict[str, Any]:
    """A datamart of the first ``slice_customers`` customers and their rows, with its history.

    Merged pairs of customers are neighbours (2k-1, 2k), so an even slice keeps them whole."""
    from clientela.datamart import connect, migrate

    db = _slice_db(customers, events, slice_customers)
    marker = db.with_suffix(".complete")
    started = time.perf_counter()
    if not marker.exists():
        _remove(db)
        last = f"C{slice_customers:07d}"
        with connect(_settings(db)) as dm:
            migrate(dm)
            indexes = dm.sql(
                "SELECT index_name, sql FROM duckdb_indexes() WHERE table_name IN "
                "('customers', 'identity', 'events', 'interactions', 'consents', 'third_party')"
            )
            for name, _sql in indexes:
                dm.sql(f'DROP INDEX "{name}"')
            source = str(_db(customers, events)).replace("'", "''")
            dm.sql(f"ATTACH '{source}' AS full_datamart (READ_ONLY)")
            for table in ("customers", "identity", "events", "interactions", "consents"):
                dm.sql(
                    f"INSERT INTO {table} SELECT * FROM full_datamart.{table} "
                    f"WHERE customer_id <= '{last}'"
                )
            dm.sql(
                "INSERT INTO third_party SELECT * FROM full_datamart.third_party "
                f"WHERE customer_id <= '{last}'"
            )
            dm.sql(
                "INSERT INTO identity_merges SELECT * FROM full_datamart.identity_merges "
                f"WHERE customer_id <= '{last}'"
            )
            dm.sql("DETACH full_datamart")
            for _name, sql in indexes:
                dm.sql(sql)
            dm.sql("CHECKPOINT")
        marker.write_text("ok")
    built = time.perf_counter() - started
    runs = _history(db)
    return {"seconds": built + runs["seconds"], "build_seconds": built, "history": runs}


def compare(customers: int, events: int, slice_customers: int) -> dict[str, Any]:
    """clientela against the Python loop on the slice; the scores must agree."""
    from benchmarks import _scoring_loop as loop

    from clientela.datamart import connect

    settings = _settings(_slice_db(customers, events, slice_customers))
    with connect(settings) as dm:
        models = _register(dm)
        ours, clientela_seconds = _run_models(dm, settings, models)
        snapshot = _snapshots(dm, models)
        ledger = _ledgers(dm, models)
        loaded = time.perf_counter()
        data = loop.load(dm, HISTORY_AS_OF, [m.name for m in models])
        _log(
            f"    Python loop data: {len(data.profiles):,} profiles, {data.rows:,} rows "
            f"(loaded in {time.perf_counter() - loaded:.1f} s, not timed)"
        )
    gc.collect()
    gc.freeze()  # the loaded data is long-lived: keep the collector from rescanning it
    theirs: dict[str, float] = {}
    checked = 0
    for model in models:
        started = time.perf_counter()
        result = loop.score_model(model, data, AS_OF)
        theirs[model.name] = time.perf_counter() - started
        _log(f"    Python loop {model.name}: {theirs[model.name]:.1f} s")
        checked += _check(model.name, snapshot[model.name], ledger[model.name], result)
    python_seconds = sum(theirs.values())
    return {
        "seconds": clientela_seconds,
        "clientela_seconds": clientela_seconds,
        "python_seconds": python_seconds,
        "speedup": python_seconds / clientela_seconds,
        "clientela_models": ours,
        "python_models": theirs,
        "profiles": len(data.profiles),
        "rows": data.rows,
        "checked": checked,
    }


def _snapshots(dm: Any, models: list[Any]) -> dict[str, dict[str, tuple[float, str | None]]]:
    found: dict[str, dict[str, tuple[float, str | None]]] = {}
    for model in models:
        rows = dm.sql(
            "SELECT profile_id, score, band FROM score_snapshots WHERE model = ? AND as_of = ?",
            [model.name, AS_OF],
        )
        found[model.name] = {str(p): (float(s), b) for p, s, b in rows}
    return found


def _ledgers(dm: Any, models: list[Any]) -> dict[str, dict[tuple[str, str], float]]:
    found: dict[str, dict[tuple[str, str], float]] = {}
    for model in models:
        rows = dm.sql(
            "SELECT profile_id, rule, points FROM score_ledger "
            "WHERE model = ? AND as_of = ? AND points <> 0",
            [model.name, AS_OF],
        )
        found[model.name] = {(str(p), str(r)): float(points) for p, r, points in rows}
    return found


def _check(
    name: str,
    snapshot: dict[str, tuple[float, str | None]],
    ledger: dict[tuple[str, str], float],
    result: Any,
) -> int:
    """AssertionError naming the first differences; the number of profiles checked."""
    if set(snapshot) != set(result.scores):
        only_ours = sorted(set(snapshot) - set(result.scores))[:5]
        only_theirs = sorted(set(result.scores) - set(snapshot))[:5]
        raise AssertionError(f"{name}: profiles differ: {only_ours} vs {only_theirs}")
    differences = [
        (profile, score, band, result.scores[profile], result.bands[profile])
        for profile, (score, band) in snapshot.items()
        if abs(score - result.scores[profile]) > TOLERANCE or band != result.bands[profile]
    ]
    if differences:
        raise AssertionError(
            f"{name}: {len(differences)} profiles differ (profile, clientela score and band, "
            f"Python score and band): {differences[:5]}"
        )
    lines = {key: points for key, points in result.lines.items() if points != 0}
    line_differences = [
        (key, ledger.get(key), lines.get(key))
        for key in set(ledger) | set(lines)
        if key not in ledger or key not in lines or abs(ledger[key] - lines[key]) > TOLERANCE
    ]
    if line_differences:
        raise AssertionError(
            f"{name}: {len(line_differences)} ledger lines differ ((profile, rule), clientela, "
            f"Python): {sorted(line_differences, key=str)[:5]}"
        )
    _log(f"    {name}: {len(snapshot):,} scores, bands and {len(ledger):,} ledger lines agree")
    return len(snapshot)


if __name__ == "__main__":
    child_main(
        {
            "generate": generate,
            "history": history,
            "score": score,
            "rerun": rerun,
            "slice": make_slice,
            "compare": compare,
        }
    )
