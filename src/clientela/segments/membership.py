"""Who is in a segment: Ibis expressions of one ``profile_id`` column, one row per member.

Backend-free: the functions take tables and return expressions.  A tier or an RFM segment reads
the per-profile summary (``customer_summary`` or its live expression); a band reads the newest
snapshot of the scoring model dated on or before the as-of date, per profile; a condition is
compiled by the scoring rules' own code over the profile facts.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from clientela.scoring._conditions import predicate
from clientela.scoring._facts import attribute_column
from clientela.scoring.definition import Condition

__all__ = ["band_members", "condition_members", "rfm_members", "tier_members"]


def tier_members(summary: ir.Table, tier: str) -> ir.Table:
    """Profiles of value tier ``tier``."""
    rows = summary.filter(summary.value_tier == tier)
    return rows.select(profile_id=rows.customer_id)


def rfm_members(summary: ir.Table, segment: str) -> ir.Table:
    """Profiles of the named RFM segment."""
    rows = summary.filter(summary.segment == segment)
    return rows.select(profile_id=rows.customer_id)


def band_members(snapshots: ir.Table, model: str, band: str, as_of: dt.date) -> ir.Table:
    """Profiles whose newest score of ``model`` dated on or before ``as_of`` is in ``band``."""
    rows = snapshots.filter(
        (snapshots.model == model) & (snapshots.as_of <= ibis.literal(as_of, type="date"))
    )
    newest = ibis.row_number().over(
        group_by=rows.profile_id, order_by=[ibis.desc(rows.as_of), ibis.desc(rows.version)]
    )
    latest = rows.mutate(_rank=newest).filter(lambda t: t._rank == 0)
    return latest.filter(latest.band == band).select("profile_id")


def condition_members(facts: ir.Table, condition: Condition) -> ir.Table:
    """Profiles whose facts (:func:`clientela.scoring._facts.profile_facts`) satisfy the
    condition."""

    def resolve(leaf: Condition) -> ir.Value:
        if leaf.subject_kind == "attribute":
            return facts[attribute_column(str(leaf.subject))]
        return facts[str(leaf.subject)]

    return facts.filter(predicate(condition, resolve)).select("profile_id")
