"""What a customer's behaviour rules counted: the events (interactions, transactions, social
signals) behind each implicit rule's line, one unit each, with the points it earned.

Computed for one profile from the datamart as it is now, with the model version of the score
being explained: the units of a rule add up to its ledger line (before the rule's
``max_points``), unless rows of that profile were loaded after the run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis

from clientela.datamart import Datamart
from clientela.datamart.schema import DATA_TABLES
from clientela.scoring._activity import (
    counted_units,
    profile_activity,
    property_column,
    tested_columns,
)
from clientela.scoring.definition import ACTIVITY_TABLES, ScoringModel

__all__ = ["CountedUnit", "counted_for"]

_PROPERTY = property_column("")


@dataclass(frozen=True)
class CountedUnit:
    """A unit a behaviour rule counted: a row (or, for a rule that counts once per object, per
    day or per period, the newest row of the unit) and what it earned."""

    rule: str
    table: str
    row_id: str
    occurred_at: dt.datetime
    kind: str | None  # the row's type: event type, interaction or transaction kind
    details: dict[str, str | None]  # what the rule tests and counts once per, by name
    occurrences: int  # rows the unit counts for (a day's rows up to max_per_day, ...)
    weight: float | None  # its decay factor; None for a count window's rows
    points: float | None  # occurrences x weight x the rule's points; None for a count window


def _members(dm: Datamart, profile_id: str) -> list[str]:
    """The customers of a profile: its identity members, or itself when unify has not seen it."""
    members = [
        str(row[0])
        for row in dm.sql("SELECT customer_id FROM identity WHERE profile_id = ?", [profile_id])
    ]
    return members or [profile_id]


def _label(column: str) -> str:
    if column.startswith(_PROPERTY):
        return "properties." + column.removeprefix(_PROPERTY)
    return column


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _number(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def counted_for(
    dm: Datamart, model: ScoringModel, profile_id: str, as_of: dt.date
) -> tuple[CountedUnit, ...]:
    """Every unit the behaviour rules of ``model`` counted for ``profile_id`` as of ``as_of``,
    by rule (in the model's order), newest first."""
    implicit = [rule for rule in model.rules if rule.activity is not None]
    if not implicit:
        return ()
    customers = _members(dm, profile_id)
    found: list[CountedUnit] = []
    by_table = {rule.activity.table for rule in implicit if rule.activity is not None}
    rows_of = {
        table_name: profile_activity(
            table_name,
            dm.table(table_name),
            profile_id,
            customers,
            [r for r in implicit if r.activity and r.activity.table == table_name],
            as_of,
            dm.json_text,
        )
        for table_name in sorted(by_table)
    }
    for rule in implicit:
        assert rule.activity is not None
        table_name = rule.activity.table
        key = DATA_TABLES[table_name].key
        kind = ACTIVITY_TABLES[table_name]
        details = tested_columns(rule, table_name)
        keep = list(dict.fromkeys([key, kind, *details]))
        units = counted_units(rule, rows_of[table_name], table_name, as_of, model.decay, keep)
        newest_first = units.order_by(ibis.desc(units._at), units[key])
        # Read as records: a constant weight is a decimal literal on PostgreSQL.
        for record in dm.records(dm.compile(newest_first)):
            found.append(
                CountedUnit(
                    rule=rule.name,
                    table=table_name,
                    row_id=str(record[key]),
                    occurred_at=record["_at"],
                    kind=_text(record[kind]),
                    details={_label(c): _text(record[c]) for c in details},
                    occurrences=int(record["occurrences"]),
                    weight=_number(record["weight"]),
                    points=_number(record["points"]),
                )
            )
    return tuple(found)
