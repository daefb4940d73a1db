"""Rule-based scoring use cases: run a model (a dated snapshot), score some profiles live, show
and explain a profile's score, its history, and manual adjustments.

A run materialises, in temporary tables, the behaviour rows the model reads (once per table),
then the ledger, then scores and bands; it replaces the snapshot, ledger and band changes of
the same model and as-of date in one transaction, so a rerun or a back-fill is idempotent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.backends import quote
from clientela.datamart.ingest.identity import with_profile
from clientela.datamart.replace import replace_slice
from clientela.errors import DataError
from clientela.progress import NO_PROGRESS, Progress
from clientela.scoring._activity import activity_rows, pack_flags, unpack_flags
from clientela.scoring._batched import Materialize
from clientela.scoring._facts import profiles
from clientela.scoring.definition import ScoringModel
from clientela.scoring.engine import (
    LEDGER_SCHEMA,
    assign_bands,
    band_changes,
    implicit_lines,
    score_ledger,
    totals,
)
from clientela.services._score_models import (
    get_model,
    list_models,
    register_model,
    validate_against_datamart,
)
from clientela.services._segment_base import facts_for
from clientela.services._summary import default_as_of

__all__ = [
    "ProfileScores",
    "RuleStat",
    "ScoreRun",
    "backfill",
    "backfill_scores",
    "get_model",
    "list_models",
    "register_model",
    "run_model",
    "run_models",
    "score_profiles",
]

log = logging.getLogger(__name__)

_RESULT = "_score_result_work"
_FACTS = "_score_facts"
_ONLY = "_score_only_profiles"


@dataclass(frozen=True)
class RuleStat:
    """How many profiles a rule gave points to in a run, and how many points in all."""

    rule: str
    profiles: int
    points: float


@dataclass(frozen=True)
class ScoreRun:
    run_id: str
    model: str
    version: int
    as_of: dt.date
    profiles: int
    scored: int
    bands: dict[str, int]
    band_changes: int
    rules: tuple[RuleStat, ...]
    warnings: tuple[str, ...]
    seconds: float


@dataclass(frozen=True)
class ProfileScores:
    """Scores computed live (nothing written): one row per requested profile, and the ledger."""

    model: str
    version: int
    as_of: dt.date
    scores: pa.Table  # profile_id, score, band
    ledger: pa.Table  # profile_id, rule, rule_group, points, matched, evidence


def _previous_snapshot(dm: Datamart, model: str, as_of: dt.date) -> ir.Table | None:
    rows = dm.sql(
        "SELECT max(as_of) FROM score_snapshots WHERE model = ? AND as_of < ?", [model, as_of]
    )
    previous = rows[0][0] if rows else None
    if previous is None:
        return None
    snapshots = dm.table("score_snapshots")
    chosen = snapshots.filter(
        (snapshots.model == model) & (snapshots.as_of == ibis.literal(previous, type="date"))
    )
    return chosen.select("profile_id", "band")


def _restrict(dm: Datamart, only: Sequence[str] | None) -> ir.Table | None:
    if only is None:
        return None
    dm.drop_table(_ONLY)
    dm.create_table(_ONLY, ibis.schema({"profile_id": "string"}), temp=True)
    dm.bulk_insert(_ONLY, pa.table({"profile_id": pa.array(list(only), pa.string())}))
    return dm.temp_table(_ONLY)


def _activities(
    dm: Datamart,
    models: Sequence[ScoringModel],
    as_of: dt.date,
    restrict: ir.Table | None,
    advance: Callable[[], None],
) -> dict[str, ir.Table]:
    """The behaviour rows every rule of ``models`` may count, one temporary table per behaviour
    table: the large tables are read, and their JSON parsed, once for all the models."""
    identity = dm.table("identity")
    implicit = [rule for model in models for rule in model.rules if rule.activity is not None]
    activities: dict[str, ir.Table] = {}
    for table_name in sorted({rule.activity.table for rule in implicit if rule.activity}):
        rules = [r for r in implicit if r.activity and r.activity.table == table_name]
        rows = activity_rows(table_name, dm.table(table_name), identity, rules, as_of, dm.json_text)
        if restrict is not None:
            rows = rows.semi_join(restrict, rows.profile_id == restrict.profile_id)
        packed, layout = pack_flags(rows)
        temp = f"_score_activity_{table_name}"
        dm.create_table_as(temp, packed, temp=True)
        activities[table_name] = unpack_flags(dm.temp_table(temp), layout)
        advance()
    return activities


def _materializer(dm: Datamart, prefix: str, created: list[str]) -> Materialize:
    """Writes an expression to a new temporary table (its name appended to ``created``)."""

    def materialize(expr: ir.Table) -> ir.Table:
        # Created from the expression's schema, so that the types stay what the engine built
        # (a CREATE TABLE AS would make an int64 literal an INTEGER column).
        name = f"{prefix}_{len(created)}"
        dm.drop_table(name)
        dm.create_table(name, expr.schema(), temp=True)
        _insert(dm, name, expr)
        created.append(name)
        return dm.temp_table(name)

    return materialize


def _drop(dm: Datamart, names: list[str]) -> None:
    for name in names:
        dm.drop_table(name)
    names.clear()


def _drop_activities(dm: Datamart, activities: dict[str, ir.Table]) -> None:
    for name in activities:
        dm.drop_table(f"_score_activity_{name}")


def _compute(
    dm: Datamart,
    settings: Settings,
    model: ScoringModel,
    activities: dict[str, ir.Table],
    as_of: dt.date,
    restrict: ir.Table | None,
    implicit: Mapping[str, ir.Table] | None = None,
    facts: ir.Table | None = None,
) -> tuple[ir.Table, list[str]]:
    """Fill the temporary table ``_RESULT`` for ``model`` as of ``as_of`` (``implicit``: its
    behaviour rules' lines, and ``facts``, what its explicit rules test, when computed with
    other models'); return the ledger, read from temporary tables, and their names, to drop
    once the ledger has been read.

    The ledger is the rules' lines plus the few lines of caps, adjustments and limits, each
    written once: a run at 1 million customers has millions of lines per model."""
    identity = dm.table("identity")
    customers = dm.table("customers")
    if facts is None:
        facts = _facts(dm, settings, [model], as_of)
    adjustments: ir.Table | None = None
    if dm.sql("SELECT 1 FROM score_adjustments WHERE model = ? LIMIT 1", [model.name]):
        adjustments = _adjustments(dm.table("score_adjustments"), identity)
    if restrict is not None:
        facts = facts.semi_join(restrict, facts.profile_id == restrict.profile_id)
        if adjustments is not None:
            adjustments = adjustments.semi_join(
                restrict, adjustments.profile_id == restrict.profile_id
            )
    cached: list[str] = []
    materialize = _materializer(dm, "_score_part", cached)
    ledger = score_ledger(model, facts, activities, adjustments, as_of, materialize, implicit)

    universe = profiles(customers, identity).select("profile_id")
    if restrict is not None:
        universe = restrict.select("profile_id").distinct()
    scored = totals(ledger, universe)
    banded = assign_bands(model, scored, _previous_snapshot(dm, model.name, as_of))
    dm.create_table_as(_RESULT, banded, temp=True)
    return ledger, cached


def _facts(
    dm: Datamart, settings: Settings, models: Sequence[ScoringModel], as_of: dt.date
) -> ir.Table:
    """Per profile, the fields and third-party attributes the explicit rules of ``models``
    test."""
    fields = list(dict.fromkeys(f for model in models for f in model.fields()))
    attributes = list(dict.fromkeys(a for model in models for a in model.attributes()))
    return facts_for(dm, settings, fields, attributes, as_of)


def _adjustments(stored: ir.Table, identity: ir.Table) -> ir.Table:
    """Manual adjustments, each on the profile its customer belongs to now: one made before a
    merge follows the customer into the merged profile."""
    moved = with_profile(stored.rename(_adjusted="profile_id"), identity, column="_adjusted")
    return moved.drop("_adjusted")


def _insert(dm: Datamart, table: str, expr: ir.Table) -> None:
    columns = ", ".join(quote(c) for c in expr.columns)
    dm.sql(f"INSERT INTO {quote(table)} ({columns}) {dm.compile(expr)}")


def run_model(
    dm: Datamart,
    settings: Settings,
    model: str | ScoringModel,
    as_of: dt.date | None = None,
    progress: Progress = NO_PROGRESS,
) -> ScoreRun:
    """Score every profile as of ``as_of`` and store the dated snapshot, ledger and band changes
    (replacing an earlier run of the same model and date)."""
    return run_models(dm, settings, [model], as_of, progress)[0]


def run_models(
    dm: Datamart,
    settings: Settings,
    models: Sequence[str | ScoringModel],
    as_of: dt.date | None = None,
    progress: Progress = NO_PROGRESS,
) -> list[ScoreRun]:
    """Run several models as of the same date (a day's scoring), reading the behaviour tables
    once for all of them; each model's run is stored as :func:`run_model` stores it.  A run's
    ``seconds`` include an equal share of the shared reading."""
    chosen = [get_model(dm, m) if isinstance(m, str) else m for m in models]
    for model in chosen:
        validate_against_datamart(dm, model)
    as_of = as_of or default_as_of(dm)
    names = ", ".join(m.name for m in chosen)
    tables = {r.activity.table for m in chosen for r in m.rules if r.activity is not None}
    runs: list[ScoreRun] = []
    with progress.task(
        f"scoring {names} as of {as_of}", total=len(tables) + 2 * len(chosen)
    ) as task:
        started = time.perf_counter()
        activities = _activities(dm, chosen, as_of, None, task.advance)
        levels: list[str] = []
        implicit = implicit_lines(
            chosen, activities, as_of, _materializer(dm, "_score_level", levels)
        )
        # The behaviour rows are the largest tables of the run and every model's lines are
        # written: dropped now, they leave the models' queries the memory.
        _drop_activities(dm, activities)
        # What the explicit rules test (fields, derived fields, third-party attributes), read
        # once for the models.
        dm.create_table_as(_FACTS, _facts(dm, settings, chosen, as_of), temp=True)
        facts = dm.temp_table(_FACTS)
        shared = (time.perf_counter() - started) / max(len(chosen), 1)
        for model in chosen:
            started = time.perf_counter()
            ledger, cached = _compute(
                dm, settings, model, activities, as_of, None, implicit[model.name], facts
            )
            task.advance()
            run = _store(dm, model, as_of, ledger)
            _drop(dm, cached)
            task.advance()
            seconds = round(time.perf_counter() - started + shared, 3)
            runs.append(dataclasses.replace(run, seconds=seconds))
        _drop(dm, levels)
        dm.drop_table(_FACTS)
    return runs


def _store(dm: Datamart, chosen: ScoringModel, as_of: dt.date, ledger: ir.Table) -> ScoreRun:
    """Write the run in ``_RESULT`` and ``ledger`` as the model's snapshot of ``as_of``."""
    started = _utcnow()
    run_id = uuid.uuid4().hex
    result = dm.temp_table(_RESULT)
    literal = {
        "model": ibis.literal(chosen.name),
        "as_of": ibis.literal(as_of, type="date"),
    }
    lines = ledger.select(
        literal["model"].name("model"),
        literal["as_of"].name("as_of"),
        "profile_id",
        "rule",
        "rule_group",
        "points",
        "matched",
        "evidence",
    )
    changes = band_changes(chosen, result)
    changes = changes.select(
        literal["model"].name("model"),
        literal["as_of"].name("as_of"),
        "profile_id",
        "from_band",
        "to_band",
        "direction",
        "score",
        run_id=ibis.literal(run_id),
    )
    with dm.transaction():
        for table in ("score_ledger", "score_band_changes", "score_runs"):
            dm.sql(
                f"DELETE FROM {quote(table)} WHERE model = ? AND as_of = ?", [chosen.name, as_of]
            )
        # A rerun of the date updates the stored snapshot in place (see replace_slice).
        where = {"model": chosen.name, "as_of": as_of}
        constants = {"version": chosen.version, "run_id": run_id}
        replace_slice(dm, "score_snapshots", where, _RESULT, "profile_id", constants)
        _insert(dm, "score_ledger", lines)
        _insert(dm, "score_band_changes", changes)
        counts = dm.sql(
            f"SELECT count(*), sum(CASE WHEN score <> 0 THEN 1 ELSE 0 END) FROM {quote(_RESULT)}"
        )[0]
        changed = dm.sql(
            "SELECT count(*) FROM score_band_changes WHERE model = ? AND as_of = ?",
            [chosen.name, as_of],
        )[0][0]
        dm.sql(
            "INSERT INTO score_runs (run_id, model, version, as_of, started_at, finished_at, "
            "profiles, scored, band_changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                chosen.name,
                chosen.version,
                as_of,
                started,
                _utcnow(),
                int(counts[0] or 0),
                int(counts[1] or 0),
                int(changed or 0),
            ],
        )
    bands = {
        str(band): int(n)
        for band, n in dm.sql(
            f"SELECT band, count(*) FROM {quote(_RESULT)} GROUP BY band ORDER BY band"
        )
        if band is not None
    }
    stats = _rule_stats(dm, chosen, ledger)
    warnings = _warnings(chosen, stats, int(counts[0] or 0))
    for warning in warnings:
        log.warning("%s", warning)
    dm.drop_table(_RESULT)
    return ScoreRun(
        run_id=run_id,
        model=chosen.name,
        version=chosen.version,
        as_of=as_of,
        profiles=int(counts[0] or 0),
        scored=int(counts[1] or 0),
        bands={b.name: bands.get(b.name, 0) for b in chosen.bands} or bands,
        band_changes=int(changed or 0),
        rules=stats,
        warnings=warnings,
        seconds=0.0,
    )


def _rule_stats(dm: Datamart, model: ScoringModel, ledger: ir.Table) -> tuple[RuleStat, ...]:
    # A profile has one line per rule, cap and limit (a plain count), but may have several
    # manual adjustments (only those need a count of distinct profiles).
    lines = f"({dm.compile(ledger)}) AS ledger"
    rows = dm.sql(
        f"SELECT rule, count(*), sum(points) FROM {lines} WHERE rule <> 'manual' GROUP BY rule "
        f"UNION ALL SELECT rule, count(DISTINCT profile_id), sum(points) FROM {lines} "
        "WHERE rule = 'manual' GROUP BY rule"
    )
    found = {str(rule): (int(n), float(points or 0)) for rule, n, points in rows}
    stats = [RuleStat(r.name, *found.pop(r.name, (0, 0.0))) for r in model.rules]
    stats.extend(RuleStat(name, n, points) for name, (n, points) in sorted(found.items()))
    return tuple(stats)


def _warnings(model: ScoringModel, stats: Sequence[RuleStat], profiles: int) -> tuple[str, ...]:
    rule_names = {r.name for r in model.rules}
    rule_stats = [s for s in stats if s.rule in rule_names]
    if profiles == 0:
        return (f"model '{model.name}' scored no profiles: the datamart has no customers",)
    if all(s.profiles == 0 for s in rule_stats):
        return (
            f"model '{model.name}' matched nobody: none of its {len(rule_stats)} rules gave "
            f"points to any of the {profiles} profiles; check the fields, attributes, event "
            "types and the as-of date",
        )
    silent = [s.rule for s in rule_stats if s.profiles == 0]
    if silent:
        return (f"rules that matched nobody: {', '.join(silent)}",)
    return ()


def backfill(
    dm: Datamart,
    settings: Settings,
    model: str,
    start: dt.date,
    end: dt.date,
    every_days: int = 7,
    progress: Progress = NO_PROGRESS,
) -> list[ScoreRun]:
    """Run ``model`` as of ``start``, ``start + every_days``... up to ``end``, in date order, so
    that bands with history (hysteresis, no moving down) follow each other."""
    if end < start:
        raise DataError(f"the back-fill ends ({end}) before it starts ({start})", value=str(end))
    if every_days < 1:
        raise DataError(f"--every must be 1 or more days, got {every_days}", value=every_days)
    chosen = get_model(dm, model)
    runs = []
    day = start
    while day <= end:
        runs.append(run_model(dm, settings, chosen, day, progress))
        day += dt.timedelta(days=every_days)
    return runs


def score_profiles(
    dm: Datamart,
    settings: Settings,
    model: str | ScoringModel,
    *,
    as_of: dt.date | None = None,
    profiles: Sequence[str] | None = None,
    progress: Progress = NO_PROGRESS,
) -> ProfileScores:
    """Score ``profiles`` (every profile when None) live, writing nothing to the datamart."""
    chosen = get_model(dm, model) if isinstance(model, str) else model
    as_of = as_of or default_as_of(dm)
    tables = {r.activity.table for r in chosen.rules if r.activity is not None}
    with progress.task(f"scoring {chosen.name} as of {as_of}", total=len(tables) + 1) as task:
        restrict = _restrict(dm, profiles)
        activities = _activities(dm, [chosen], as_of, restrict, task.advance)
        lines, cached = _compute(dm, settings, chosen, activities, as_of, restrict)
        _drop_activities(dm, activities)
        task.advance()
    result = dm.temp_table(_RESULT)
    scores = dm.to_pyarrow(result.select("profile_id", "score", "band").order_by("profile_id"))
    ledger = dm.to_pyarrow(lines.order_by(["profile_id", ibis.desc("points"), "rule"]))
    # DuckDB sums integers as HUGEINT, which would reach Python as Decimal.
    ledger = ledger.cast(LEDGER_SCHEMA.to_pyarrow())
    _drop(dm, cached)
    for temp in (_RESULT, _ONLY):
        dm.drop_table(temp)
    return ProfileScores(chosen.name, chosen.version, as_of, scores, ledger)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# The name the package's public API uses (``clientela.backfill_scores``).
backfill_scores = backfill
