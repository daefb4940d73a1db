"""A stored run ranked for sales: its customers by score (or by rise since the run before),
each with its band, the change, the band it moved to in this run and its top reasons.

One set-based query on the snapshot, the run before it, the run's band changes and ledger, and
the customers: the reasons are the three lines of largest points of each customer, pivoted
into columns by conditional aggregates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from clientela.datamart import Datamart
from clientela.errors import DataError, NotFoundError
from clientela.services._score_models import get_model

__all__ = ["REASONS", "Ranking", "ranking", "run_day"]

REASONS = 3  # reasons shown per customer
RankBy = Literal["score", "change"]
Moved = Literal["up", "down", "any"]


@dataclass(frozen=True)
class Ranking:
    """The customers of a model's run as of ``as_of`` that pass the filters, best first."""

    model: str
    version: int
    as_of: dt.date
    previous_as_of: dt.date | None
    profiles: int  # in the run
    selected: int  # passing the filters
    bands: dict[str, int]  # customers per band in the run
    # rank, customer_id, name, account_owner, score, band, previous_score, change, moved,
    # from_band, then reason_1, points_1 ... reason_3, points_3
    customers: pa.Table


def run_day(value: object) -> dt.date:
    """The date of a stored run as the datamart returns it (a date, or a datetime)."""
    if isinstance(value, dt.datetime):
        return value.date()
    assert isinstance(value, dt.date)
    return value


def _run_date(dm: Datamart, model: str, as_of: dt.date | None) -> dt.date:
    if as_of is None:
        newest = dm.sql("SELECT max(as_of) FROM score_runs WHERE model = ?", [model])
        if not newest or newest[0][0] is None:
            raise NotFoundError(
                f"model '{model}' has no stored run: run 'clientela score run --model {model}'"
            )
        return run_day(newest[0][0])
    if not dm.sql("SELECT 1 FROM score_runs WHERE model = ? AND as_of = ?", [model, as_of]):
        dates = [
            str(run_day(r[0]))
            for r in dm.sql(
                "SELECT as_of FROM score_runs WHERE model = ? ORDER BY abs(as_of - ?) LIMIT 3",
                [model, as_of],
            )
        ]
        near = f"; runs on {', '.join(dates)}" if dates else ""
        raise NotFoundError(f"model '{model}' has no run as of {as_of}{near}")
    return as_of


def ranking(
    dm: Datamart,
    model: str,
    as_of: dt.date | None = None,
    *,
    bands: Sequence[str] = (),
    moved: Moved | None = None,
    by: RankBy = "score",
    limit: int | None = 20,
) -> Ranking:
    """The customers of a stored run of ``model`` (the newest unless ``as_of``), best first by
    score (or by rise since the run before, ``by="change"``), each with its band, change and
    top reasons: the list handed to sales.  ``bands`` keeps those bands; ``moved`` keeps the
    customers whose band went ``up`` (or was entered), ``down`` or ``any`` way in this run;
    ``limit`` how many (None: all)."""
    scoring = get_model(dm, model)
    unknown = [b for b in bands if b not in {band.name for band in scoring.bands}]
    if unknown:
        known = ", ".join(band.name for band in scoring.bands) or "none"
        raise DataError(f"model '{scoring.name}' has no band {', '.join(unknown)} (bands: {known})")
    day = _run_date(dm, scoring.name, as_of)
    version_rows = dm.sql(
        "SELECT version FROM score_runs WHERE model = ? AND as_of = ?", [scoring.name, day]
    )
    previous = dm.sql(
        "SELECT max(as_of) FROM score_runs WHERE model = ? AND as_of < ?", [scoring.name, day]
    )[0][0]
    previous_day = run_day(previous) if previous is not None else None
    if by == "change" and previous_day is None:
        raise DataError(
            f"model '{scoring.name}' has no run before {day}: there is no change to rank by"
        )

    snapshots = dm.table("score_snapshots")
    run = snapshots.filter(_of(snapshots, scoring.name, day))
    counted = dm.to_pyarrow(run.group_by("band").aggregate(n=run.count())).to_pylist()
    band_counts = {str(r["band"]): int(r["n"]) for r in counted if r["band"] is not None}
    profiles = sum(int(r["n"]) for r in counted)

    rows = _ranked_rows(dm, scoring.name, day, previous_day, run, bands, moved)
    selected = int(dm.to_pyarrow(rows.aggregate(n=rows.count())).column("n")[0].as_py())
    chosen = rows.order_by(*_order(rows, by))
    if limit is not None:
        chosen = chosen.limit(limit)
    chosen = chosen.mutate(rank=ibis.row_number().over(order_by=_order(chosen, by)) + 1)
    with_reasons = _with_reasons(dm.table("score_ledger"), scoring.name, day, chosen)
    ordered = with_reasons.order_by("rank").select(
        "rank",
        "customer_id",
        "name",
        "account_owner",
        "score",
        "band",
        "previous_score",
        "change",
        "moved",
        "from_band",
        *[c for i in range(1, REASONS + 1) for c in (f"reason_{i}", f"points_{i}")],
    )
    return Ranking(
        model=scoring.name,
        version=int(version_rows[0][0]),
        as_of=day,
        previous_as_of=previous_day,
        profiles=profiles,
        selected=selected,
        bands={b.name: band_counts.get(b.name, 0) for b in scoring.bands} or band_counts,
        customers=dm.to_pyarrow(ordered),
    )


