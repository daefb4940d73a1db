"""Small hand-built datamarts for the scoring tests, and a model scored live in one call."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.schema import spec
from clientela.scoring import parse_model_text
from clientela.scoring.engine import LEDGER_SCHEMA
from clientela.services.scoring import register_model, score_profiles

AS_OF = dt.date(2026, 6, 1)
CUTOFF = dt.datetime(2026, 6, 1)  # scores as of AS_OF count what happened before this instant

_ids = itertools.count(1)


def ago(days: float = 0, *, hours: float = 0, seconds: float = 0) -> dt.datetime:
    """The moment ``days`` (and hours, seconds) before the start of AS_OF."""
    return CUTOFF - dt.timedelta(days=days, hours=hours, seconds=seconds)


def insert(dm: Datamart, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append rows (dicts of column values; absent columns are NULL) to a datamart table.

    The key column is filled with fresh ids when the rows do not give it.
    """
    table_spec = spec(table)
    schema = table_spec.schema.to_pyarrow()
    names = [table_spec.key] if table_spec.key not in rows[0] else []
    for row in rows:
        names.extend(name for name in row if name not in names)
    columns = {}
    for name in names:
        if name == table_spec.key and name not in rows[0]:
            values: list[Any] = [f"{table[:2]}{next(_ids):06d}" for _ in rows]
        else:
            values = [row.get(name) for row in rows]
        columns[name] = pa.array(values, schema.field(name).type)
    dm.bulk_insert(table, pa.table(columns))


def customers(dm: Datamart, *ids: str, **columns: Mapping[str, Any]) -> None:
    """Customers ``ids``; ``columns`` maps a column to {customer id: value}."""
    insert(
        dm,
        "customers",
        [
            {"customer_id": cid, **{c: values.get(cid) for c, values in columns.items()}}
            for cid in ids
        ],
    )


def events(dm: Datamart, customer: str | None, *rows: tuple[Any, ...]) -> None:
    """Events of one customer, each ``(event_type, occurred_at[, object_id[, properties]])``."""
    insert(
        dm,
        "events",
        [
            {
                "customer_id": customer,
                "event_type": row[0],
                "occurred_at": row[1],
                "object_id": row[2] if len(row) > 2 else None,
                "properties": row[3] if len(row) > 3 else None,
            }
            for row in rows
        ],
    )


def attributes(dm: Datamart, values: Mapping[str, Mapping[str, Any]], as_of: Any = None) -> None:
    """Third-party attributes: {customer: {attribute: text value}}, all recorded ``as_of``."""
    insert(
        dm,
        "third_party",
        [
            {"customer_id": c, "attribute": a, "value": v, "as_of": as_of, "source": "test"}
            for c, found in values.items()
            for a, v in found.items()
        ],
    )


@dataclass(frozen=True)
class Scored:
    """A model's scores computed live: per profile, and per (profile, rule) of the ledger."""

    scores: dict[str, float]
    bands: dict[str, str | None]
    lines: dict[tuple[str, str], float]
    matched: dict[tuple[str, str], int]
    evidence: dict[tuple[str, str], str]

    def rule(self, name: str) -> dict[str, float]:
        """The points ``name`` gave, per profile that has a line of it."""
        return {p: points for (p, r), points in self.lines.items() if r == name}


def score(dm: Datamart, settings: Settings, text: str, as_of: dt.date = AS_OF) -> Scored:
    """Register the model written in ``text`` and score every profile live as of ``as_of``."""
    model = register_model(dm, parse_model_text(text))
    result = score_profiles(dm, settings, model, as_of=as_of)
    assert result.ledger.schema == LEDGER_SCHEMA.to_pyarrow()
    lines: dict[tuple[str, str], float] = {}
    matched: dict[tuple[str, str], int] = {}
    evidence: dict[tuple[str, str], str] = {}
    for line in result.ledger.to_pylist():
        key = (str(line["profile_id"]), str(line["rule"]))
        # Manual adjustments may give a profile several lines of one name: they add up.
        lines[key] = lines.get(key, 0.0) + float(line["points"])
        matched[key] = matched.get(key, 0) + int(line["matched"])
        evidence[key] = "; ".join(filter(None, [evidence.get(key), str(line["evidence"])]))
    rows = result.scores.to_pylist()
    scored = Scored(
        scores={r["profile_id"]: float(r["score"]) for r in rows},
        bands={r["profile_id"]: r["band"] for r in rows},
        lines=lines,
        matched=matched,
        evidence=evidence,
    )
    for profile, total in scored.scores.items():
        parts = sum(p for (who, _), p in lines.items() if who == profile)
        assert abs(parts - total) < 1e-6, f"{profile}: score {total} is not the sum {parts}"
    return scored
