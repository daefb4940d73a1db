"""What explicit rules test: one row per profile with the fields and attributes a model reads.

Fields come from the profile's customer record (its own row when the profile is a customer id,
else its first member), from the derived values below, and from the per-profile summary (KPIs,
RFM, value tier).  Third-party attributes are the latest value recorded before the as-of date.
Only what the model uses is read, so a model of demographics never computes RFM.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from clientela.datamart.ingest.identity import with_profile
from clientela.datamart.schema import CUSTOMERS

__all__ = ["CUSTOMER_FIELDS", "DERIVED_FIELDS", "attribute_column", "profile_facts", "profiles"]

CUSTOMER_FIELDS: tuple[str, ...] = tuple(c for c in CUSTOMERS.columns if c != "customer_id")
# Values computed from the customer record as of the scoring date.
DERIVED_FIELDS: dict[str, str] = {
    "age": "whole years since birth_date",
    "email_domain": "the part of the e-mail after '@', lower case",
    "days_since_signup": "whole days since created_at",
}


def attribute_column(name: str) -> str:
    return f"attr__{name}"


def profiles(customers: ir.Table, identity: ir.Table) -> ir.Table:
    """Every profile once: ``profile_id`` and the customer record that represents it."""
    linked = with_profile(customers, identity)
    own_first = ibis.row_number().over(
        group_by=linked.profile_id,
        order_by=[ibis.ifelse(linked.customer_id == linked.profile_id, 0, 1), linked.customer_id],
    )
    return linked.mutate(_rank=own_first).filter(lambda t: t._rank == 0).drop("_rank")


def profile_facts(
    customers: ir.Table,
    identity: ir.Table,
    third_party: ir.Table,
    summary: ir.Table | None,
    fields: Sequence[str],
    attributes: Sequence[str],
    as_of: dt.date,
) -> ir.Table:
    """``profile_id`` plus each field and ``attr__<name>`` for each attribute."""
    base = profiles(customers, identity)
    columns: dict[str, ir.Value] = {"profile_id": base.profile_id}
    for name in fields:
        if name in CUSTOMER_FIELDS:
            columns[name] = base[name]
        elif name in DERIVED_FIELDS:
            columns[name] = _derived(base, name, as_of)
    facts = base.select(**columns)
    summary_fields = [f for f in fields if f not in CUSTOMER_FIELDS and f not in DERIVED_FIELDS]
    if summary_fields and summary is not None:
        kpis = summary.select(
            _summary_profile=summary.customer_id,
            **{f"_kpi_{f}": summary[f] for f in summary_fields},
        )
        joined = facts.left_join(kpis, facts.profile_id == kpis._summary_profile)
        facts = joined.select(
            *[joined[c] for c in facts.columns],
            **{f: joined[f"_kpi_{f}"] for f in summary_fields},
        )
    for name in attributes:
        latest = _latest_attribute(third_party, identity, name, as_of)
        joined = facts.left_join(latest, facts.profile_id == latest._attribute_profile)
        facts = joined.select(
            *[joined[c] for c in facts.columns],
            **{attribute_column(name): joined._attribute_value},
        )
    return facts


def _derived(base: ir.Table, name: str, as_of: dt.date) -> ir.Value:
    if name == "age":
        born = base.birth_date
        before_birthday = (born.month() * 100 + born.day()) > (as_of.month * 100 + as_of.day)
        age: ir.Value = (
            ibis.literal(as_of.year) - born.year() - ibis.ifelse(before_birthday, 1, 0)
        ).cast("int64")
        return age
    if name == "email_domain":
        domain: ir.Value = base.email.strip().lower().re_extract(r"@([^@]+)$", 1).nullif("")
        return domain
    cutoff = ibis.literal(dt.datetime.combine(as_of, dt.time()), type="timestamp")
    days: ir.Value = (
        ((cutoff.epoch_seconds() - base.created_at.epoch_seconds()) / 86400).floor().cast("int64")
    )
    return days


def _latest_attribute(
    third_party: ir.Table, identity: ir.Table, name: str, as_of: dt.date
) -> ir.Table:
    rows = third_party.filter(
        (third_party.attribute == name)
        & (third_party.as_of.isnull() | (third_party.as_of < ibis.literal(as_of, type="date")))
    )
    linked = with_profile(rows, identity)
    newest = ibis.row_number().over(
        group_by=linked.profile_id,
        order_by=[ibis.desc(linked.as_of), ibis.desc(linked.attribute_id)],
    )
    ranked = linked.mutate(_rank=newest).filter(lambda t: t._rank == 0)
    return ranked.select(_attribute_profile=ranked.profile_id, _attribute_value=ranked.value)
