"""A small synthetic datamart for campaign tests, written straight into the tables.

:class:`World` describes customers (one profile each unless ``profile`` says otherwise), their
consents, do-not-contact entries, open issues, earlier contacts and rule scores; ``load`` writes
them with ``bulk_insert`` on any backend.  Campaigns are written as YAML text.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from clientela.campaigns.definition import Campaign, parse_campaign_text
from clientela.datamart import Datamart

AS_OF = dt.date(2026, 3, 1)
RECORDED = dt.datetime(2025, 1, 1, 12, 0)


@dataclass
class Person:
    customer_id: str
    email: str | None = None
    phone: str | None = None
    birth_date: dt.date | None = dt.date(1980, 1, 1)
    region: str = "North"
    profile: str | None = None
    address: str | None = "1 High Street"
    postal_code: str | None = "AB1 2CD"


@dataclass
class World:
    people: list[Person] = field(default_factory=list)
    consents: list[tuple[str, str, str, str | None, dt.datetime]] = field(default_factory=list)
    do_not_contact: list[tuple[str, str]] = field(default_factory=list)
    issues: list[tuple[str, str]] = field(default_factory=list)  # (customer, kind) open
    contacts: list[tuple[str, str, str, dt.date]] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)

    def person(self, customer_id: str, **kwargs: Any) -> Person:
        kwargs.setdefault("email", f"{customer_id.lower()}@example.com")
        kwargs.setdefault("phone", "+4470000" + "".join(c for c in customer_id if c.isdigit()))
        found = Person(customer_id, **kwargs)
        self.people.append(found)
        return found

    def opt(self, customer_id: str, channel: str, status: str = "opt_in", **kw: Any) -> None:
        self.consents.append(
            (
                customer_id,
                channel,
                status,
                kw.get("purpose", "marketing"),
                kw.get("at", RECORDED),
            )
        )

    def load(self, dm: Datamart) -> None:
        def table(rows: list[dict[str, Any]], schema: dict[str, pa.DataType]) -> pa.Table:
            return pa.Table.from_pylist(rows, schema=pa.schema(schema))

        dm.bulk_insert(
            "customers",
            table(
                [
                    {
                        "customer_id": p.customer_id,
                        "kind": "person",
                        "name": f"Customer {p.customer_id}",
                        "email": p.email,
                        "phone": p.phone,
                        "birth_date": p.birth_date,
                        "region": p.region,
                        "address": p.address,
                        "postal_code": p.postal_code,
                        "created_at": dt.datetime(2020, 1, 1),
                    }
                    for p in self.people
                ],
                {
                    "customer_id": pa.string(),
                    "kind": pa.string(),
                    "name": pa.string(),
                    "email": pa.string(),
                    "phone": pa.string(),
                    "birth_date": pa.date32(),
                    "region": pa.string(),
                    "address": pa.string(),
                    "postal_code": pa.string(),
                    "created_at": pa.timestamp("us"),
                },
            ),
        )
        dm.bulk_insert(
            "identity",
            table(
                [
                    {
                        "customer_id": p.customer_id,
                        "profile_id": p.profile or p.customer_id,
                        "updated_at": dt.datetime(2020, 1, 1),
                    }
                    for p in self.people
                ],
                {
                    "customer_id": pa.string(),
                    "profile_id": pa.string(),
                    "updated_at": pa.timestamp("us"),
                },
            ),
        )
        dm.bulk_insert(
            "consents",
            table(
                [
                    {
                        "consent_id": f"G{i}",
                        "customer_id": c,
                        "channel": ch,
                        "purpose": purpose,
                        "status": status,
                        "recorded_at": at,
                    }
                    for i, (c, ch, status, purpose, at) in enumerate(self.consents)
                ],
                {
                    "consent_id": pa.string(),
                    "customer_id": pa.string(),
                    "channel": pa.string(),
                    "purpose": pa.string(),
                    "status": pa.string(),
                    "recorded_at": pa.timestamp("us"),
                },
            ),
        )
        dm.bulk_insert(
            "do_not_contact",
            table(
                [
                    {"entry_id": f"N{i}", "kind": kind, "value": value, "list_name": "robinson"}
                    for i, (kind, value) in enumerate(self.do_not_contact)
                ],
                {
                    "entry_id": pa.string(),
                    "kind": pa.string(),
                    "value": pa.string(),
                    "list_name": pa.string(),
                },
            ),
        )
        dm.bulk_insert(
            "interactions",
            table(
                [
                    {
                        "interaction_id": f"I{i}",
                        "customer_id": c,
                        "occurred_at": dt.datetime(2026, 2, 1),
                        "kind": kind,
                        "status": "open",
                    }
                    for i, (c, kind) in enumerate(self.issues)
                ],
                {
                    "interaction_id": pa.string(),
                    "customer_id": pa.string(),
                    "occurred_at": pa.timestamp("us"),
                    "kind": pa.string(),
                    "status": pa.string(),
                },
            ),
        )
        dm.bulk_insert(
            "contact_history",
            table(
                [
                    {
                        "contact_id": f"H{i}",
                        "run_id": "old",
                        "campaign": campaign,
                        "version": 1,
                        "profile_id": profile,
                        "customer_id": profile,
                        "channel": channel,
                        "status": "planned",
                        "group_name": "target",
                        "planned_for": day,
                    }
                    for i, (campaign, profile, channel, day) in enumerate(self.contacts)
                ],
                {
                    "contact_id": pa.string(),
                    "run_id": pa.string(),
                    "campaign": pa.string(),
                    "version": pa.int64(),
                    "profile_id": pa.string(),
                    "customer_id": pa.string(),
                    "channel": pa.string(),
                    "status": pa.string(),
                    "group_name": pa.string(),
                    "planned_for": pa.date32(),
                },
            ),
        )
        dm.bulk_insert(
            "score_snapshots",
            table(
                [
                    {
                        "model": "engage",
                        "as_of": AS_OF - dt.timedelta(days=1),
                        "profile_id": profile,
                        "version": 1,
                        "run_id": "S1",
                        "score": score,
                        "band": "any",
                    }
                    for profile, score in self.scores.items()
                ],
                {
                    "model": pa.string(),
                    "as_of": pa.date32(),
                    "profile_id": pa.string(),
                    "version": pa.int64(),
                    "run_id": pa.string(),
                    "score": pa.float64(),
                    "band": pa.string(),
                },
            ),
        )


def email_world(count: int) -> World:
    """``count`` people, C01 onwards, each opted in to e-mail."""
    world = World()
    for i in range(1, count + 1):
        world.person(f"C{i:02d}")
        world.opt(f"C{i:02d}", "email")
    return world


def campaign(text: str, source: Path | None = None) -> Campaign:
    """A campaign from YAML text (dedented)."""
    import textwrap

    return parse_campaign_text(textwrap.dedent(text).strip() + "\n", source=source)


def rows(dm: Datamart, query: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    return dm.records(query, params)


def funnel_adds_up(funnel: list[Any]) -> None:
    """Every step's count is the previous one minus what it removed."""
    for before, step in itertools.pairwise(funnel):
        assert step.customers == before.customers - step.removed, (before, step)


@pytest.fixture(scope="session")
def campaign_demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A DuckDB datamart holding a small demo company (read it; copy it to change it)."""
    from clientela.config import Settings
    from clientela.datamart import connect
    from clientela.demo import build_demo

    settings = Settings(db=str(tmp_path_factory.mktemp("campaign_demo") / "demo.duckdb"))
    with connect(settings) as dm:
        build_demo(dm, settings, customers=400, seed=3)
    return settings.db


@pytest.fixture
def demo_copy(campaign_demo_db: str, tmp_path: Path) -> Path:
    """A copy of the demo datamart that a test may change."""
    target = tmp_path / "demo.duckdb"
    target.write_bytes(Path(campaign_demo_db).read_bytes())
    return target
