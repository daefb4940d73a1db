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
from clientela.scoring import ScoringModel, load_model_file
from clientela.services import BuildReport, ValueReport, build, get_profile, value_report
from clientela.services.score_views import adjust_score, score_history, show_score
from clientela.services.scoring import (
    ScoreRun,
    backfill_scores,
    register_model,
    run_model,
    score_profiles,
)

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
    "ScoreRun",
    "ScoringModel",
    "Settings",
    "ValueReport",
    "__version__",
    "adjust_score",
    "backfill_scores",
    "build",
    "connect",
    "get_profile",
    "ingest_file",
    "load_folder",
    "load_model_file",
    "migrate",
    "register_model",
    "run_model",
    "score_history",
    "score_profiles",
    "show_score",
    "unify",
    "value_report",
]
