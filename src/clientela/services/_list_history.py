"""The runs of list scoring kept in the datamart: record one, read the previous, the history.

A list is known by its name (the file stem unless named) and the model that scored it; its runs
are rows of ``score_list_runs``, their contacts rows of ``score_list_contacts``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from clientela.datamart import Datamart
from clientela.scoring.lists import ListRun

__all__ = ["list_history", "previous_contacts", "record_run"]

log = logging.getLogger(__name__)


def _runs(dm: Datamart, list_name: str, model: str) -> list[dict[str, Any]]:
    return dm.records(
        "SELECT run_id, scored_at, as_of, version, contacts, matched FROM score_list_runs "
        "WHERE list_name = ? AND model = ? ORDER BY scored_at, run_id",
        [list_name, model],
    )


def previous_contacts(
    dm: Datamart, list_name: str, model: str
) -> tuple[str | None, dict[str, tuple[float | None, str | None]]]:
    """The newest earlier run of the list with the model, and its (score, level) per contact."""
    runs = _runs(dm, list_name, model)
    if not runs:
        return None, {}
    run_id = str(runs[-1]["run_id"])
    rows = dm.records(
        "SELECT contact, score, level FROM score_list_contacts WHERE run_id = ?", [run_id]
    )
    return run_id, {
        str(r["contact"]): (
            None if r["score"] is None else float(r["score"]),
            None if r["level"] is None else str(r["level"]),
        )
        for r in rows
    }


def record_run(
    dm: Datamart,
    *,
    run_id: str,
    list_name: str,
    file: str,
    model: str,
    version: int,
    as_of: dt.date,
    scored_at: dt.datetime,
    contacts: pa.Table,
) -> None:
    """Write the run and every contact of it, in one transaction."""
    status = contacts.column("status")
    matched = int(pc.sum(pc.not_equal(status, "unmatched")).as_py() or 0)
    total = int(contacts.num_rows)
    rows = pa.table(
        {
            "run_id": pa.array([run_id] * total, pa.string()),
            "contact": contacts.column("contact"),
            "email": contacts.column("email"),
            "phone": contacts.column("phone"),
            "profile_id": contacts.column("profile_id"),
            "score": contacts.column("score"),
            "level": contacts.column("level"),
            "reasons": contacts.column("reasons"),
        }
    )
    with dm.transaction():
        dm.sql(
            "INSERT INTO score_list_runs (run_id, list_name, file, model, version, as_of, "
            "scored_at, contacts, matched, unmatched) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, list_name, file, model, version, as_of, scored_at, total, matched,
             total - matched],
        )  # fmt: skip
        dm.bulk_insert("score_list_contacts", rows)
    log.info("recorded list run %s of %s (%d contacts)", run_id, list_name, total)


def list_history(dm: Datamart, list_name: str, model: str) -> tuple[ListRun, ...]:
    """Every run of the list with the model, oldest first, with contacts per level."""
    runs = _runs(dm, list_name, model)
    if not runs:
        return ()
    contacts = dm.table("score_list_contacts")
    ids = [str(r["run_id"]) for r in runs]
    mine = contacts.filter(contacts.run_id.isin(ids))
    per_run = mine.group_by("run_id").aggregate(
        high=(mine.level == "high").sum(),
        medium=(mine.level == "medium").sum(),
        low=(mine.level == "low").sum(),
        mean_score=mine.score.mean(),
    )
    counts = {
        row["run_id"]: row
        for row in dm.to_pyarrow(per_run).to_pylist()  # small: one row per run
    }
    history = []
    for run in runs:
        found = counts.get(run["run_id"], {})
        mean = found.get("mean_score")
        history.append(
            ListRun(
                run_id=str(run["run_id"]),
                scored_at=_moment(run["scored_at"]),
                as_of=_day(run["as_of"]),
                version=int(run["version"]),
                contacts=int(run["contacts"]),
                matched=int(run["matched"]),
                high=int(found.get("high") or 0),
                medium=int(found.get("medium") or 0),
                low=int(found.get("low") or 0),
                mean_score=None if mean is None else float(mean),
            )
        )
    return tuple(history)


def _moment(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _day(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
