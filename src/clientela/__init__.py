"""clientela: customer intelligence on an integrated marketing datamart.

The public Python API.  Everything a user needs is importable from here; submodules are
implementation detail unless documented.
"""

from clientela.config import Settings
from clientela.datamart import Datamart, connect, migrate
from clientela.errors import (
    BackendError,
    ClientelaError,
    ConfigError,
    DataError,
    NotFittedError,
    NotFoundError,
)

__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "ClientelaError",
    "ConfigError",
    "DataError",
    "Datamart",
    "NotFittedError",
    "NotFoundError",
    "Settings",
    "__version__",
    "connect",
    "migrate",
]
