"""Campaign results against the control group: the aggregation (backend-free Ibis) and the
statistics on the few aggregated numbers (plain Python).

A customer of the target group *responded* when one of the responses matched to its contacts is
positive: by default a click, an accepted offer, a purchase or a call outcome whose ``outcome``
is positive (``positive``, ``interested``, ``accepted``, ``sale``, ``appointment``).  A customer
*converted* on an accepted offer or a purchase.  The control group's held-out customers are
attributed by the very same rule (purchases in the same window after the day they would have
been contacted), so that the two rates compare like with like.

Uplift is the target rate minus the control rate.  Its 95% confidence interval is Newcombe's
hybrid score interval (method 10 of Newcombe 1998, built from the two Wilson score intervals),
which keeps its coverage for small groups and rates near 0 or 1 where the Wald interval does
not.  The significance test is the two-sided two-proportion z-test with the pooled rate.
The normal quantiles come from the standard library: the CLI does not import SciPy (slow to
load) for a handful of numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import ibis.expr.types as ir

__all__ = [
    "CONVERSION_KINDS",
    "POSITIVE_KINDS",
    "POSITIVE_OUTCOMES",
    "Comparison",
    "GroupCounts",
    "GroupResult",
    "compare",
    "contact_outcomes",
    "group_counts",
    "newcombe_interval",
    "two_proportion_z_test",
    "wilson_interval",
]

POSITIVE_KINDS = ("click", "accepted", "call_outcome", "purchase")
POSITIVE_OUTCOMES = ("positive", "interested", "accepted", "sale", "appointment")
CONVERSION_KINDS = ("accepted", "purchase")
CONFIDENCE = 0.95


def contact_outcomes(
    contacts: ir.Table,
    matched: ir.Table,
    *,
    positive_kinds: Sequence[str] = POSITIVE_KINDS,
    positive_outcomes: Sequence[str] = POSITIVE_OUTCOMES,
    conversion_kinds: Sequence[str] = CONVERSION_KINDS,
) -> ir.Table:
    """One row per profile and group: ``responded``, ``converted``, ``revenue``, ``margin``.

    ``contacts`` are :func:`~clientela.campaigns._responses.campaign_contacts`; ``matched`` are
    the responses with a ``matched_contact_id`` (loaded ones matched, and attributed purchases
    with ``matched_contact_id = contact_id``).  ``score_decile`` is the profile's best decile in
    the campaign.
    """
    r = matched.filter(matched.matched_contact_id.notnull())
    outcome_ok = r.outcome.lower().isin([o.lower() for o in positive_outcomes])
    positive = r.kind.isin([k for k in positive_kinds if k != "call_outcome"])
    if "call_outcome" in positive_kinds:
        positive = positive | ((r.kind == "call_outcome") & outcome_ok.fill_null(False))
    per_contact = r.group_by(_contact=r.matched_contact_id).aggregate(
        _responded=positive.any(),
        _converted=r.kind.isin(list(conversion_kinds)).any(),
        _revenue=r.revenue.sum(),
        _margin=r.margin.sum(),
    )
    joined = contacts.left_join(per_contact, contacts.contact_id == per_contact._contact)
    per_profile = joined.group_by(["group_name", "profile_id"]).aggregate(
        score_decile=joined.score_decile.min(),
        responded=joined._responded.fill_null(False).any(),
        converted=joined._converted.fill_null(False).any(),
        revenue=joined._revenue.sum().fill_null(0.0),
        margin=joined._margin.sum().fill_null(0.0),
    )
    return per_profile


def group_counts(outcomes: ir.Table, by: str | None = None) -> ir.Table:
    """Customers, responders, converters, revenue and margin per group (and ``by``, if given).

    ``by`` names a column of ``outcomes`` (join the breakdown first); a null key is ``(none)``.
    """
    keys: list[ir.Value] = [outcomes.group_name]
    if by is not None:
        keys.append(outcomes[by].cast("string").fill_null("(none)").name("breakdown"))
    return outcomes.group_by(keys).aggregate(
        customers=outcomes.count(),
        responders=outcomes.responded.sum().cast("int64"),
        converters=outcomes.converted.sum().cast("int64"),
        revenue=outcomes.revenue.sum().fill_null(0.0).cast("float64"),
        margin=outcomes.margin.sum().fill_null(0.0).cast("float64"),
    )


# -- the statistics --------------------------------------------------------------------------
@dataclass(frozen=True)
class GroupCounts:
    """What :func:`group_counts` gives for one group."""

    customers: int = 0
    responders: int = 0
    converters: int = 0
    revenue: float = 0.0
    margin: float = 0.0


@dataclass(frozen=True)
class GroupResult:
    customers: int
    responders: int
    rate: float | None
    converters: int
    conversion_rate: float | None
    revenue: float
    margin: float
    revenue_per_customer: float | None
    margin_per_customer: float | None


@dataclass(frozen=True)
class Comparison:
    """Target against control.  Values that need a control group are None without one."""

    target: GroupResult
    control: GroupResult
    uplift: float | None
    ci_low: float | None
    ci_high: float | None
    z: float | None
    p_value: float | None
    significant: bool | None
    conversion_uplift: float | None
    incremental_responders: float | None
    incremental_revenue: float | None
    incremental_margin: float | None


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _group(counts: GroupCounts) -> GroupResult:
    n = counts.customers
    return GroupResult(
        customers=n,
        responders=counts.responders,
        rate=_ratio(counts.responders, n),
        converters=counts.converters,
        conversion_rate=_ratio(counts.converters, n),
        revenue=counts.revenue,
        margin=counts.margin,
        revenue_per_customer=_ratio(counts.revenue, n),
        margin_per_customer=_ratio(counts.margin, n),
    )


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of a proportion (without continuity correction)."""
    if n <= 0:
        raise ValueError("a proportion needs at least one observation")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(
    successes_1: int, n_1: int, successes_0: int, n_0: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for ``p1 - p0`` (his method 10)."""
    p1, p0 = successes_1 / n_1, successes_0 / n_0
    l1, u1 = wilson_interval(successes_1, n_1, confidence)
    l0, u0 = wilson_interval(successes_0, n_0, confidence)
    difference = p1 - p0
    low = difference - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return low, high


def two_proportion_z_test(
    successes_1: int, n_1: int, successes_0: int, n_0: int
) -> tuple[float | None, float | None]:
    """z and the two-sided p-value of ``p1 = p0`` with the pooled rate (None when undefined)."""
    pooled = (successes_1 + successes_0) / (n_1 + n_0)
    variance = pooled * (1 - pooled) * (1 / n_1 + 1 / n_0)
    if variance <= 0:  # nobody or everybody responded: the rates are equal, nothing to test
        return None, 1.0
    z = (successes_1 / n_1 - successes_0 / n_0) / math.sqrt(variance)
    return z, math.erfc(abs(z) / math.sqrt(2))  # two-sided: 2 * (1 - Phi(|z|))


def compare(target: GroupCounts, control: GroupCounts) -> Comparison:
    """The comparison of the two groups' counts (see the module docstring)."""
    t, c = _group(target), _group(control)
    if not (target.customers and control.customers):
        return Comparison(t, c, None, None, None, None, None, None, None, None, None, None)
    assert t.rate is not None and c.rate is not None
    assert t.conversion_rate is not None and c.conversion_rate is not None
    assert t.revenue_per_customer is not None and c.revenue_per_customer is not None
    assert t.margin_per_customer is not None and c.margin_per_customer is not None
    low, high = newcombe_interval(
        target.responders, target.customers, control.responders, control.customers
    )
    z, p_value = two_proportion_z_test(
        target.responders, target.customers, control.responders, control.customers
    )
    n = target.customers
    return Comparison(
        target=t,
        control=c,
        uplift=t.rate - c.rate,
        ci_low=low,
        ci_high=high,
        z=z,
        p_value=p_value,
        significant=None if p_value is None else p_value < 1 - CONFIDENCE,
        conversion_uplift=t.conversion_rate - c.conversion_rate,
        incremental_responders=(t.rate - c.rate) * n,
        incremental_revenue=(t.revenue_per_customer - c.revenue_per_customer) * n,
        incremental_margin=(t.margin_per_customer - c.margin_per_customer) * n,
    )
