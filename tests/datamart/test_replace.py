"""Replacing a slice of an indexed table (a model's scores of one date): the rows both hold are
updated, the keys that are gone deleted, the new ones inserted, the other slices untouched."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from clientela.datamart import Datamart
from clientela.datamart.replace import replace_slice

DAY, OTHER_DAY = dt.date(2026, 1, 1), dt.date(2026, 1, 8)


def _scores(profiles: dict[str, float], day: dt.date, version: int) -> pa.Table:
    return pa.table(
        {
            "model": ["m"] * len(profiles),
            "version": pa.array([version] * len(profiles), pa.int64()),
            "as_of": pa.array([day] * len(profiles), pa.date32()),
            "profile_id": list(profiles),
            "probability": pa.array(list(profiles.values()), pa.float64()),
            "decile": pa.array([1] * len(profiles), pa.int64()),
            "reasons": ["[]"] * len(profiles),
        }
    )


def _stored(dm: Datamart, day: dt.date) -> dict[str, tuple[float, int]]:
    rows = dm.sql(
        "SELECT profile_id, probability, version FROM predictive_scores WHERE as_of = ?", [day]
    )
    return {str(p): (float(s), int(v)) for p, s, v in rows}


def test_a_slice_replaced_in_place(datamart: Datamart) -> None:
    where = {"model": "m", "as_of": DAY}
    first = {"a": 0.1, "b": 0.2, "c": 0.3}
    datamart.bulk_insert("predictive_scores", _scores({"a": 0.9, "z": 0.5}, OTHER_DAY, 1))
    datamart.create_table("_new", datamart.table("predictive_scores").schema(), temp=True)
    # The first run of the date: the rows are inserted.
    datamart.bulk_insert("_new", _scores(first, DAY, 1))
    replace_slice(datamart, "predictive_scores", where, "_new", "profile_id")
    assert _stored(datamart, DAY) == {p: (s, 1) for p, s in first.items()}

    # The rerun: b changes, c is gone, d is new; the version is a constant of the new rows.
    datamart.sql("DELETE FROM _new")
    datamart.bulk_insert("_new", _scores({"a": 0.1, "b": 0.7, "d": 0.4}, OTHER_DAY, 9))
    with datamart.transaction():
        replace_slice(datamart, "predictive_scores", where, "_new", "profile_id", {"version": 2})
    assert _stored(datamart, DAY) == {"a": (0.1, 2), "b": (0.7, 2), "d": (0.4, 2)}
    assert _stored(datamart, OTHER_DAY) == {"a": (0.9, 1), "z": (0.5, 1)}
    # An empty replacement empties the slice.
    datamart.sql("DELETE FROM _new")
    replace_slice(datamart, "predictive_scores", where, "_new", "profile_id")
    assert _stored(datamart, DAY) == {}
    assert len(_stored(datamart, OTHER_DAY)) == 2