def _of(table: ir.Table, model: str, day: dt.date) -> ir.BooleanValue:
    return (table.model == model) & (table.as_of == ibis.literal(day, type="date"))


def _order(rows: ir.Table, by: RankBy) -> list[ir.Value]:
    if by == "change":
        return [rows.change.desc(nulls_first=False), rows.score.desc(), rows.customer_id]
    return [rows.score.desc(), rows.customer_id]


def _ranked_rows(
    dm: Datamart,
    model: str,
    day: dt.date,
    previous_day: dt.date | None,
    run: ir.Table,
    bands: Sequence[str],
    moved: Moved | None,
) -> ir.Table:
    snapshots = dm.table("score_snapshots")
    rows = run.select("profile_id", "score", "band")
    if previous_day is not None:
        before = snapshots.filter(_of(snapshots, model, previous_day))
        before = before.select(_before_id=before.profile_id, previous_score=before.score)
        rows = rows.left_join(before, rows.profile_id == before._before_id).drop("_before_id")
    else:
        rows = rows.mutate(previous_score=ibis.null("float64"))
    changes = dm.table("score_band_changes")
    changes = changes.filter(_of(changes, model, day))
    changes = changes.select(
        _changed_id=changes.profile_id, moved=changes.direction, from_band=changes.from_band
    )
    rows = rows.left_join(changes, rows.profile_id == changes._changed_id).drop("_changed_id")
    customers = dm.table("customers").select(
        _customer_id=lambda t: t.customer_id,
        name=lambda t: t.name,
        account_owner=lambda t: t.account_owner,
    )
    rows = rows.left_join(customers, rows.profile_id == customers._customer_id).drop("_customer_id")
    rows = rows.mutate(
        customer_id=rows.profile_id, change=(rows.score - rows.previous_score).round(4)
    )
    if bands:
        rows = rows.filter(rows.band.isin(list(bands)))
    if moved == "any":
        rows = rows.filter(rows.moved.notnull())
    elif moved == "up":
        rows = rows.filter(rows.moved.isin(["up", "entered"]))
    elif moved == "down":
        rows = rows.filter(rows.moved == "down")
    return rows


def _with_reasons(ledger: ir.Table, model: str, day: dt.date, chosen: ir.Table) -> ir.Table:
    """``chosen`` with its customers' largest ``REASONS`` lines as columns ``reason_i`` and
    ``points_i`` (by points, largest first, whatever their sign)."""
    lines = ledger.filter(_of(ledger, model, day), ledger.points != 0)
    lines = lines.semi_join(chosen, lines.profile_id == chosen.profile_id)
    order = ibis.row_number().over(
        group_by=lines.profile_id, order_by=[lines.points.abs().desc(), lines.rule]
    )
    ranked = lines.mutate(_n=order).filter(lambda t: t._n < REASONS)
    pivot = ranked.group_by(_reason_id=ranked.profile_id).aggregate(
        **{
            name: column
            for i in range(REASONS)
            for name, column in (
                (f"reason_{i + 1}", ranked.rule.max(where=ranked._n == i)),
                (f"points_{i + 1}", ranked.points.max(where=ranked._n == i)),
            )
        }
    )
    joined = chosen.left_join(pivot, chosen.profile_id == pivot._reason_id)
    return joined.drop("_reason_id")
