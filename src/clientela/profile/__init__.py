"""The 360-degree customer view: KPIs, RFM, contribution, value tiers and Pareto analyses.

Every function here is backend-free: it takes ibis tables and returns ibis expressions, never
connecting or executing.  :mod:`clientela.services` binds them to a datamart.
"""

from clientela.profile.kpis import KPI_COLUMNS, converted_referrals, customer_kpis
from clientela.profile.pareto import (
    cumulative_curve,
    negative_contribution,
    tier_summary,
    top_share,
)
from clientela.profile.rfm import RFM_COLUMNS, RFM_GRID, SEGMENTS, fm_score, rfm, segment_of
from clientela.profile.tiers import TIERS, value_tiers
from clientela.profile.view import CustomerProfile

__all__ = [
    "KPI_COLUMNS",
    "RFM_COLUMNS",
    "RFM_GRID",
    "SEGMENTS",
    "TIERS",
    "CustomerProfile",
    "converted_referrals",
    "cumulative_curve",
    "customer_kpis",
    "fm_score",
    "negative_contribution",
    "rfm",
    "segment_of",
    "tier_summary",
    "top_share",
    "value_tiers",
]
