"""clientela: customer intelligence on an integrated marketing datamart.

The public Python API.  Everything a user needs is importable from here; submodules are
implementation detail unless documented.
"""

from clientela.config import Settings
from clientela.datamart import Datamart, connect, migrate
from clientela.datamart.ingest import LoadReport, ingest_file, load_folder
from clientela.datamart.ingest.identity import unify
from clientela.errors import (
    BackendError,
    ClientelaError,
    ConfigError,
    DataError,
    NotFittedError,
    NotFoundError,
)
from clientela.profile.view import CustomerProfile
from clientela.services import BuildReport, ValueReport, build, get_profile, value_report

__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "BuildReport",
    "ClientelaError",
    "ConfigError",
    "CustomerProfile",
    "DataError",
    "Datamart",
    "LoadReport",
    "NotFittedError",
    "NotFoundError",
    "Settings",
    "ValueReport",
    "__version__",
    "build",
    "connect",
    "get_profile",
    "ingest_file",
    "load_folder",
    "migrate",
    "unify",
    "value_report",
]
