"""clientela: customer intelligence on an integrated marketing datamart.

The public Python API.  Everything a user needs is importable from here; submodules are
implementation detail unless documented.
"""

import importlib
from typing import TYPE_CHECKING, Any

from clientela.config import Settings
from clientela.datamart import Datamart, connect, migrate
from clientela.datamart.ingest import LoadReport, ingest_file, load_folder
from clientela.datamart.ingest.identity import unify
from clientela.errors import (
    BackendError,
    ClientelaError,
    ConfigError,
    DataError,
    InsufficientDataError,
    NotFittedError,
    NotFoundError,
)
from clientela.profile.view import CustomerProfile
from clientela.scoring import ScoringModel, load_model_file
from clientela.services import BuildReport, ValueReport, build, get_profile, value_report
from clientela.services.score_views import (
    Ranking,
    adjust_score,
    score_history,
    score_ranking,
    show_score,
)
from clientela.services.scoring import (
    ScoreRun,
    backfill_scores,
    register_model,
    run_model,
    run_models,
    score_profiles,
)

if TYPE_CHECKING:
    from clientela.campaigns.definition import Campaign, Offer, parse_campaign_file
    from clientela.campaigns.triggers import Trigger, parse_triggers_file
    from clientela.models import PropensityModel, Target
    from clientela.models.clv import BGNBDModel, GammaGammaModel, ParetoNBDModel
    from clientela.segments import Segment
    from clientela.services.campaign_results import (
        CampaignResults,
        attribute_responses,
        campaign_results,
    )
    from clientela.services.campaigns import execute_campaigns, preview_campaigns
    from clientela.services.clv import (
        ClvFit,
        ClvScores,
        ClvSegments,
        clv_segments,
        fit_clv,
        score_clv,
    )
    from clientela.services.predictive import TrainRequest, score_model, train_model
    from clientela.services.segments import (
        SegmentProfile,
        cluster_base,
        find_lookalikes,
        profile_segment,
        resolve_segment,
    )
    from clientela.services.triggers import run_triggers

__version__ = "0.1.0"

# The predictive models, lifetime value and segments bring scikit-learn, LightGBM and SciPy,
# which take seconds to import: they are imported when first used (PEP 562), so that the CLI
# and the rule-based parts start quickly.
_LAZY: dict[str, str] = {
    "BGNBDModel": "clientela.models.clv",
    "Campaign": "clientela.campaigns.definition",
    "CampaignResults": "clientela.services.campaign_results",
    "ClvFit": "clientela.services.clv",
    "ClvScores": "clientela.services.clv",
    "ClvSegments": "clientela.services.clv",
    "GammaGammaModel": "clientela.models.clv",
    "Offer": "clientela.campaigns.definition",
    "ParetoNBDModel": "clientela.models.clv",
    "PropensityModel": "clientela.models",
    "Segment": "clientela.segments",
    "SegmentProfile": "clientela.services.segments",
    "Target": "clientela.models",
    "TrainRequest": "clientela.services.predictive",
    "Trigger": "clientela.campaigns.triggers",
    "attribute_responses": "clientela.services.campaign_results",
    "campaign_results": "clientela.services.campaign_results",
    "cluster_base": "clientela.services.segments",
    "clv_segments": "clientela.services.clv",
    "execute_campaigns": "clientela.services.campaigns",
    "find_lookalikes": "clientela.services.segments",
    "fit_clv": "clientela.services.clv",
    "parse_campaign_file": "clientela.campaigns.definition",
    "parse_triggers_file": "clientela.campaigns.triggers",
    "preview_campaigns": "clientela.services.campaigns",
    "profile_segment": "clientela.services.segments",
    "resolve_segment": "clientela.services.segments",
    "run_triggers": "clientela.services.triggers",
    "score_clv": "clientela.services.clv",
    "score_model": "clientela.services.predictive",
    "train_model": "clientela.services.predictive",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'clientela' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "BGNBDModel",
    "BackendError",
    "BuildReport",
    "Campaign",
    "CampaignResults",
    "ClientelaError",
    "ClvFit",
    "ClvScores",
    "ClvSegments",
    "ConfigError",
    "CustomerProfile",
    "DataError",
    "Datamart",
    "GammaGammaModel",
    "InsufficientDataError",
    "LoadReport",
    "NotFittedError",
    "NotFoundError",
    "Offer",
    "ParetoNBDModel",
    "PropensityModel",
    "Ranking",
    "ScoreRun",
    "ScoringModel",
    "Segment",
    "SegmentProfile",
    "Settings",
    "Target",
    "TrainRequest",
    "Trigger",
    "ValueReport",
    "__version__",
    "adjust_score",
    "attribute_responses",
    "backfill_scores",
    "build",
    "campaign_results",
    "cluster_base",
    "clv_segments",
    "connect",
    "execute_campaigns",
    "find_lookalikes",
    "fit_clv",
    "get_profile",
    "ingest_file",
    "load_folder",
    "load_model_file",
    "migrate",
    "parse_campaign_file",
    "parse_triggers_file",
    "preview_campaigns",
    "profile_segment",
    "register_model",
    "resolve_segment",
    "run_model",
    "run_models",
    "run_triggers",
    "score_clv",
    "score_history",
    "score_model",
    "score_profiles",
    "score_ranking",
    "show_score",
    "train_model",
    "unify",
    "value_report",
]
