"""Segment profiles: the variables that set a group apart from the rest of the base.

The statistics are set-based: :func:`group_statistics` and :func:`category_counts` are Ibis
expressions grouped by a group column (``segment``/``rest``, or one value per cluster), so the
database answers with a few rows per group however many customers there are.
:func:`describe_groups` turns those rows into traits, for each group against the rest of the
base (every other group together, combined exactly from the groups' counts, means and variances):

* numeric features: the mean of the known values, with Cohen's d (the difference of the means
  over the pooled standard deviation) as effect size;
* counts (orders, events, interactions...): also the share with any, with Cohen's h
  (``2 asin(sqrt p1) - 2 asin(sqrt p2)``); of the two, the larger effect is kept;
* categories: the share of each of the most frequent values, with Cohen's h.

Traits are ranked by the absolute effect size; each one carries a sentence made from its numbers
("68% bought in the last 30 days, against 21% of the rest of the base").  A feature that does not
vary inside either group (the definition of the segment itself, usually) has no effect size and
is left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import ibis.expr.types as ir

from clientela.segments._labels import Labeller

__all__ = [
    "GroupProfile",
    "Trait",
    "category_counts",
    "cohens_d",
    "cohens_h",
    "describe_groups",
    "group_statistics",
    "readable_number",
]

GROUP = "_group"
TraitKind = Literal["mean", "share", "category"]
# Values of a category compared: the most frequent in the base, and in the group.
_TOP_IN_BASE = 5
_TOP_IN_GROUP = 3


@dataclass(frozen=True)
class Trait:
    """One variable of a profile: the group's value against the rest's (and the base's)."""

    feature: str
    kind: TraitKind
    value: str | None
    segment: float
    rest: float
    base: float
    effect: float
    sentence: str


@dataclass(frozen=True)
class GroupProfile:
    group: str
    members: int
    base: int
    traits: list[Trait]

    @property
    def share(self) -> float:
        return self.members / self.base if self.base else 0.0


def group_statistics(features: ir.Table, numeric: Sequence[str], counts: Sequence[str]) -> ir.Table:
    """Per group (column ``_group``): rows, and per numeric feature (by position ``i``) the
    known values ``n_i``, their mean ``mean_i`` and population variance ``var_i``; per count
    (by position ``j``) the rows above zero ``pos_j``."""
    measures: dict[str, ir.Value] = {"rows": features.count()}
    for i, column in enumerate(numeric):
        value = features[column].cast("float64")
        measures[f"n_{i}"] = value.count()
        measures[f"mean_{i}"] = value.mean()
        measures[f"var_{i}"] = value.var(how="pop")
    for j, column in enumerate(counts):
        measures[f"pos_{j}"] = features.count(where=features[column] > 0)
    return features.group_by(GROUP).aggregate(**measures)


def category_counts(features: ir.Table, categorical: Sequence[str]) -> ir.Table | None:
    """Rows per group, feature and value (as text) of the categorical features."""
    parts = []
    for column in categorical:
        value = features[column].cast("string")
        rows = features.filter(value.notnull() & (value.strip() != ""))
        parts.append(
            rows.select(
                rows[GROUP], feature=ibis.literal(column), value=rows[column].cast("string")
            )
        )
    if not parts:
        return None
    union = ibis.union(*parts, distinct=False)
    return union.group_by([GROUP, "feature", "value"]).aggregate(rows=union.count())


def cohens_d(
    mean_1: float, var_1: float, n_1: int, mean_2: float, var_2: float, n_2: int
) -> float | None:
    """Standardised mean difference with the pooled sample standard deviation (``var_*`` are
    population variances); None when it is undefined (no variation, too few values)."""
    if n_1 < 1 or n_2 < 1 or n_1 + n_2 <= 2:
        return None
    pooled = (var_1 * n_1 + var_2 * n_2) / (n_1 + n_2 - 2)
    if pooled <= 1e-12 * max(1.0, mean_1 * mean_1, mean_2 * mean_2):
        return None
    return (mean_1 - mean_2) / math.sqrt(pooled)


def cohens_h(p_1: float, p_2: float) -> float:
    """Difference of two proportions on the arcsine scale."""
    return 2 * math.asin(math.sqrt(p_1)) - 2 * math.asin(math.sqrt(p_2))


@dataclass(frozen=True)
class _Moments:
    n: int
    mean: float
    var: float  # population variance

    @staticmethod
    def combine(parts: Sequence[_Moments]) -> _Moments:
        n = sum(p.n for p in parts)
        if n == 0:
            return _Moments(0, math.nan, math.nan)
        mean = sum(p.n * p.mean for p in parts if p.n) / n
        m2 = sum(p.n * p.var + p.n * (p.mean - mean) ** 2 for p in parts if p.n)
        return _Moments(n, mean, m2 / n)


def describe_groups(
    statistics: Sequence[Mapping[str, Any]],
    categories: Sequence[Mapping[str, Any]],
    numeric: Sequence[str],
    counts: Sequence[str],
    labeller: Labeller,
    *,
    top: int | None = None,
) -> dict[str, GroupProfile]:
    """The profile of every group against the rest, from the rows of :func:`group_statistics`
    and :func:`category_counts`."""
    rows = {str(r[GROUP]): int(r["rows"]) for r in statistics}
    base = sum(rows.values())
    moments = {
        str(r[GROUP]): [
            _Moments(int(r[f"n_{i}"] or 0), _float(r[f"mean_{i}"]), _float(r[f"var_{i}"]))
            for i in range(len(numeric))
        ]
        for r in statistics
    }
    positives = {
        str(r[GROUP]): [int(r[f"pos_{j}"] or 0) for j in range(len(counts))] for r in statistics
    }
    counted: dict[tuple[str, str], dict[str, int]] = {}
    for r in categories:
        key = (str(r["feature"]), str(r["value"]))
        counted.setdefault(key, {})[str(r[GROUP])] = int(r["rows"])
    profiles = {}
    for group, members in rows.items():
        others = [g for g in rows if g != group]
        rest_rows = base - members
        traits: dict[tuple[str, str | None], Trait] = {}
        for i, column in enumerate(numeric):
            mine = moments[group][i]
            rest = _Moments.combine([moments[g][i] for g in others])
            effect = cohens_d(mine.mean, mine.var, mine.n, rest.mean, rest.var, rest.n)
            if effect is None:
                continue
            whole = _Moments.combine([moments[g][i] for g in rows])
            label = labeller.numeric(column)
            noun = label.noun if label.noun.startswith("average") else f"average {label.noun}"
            sentence = f"{noun} {readable_number(mine.mean)} against {readable_number(rest.mean)}"
            _keep(
                traits,
                Trait(column, "mean", None, mine.mean, rest.mean, whole.mean, effect, sentence),
            )
        for j, column in enumerate(counts):
            label = labeller.numeric(column)
            if label.verb is None or not members or not rest_rows:
                continue
            mine_share = positives[group][j] / members
            rest_share = sum(positives[g][j] for g in others) / rest_rows
            base_share = sum(positives[g][j] for g in rows) / base
            sentence = (
                f"{_percent(mine_share)} {label.verb}, against {_percent(rest_share)} of the "
                "rest of the base"
            )
            effect = cohens_h(mine_share, rest_share)
            _keep(
                traits,
                Trait(column, "share", None, mine_share, rest_share, base_share, effect, sentence),
            )
        for (column, value), by_group in _top_categories(counted, group):
            if not members or not rest_rows:
                continue
            mine_share = by_group.get(group, 0) / members
            rest_share = sum(n for g, n in by_group.items() if g != group) / rest_rows
            base_share = sum(by_group.values()) / base
            sentence = (
                f"{_percent(mine_share)} {labeller.category(column, value)}, against "
                f"{_percent(rest_share)} of the rest of the base"
            )
            effect = cohens_h(mine_share, rest_share)
            traits[(column, value)] = Trait(
                column, "category", value, mine_share, rest_share, base_share, effect, sentence
            )
        ranked = sorted(traits.values(), key=lambda t: (-abs(t.effect), t.feature, t.value or ""))
        profiles[group] = GroupProfile(group, members, base, ranked[:top] if top else ranked)
    return profiles


def _keep(traits: dict[tuple[str, str | None], Trait], trait: Trait) -> None:
    """One trait per numeric feature: the mean or the share with any, whichever says more."""
    key = (trait.feature, None)
    kept = traits.get(key)
    if kept is None or abs(trait.effect) > abs(kept.effect):
        traits[key] = trait


def _top_categories(
    counted: dict[tuple[str, str], dict[str, int]], group: str
) -> list[tuple[tuple[str, str], dict[str, int]]]:
    by_feature: dict[str, list[tuple[str, dict[str, int]]]] = {}
    for (column, value), by_group in counted.items():
        by_feature.setdefault(column, []).append((value, by_group))
    chosen = []
    for column, values in sorted(by_feature.items()):
        in_base = sorted(values, key=lambda v: (-sum(v[1].values()), v[0]))[:_TOP_IN_BASE]
        in_group = sorted(values, key=lambda v: (-v[1].get(group, 0), v[0]))[:_TOP_IN_GROUP]
        seen: set[str] = set()
        for value, by_group in [*in_base, *in_group]:
            if value not in seen and (value in {v for v, _ in in_base} or by_group.get(group)):
                seen.add(value)
                chosen.append(((column, value), by_group))
    return chosen


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def readable_number(value: float) -> str:
    """1,240 / 54.3 / 2.15 / 24: fewer decimals as numbers grow, none for whole numbers."""
    size = abs(value)
    if value == round(value):
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}"
