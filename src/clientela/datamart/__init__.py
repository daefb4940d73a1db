"""The marketing datamart: schema, backends, migrations and ingestion."""

from clientela.datamart.backends import Datamart, connect
from clientela.datamart.migrations import current_version, migrate, require_current
from clientela.datamart.schema import DATA_TABLES, TableSpec, spec

__all__ = [
    "DATA_TABLES",
    "Datamart",
    "TableSpec",
    "connect",
    "current_version",
    "migrate",
    "require_current",
    "spec",
]
