"""Phones normalised in worker processes give what the in-process normaliser gives."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa

from clientela.config import Settings
from clientela.datamart import connect, migrate
from clientela.datamart.ingest import ingest_file
from clientela.datamart.ingest._phones import POOL_AFTER, PhonePool
from clientela.datamart.ingest.normalize import normalise_phones


def _phones(count: int, seed: int) -> list[str | None]:
    rng = random.Random(seed)
    out: list[str | None] = []
    for i in range(count):
        style = rng.randrange(8)
        digits = f"{rng.randrange(10**8):08d}"
        if style == 0:
            out.append(None)
        elif style == 1:
            out.append(f"+4479{digits}")  # E.164
        elif style == 2:
            out.append(f"079{digits[:2]} {digits[2:]}")  # national format, default region GB
        elif style == 3:
            out.append(f"00336{digits}")  # international prefix
        elif style == 4:
            out.append(f"+331{digits}")  # Paris fixed line
        elif style == 5:
            out.append(f"12{i}")  # too short: invalid
        elif style == 6:
            out.append("  ")
        else:
            out.append("not a phone")
    return out


def test_the_pool_gives_what_the_normaliser_gives() -> None:
    values = _phones(5_000, seed=1)
    pool = PhonePool("GB", workers=2)
    try:
        pooled = [
            v for i in range(0, len(values), 2048) for v in pool.normalise(values[i : i + 2048])
        ]
    finally:
        pool.close()
    assert pooled == normalise_phones(values, "GB")[0]
    assert any(pooled) and None in pooled


def test_a_load_past_the_pool_threshold_stores_and_rejects_as_in_process(tmp_path: Path) -> None:
    count = POOL_AFTER + 20_000
    phones = _phones(count, seed=2)
    table = pa.table(
        {
            "customer_id": [f"C{i:06d}" for i in range(count)],
            "phone": phones,
        }
    )
    settings = Settings(db=str(tmp_path / "dm.duckdb"))
    dm = connect(settings)
    try:
        migrate(dm)
        report = ingest_file(dm, settings, table, "customers")
        stored = dict(dm.sql("SELECT customer_id, phone FROM customers"))
        rejected = {
            int(line) for (line,) in dm.sql("SELECT line FROM rejects WHERE column_name = 'phone'")
        }
    finally:
        dm.close()
    expected, errors = normalise_phones(phones, "GB")
    invalid = {i + 1 for i, e in enumerate(errors) if e is not None}  # row 1 is line 1
    assert invalid and rejected == invalid
    assert report.rows_rejected == len(invalid)
    for i, phone in enumerate(expected):
        if i + 1 not in invalid:
            assert stored[f"C{i:06d}"] == phone


def test_the_pool_answers_an_empty_vector_and_fewer_values_than_workers() -> None:
    pool = PhonePool("GB", workers=3)
    try:
        assert pool.normalise([]) == []
        assert pool.normalise(["+447911123456"]) == ["+447911123456"]
    finally:
        pool.close()
