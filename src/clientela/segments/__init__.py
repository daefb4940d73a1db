"""Segments: definitions (tier, RFM segment, band, condition) compiled to Ibis, profiles against
the rest of the base, look-alikes and behavioural clusters."""

from clientela.segments.clusters import Clustering, cluster_customers
from clientela.segments.definition import Segment, parse_segment, parse_segment_text
from clientela.segments.lookalike import LookalikeScores, lookalike_scores
from clientela.segments.membership import (
    band_members,
    condition_members,
    rfm_members,
    tier_members,
)
from clientela.segments.profile import (
    GroupProfile,
    Trait,
    category_counts,
    cohens_d,
    cohens_h,
    describe_groups,
    group_statistics,
)

__all__ = [
    "Clustering",
    "GroupProfile",
    "LookalikeScores",
    "Segment",
    "Trait",
    "band_members",
    "category_counts",
    "cluster_customers",
    "cohens_d",
    "cohens_h",
    "condition_members",
    "describe_groups",
    "group_statistics",
    "lookalike_scores",
    "parse_segment",
    "parse_segment_text",
    "rfm_members",
    "tier_members",
]
