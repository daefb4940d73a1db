"""Rule-based scoring: models of explicit and implicit point rules, decay, caps, bands with
history, the points ledger that explains every score, and list scoring.

The engine (:mod:`clientela.scoring.engine`) is backend-free Ibis; the use cases that run it on
a datamart and store snapshots live in :mod:`clientela.services.scoring`.
"""

from clientela.scoring.definition import (
    Band,
    LevelCutoffs,
    Rule,
    ScoringModel,
    load_model_file,
    parse_model_text,
)

__all__ = [
    "Band",
    "LevelCutoffs",
    "Rule",
    "ScoringModel",
    "load_model_file",
    "parse_model_text",
]
