"""The versioned datamart schema.

``clientela init`` applies every migration the datamart lacks, in order, each in its own
transaction, and records it in ``schema_migrations``.  A later change to the schema is a new
:class:`Migration` appended to :data:`MIGRATIONS`; released migrations are never edited.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from clientela.datamart.backends import Datamart, quote
from clientela.datamart.schema import (
    BOOKKEEPING,
    CAMPAIGNS,
    DATA_TABLES,
    DERIVED,
    INDEXING,
    PREDICTIVE,
    SCORING,
    SEGMENTS,
)
from clientela.errors import BackendError

__all__ = ["MIGRATIONS", "Migration", "current_version", "migrate", "require_current"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Datamart], None]


# Lookups the datamart answers often: the rows of one customer (the 360-degree profile).
# Loads check keys with set-based joins, which need no index.
_INDEXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("customers", ("customer_id",)),
    ("customers", ("email",)),
    ("customers", ("phone",)),
    ("transactions", ("customer_id",)),
    ("events", ("customer_id",)),
    ("interactions", ("customer_id",)),
    ("third_party", ("customer_id",)),
    ("social", ("customer_id",)),
    ("consents", ("customer_id",)),
    ("cost_to_serve", ("customer_id",)),
    ("referrals", ("referrer_id",)),
    ("do_not_contact", ("value",)),
    ("identity", ("customer_id",)),
    ("identity", ("profile_id",)),
)


# The data tables of the first release; later ones come with their own migration.
_INITIAL_TABLES = (
    "customers",
    "transactions",
    "referrals",
    "cost_to_serve",
    "third_party",
    "events",
    "social",
    "interactions",
    "consents",
    "do_not_contact",
)


def _initial_schema(dm: Datamart) -> None:
    for name in _INITIAL_TABLES:
        dm.create_table(name, DATA_TABLES[name].schema)
    for name, schema in BOOKKEEPING.items():
        dm.create_table(name, schema)
    _create_indexes(dm, _INDEXES)


# A run writes millions of ledger lines; an index on them costs more at commit than it saves
# when one customer's score is explained (a scan of one model and date).
_SCORING_INDEXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("score_snapshots", ("profile_id",)),
    ("score_band_changes", ("profile_id",)),
    ("score_adjustments", ("profile_id",)),
)


def _scoring(dm: Datamart) -> None:
    for name, schema in SCORING.items():
        dm.create_table(name, schema)
    _create_indexes(dm, _SCORING_INDEXES)


def _create_indexes(dm: Datamart, indexes: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
    for indexed, columns in indexes:
        index = f"ix_{indexed}_{'_'.join(columns)}"
        cols = ", ".join(quote(c) for c in columns)
        dm.sql(f"CREATE INDEX IF NOT EXISTS {quote(index)} ON {quote(indexed)} ({cols})")


def _predictive(dm: Datamart) -> None:
    for name, schema in PREDICTIVE.items():
        dm.create_table(name, schema)
    _create_indexes(dm, (("predictive_scores", ("profile_id",)),))


def _segments(dm: Datamart) -> None:
    for name, schema in SEGMENTS.items():
        dm.create_table(name, schema)


def _campaigns(dm: Datamart) -> None:
    for name in ("contracts", "responses"):
        dm.create_table(name, DATA_TABLES[name].schema)
    for name, schema in CAMPAIGNS.items():
        dm.create_table(name, schema)
    _create_indexes(
        dm,
        (
            ("contracts", ("customer_id",)),
            ("responses", ("customer_id",)),
            ("contact_history", ("profile_id",)),
            ("contact_history", ("campaign",)),
            ("trigger_firings", ("trigger", "occurrence")),
        ),
    )


def _orders(dm: Datamart) -> None:
    # Imported here: the loads (which keep the table) import this module's package.
    from clientela.datamart.ingest._orders import rebuild_orders

    for name, schema in DERIVED.items():
        dm.create_table(name, schema)
    rebuild_orders(dm)


def _indexing(dm: Datamart) -> None:
    for name, schema in INDEXING.items():
        dm.create_table(name, schema)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema: customer data, interactions, bookkeeping", _initial_schema),
    Migration(2, "rule-based scoring: models, runs, snapshots, ledger, bands, lists", _scoring),
    Migration(3, "predictive models: trained versions and dated scores with reasons", _predictive),
    Migration(4, "saved segments: a name and its definition", _segments),
    Migration(
        5,
        "campaigns: contracts, responses, definitions, runs, contact history, exclusions, "
        "hold-out, trigger firings",
        _campaigns,
    ),
    Migration(
        6,
        "orders: one row per customer and order, kept by the loads (order counts as plain counts)",
        _orders,
    ),
    Migration(
        7,
        "pending indexes: those a first load replaced with its table, built once it commits",
        _indexing,
    ),
)

LATEST = MIGRATIONS[-1].version


def current_version(dm: Datamart) -> int:
    """The schema version of the datamart (0 when it was never initialised)."""
    if not dm.has_table("schema_migrations"):
        return 0
    rows = dm.sql("SELECT max(version) FROM schema_migrations")
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def migrate(dm: Datamart) -> list[Migration]:
    """Apply the missing migrations; return those applied (empty when up to date)."""
    version = current_version(dm)
    if version > LATEST:
        raise BackendError(
            f"the datamart has schema version {version}, newer than this clientela "
            f"understands ({LATEST}); upgrade clientela"
        )
    if version == 0:
        dm.create_table("schema_migrations", BOOKKEEPING["schema_migrations"])
    applied = []
    for migration in MIGRATIONS:
        if migration.version <= version:
            continue
        with dm.transaction():
            migration.apply(dm)
            dm.sql(
                "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                [migration.version, migration.description, _utcnow()],
            )
        log.info("applied migration %d: %s", migration.version, migration.description)
        applied.append(migration)
    return applied


def require_current(dm: Datamart) -> None:
    """BackendError unless the datamart is initialised and up to date."""
    version = current_version(dm)
    if version == 0:
        raise BackendError(f"the datamart {dm.url} is not initialised: run 'clientela init'")
    if version < LATEST:
        raise BackendError(
            f"the datamart has schema version {version}; this clientela needs {LATEST}: "
            "run 'clientela init' to migrate it"
        )


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
