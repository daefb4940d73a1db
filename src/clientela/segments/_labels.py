"""Readable names of the point-in-time features, for the sentences of a profile.

A numeric feature has a noun phrase (``orders in the last 30 days``: "average orders in the last
30 days 2.1 against 0.4"); a count also has a verb phrase for "has any" (``bought in the last 30
days``: "68% bought in the last 30 days, against 21% of the rest of the base"); a category value
has a verb phrase of its own (``are in value tier A``).  Generated names are matched back to the
values they were made from (event types, attributes...) through the feature spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from clientela.models._features import FeatureSpec, feature_column

__all__ = ["FeatureLabel", "Labeller"]


@dataclass(frozen=True)
class FeatureLabel:
    """``noun``: what a mean is of; ``verb``: what a member with a count above 0 did (None when
    the share with any is not told); ``short``: a word or two for a cluster's name."""

    noun: str
    verb: str | None
    short: str


_FIXED: dict[str, FeatureLabel] = {
    "orders": FeatureLabel("orders", "bought", "frequency"),
    "revenue": FeatureLabel("revenue", None, "revenue"),
    "margin": FeatureLabel("margin", None, "margin"),
    "returned_amount": FeatureLabel("returned amount", None, "returns"),
    "returns": FeatureLabel("returns", "returned something", "returns"),
    "products": FeatureLabel("distinct products bought", None, "product range"),
    "categories": FeatureLabel("distinct categories bought", None, "category range"),
    "days_since_last_purchase": FeatureLabel("days since the last purchase", None, "recency"),
    "days_since_first_purchase": FeatureLabel("days since the first purchase", None, "seniority"),
    "average_order_value": FeatureLabel("order value", None, "order value"),
    "rfm_r": FeatureLabel("RFM recency score", None, "R score"),
    "rfm_f": FeatureLabel("RFM frequency score", None, "F score"),
    "rfm_m": FeatureLabel("RFM monetary score", None, "M score"),
    "age": FeatureLabel("age", None, "age"),
    "tenure_days": FeatureLabel("days since sign-up", None, "tenure"),
    "employees": FeatureLabel("employees", None, "company size"),
    "open_issues": FeatureLabel("open issues", "have an open issue", "open issues"),
    "days_since_last_interaction": FeatureLabel(
        "days since the last interaction", None, "contact recency"
    ),
    "social_sentiment": FeatureLabel("social sentiment", None, "sentiment"),
}
_CATEGORY_VERBS: dict[str, str] = {
    "value_tier": "are in value tier {}",
    "rfm_segment": "are in RFM segment {}",
    "kind": "are of kind {}",
    "gender": "have gender {}",
    "country": "live in country {}",
    "region": "live in region {}",
    "city": "live in {}",
    "industry": "work in industry {}",
    "company_size": "have company size {}",
}
_WINDOW = re.compile(r"^(.*)_(\d+)d$")


class Labeller:
    """Labels of the features built with ``spec``."""

    def __init__(self, spec: FeatureSpec):
        self._names: dict[str, tuple[str, str]] = {}
        for prefix, values in (
            ("events", spec.event_types),
            ("interactions", spec.interaction_kinds),
            ("outcome", spec.outcomes),
            ("social", spec.social_kinds),
            ("consent", spec.consent_channels),
            ("attr", spec.attributes),
            ("score", spec.score_models),
            ("days_since", spec.event_types),
        ):
            for value in values:
                self._names[feature_column(prefix, value)] = (prefix, value)
        for event_type in spec.event_types:
            for window in spec.windows:
                column = feature_column("events", f"{event_type}_{window}d")
                self._names[column] = ("events", f"{event_type}|{window}")
        for kind in spec.interaction_kinds:
            for window in spec.windows:
                column = feature_column("interactions", f"{kind}_{window}d")
                self._names[column] = ("interactions", f"{kind}|{window}")

    def numeric(self, column: str) -> FeatureLabel:
        if column in _FIXED:
            return _FIXED[column]
        windowed = _WINDOW.match(column)
        if windowed and windowed.group(1) in ("orders", "revenue"):
            within = f"in the last {windowed.group(2)} days"
            if windowed.group(1) == "orders":
                return FeatureLabel(f"orders {within}", f"bought {within}", "recent frequency")
            return FeatureLabel(f"revenue {within}", None, "recent revenue")
        if windowed and windowed.group(1) == "social":
            within = f"in the last {windowed.group(2)} days"
            return FeatureLabel(
                f"social signals {within}", f"left a social signal {within}", "social activity"
            )
        prefix, value = self._names.get(column, ("", column))
        what, _, window = value.partition("|")
        within = f" in the last {window} days" if window else ""
        if prefix == "events":
            return FeatureLabel(
                f"{what} events{within}", f"had a {what} event{within}", f"{what} activity"
            )
        if prefix == "interactions":
            return FeatureLabel(
                f"{what} interactions{within}", f"had a {what} interaction{within}", f"{what}s"
            )
        if prefix == "outcome":
            return FeatureLabel(
                f"interactions with outcome {what}",
                f"had an interaction with outcome {what}",
                f"{what} outcomes",
            )
        if prefix == "social":
            return FeatureLabel(f"{what} social signals", f"left a {what} social signal", what)
        if prefix == "days_since":
            return FeatureLabel(f"days since the last {what} event", None, f"{what} recency")
        if prefix == "score":
            return FeatureLabel(f"{what} score", None, f"{what} score")
        if prefix == "attr":
            return FeatureLabel(what, None, what)
        return FeatureLabel(column.replace("_", " "), None, column.replace("_", " "))

    def value(self, column: str, value: str) -> str:
        """A category value in a few words, e.g. ``region North``."""
        prefix, name = self._names.get(column, ("", column))
        if prefix == "consent":
            return f"{name} consent {value}"
        return f"{name.replace('_', ' ') if not prefix else name} {value}"

    def category(self, column: str, value: str) -> str:
        """What the members with this value are, e.g. ``are in value tier A``."""
        if column in _CATEGORY_VERBS:
            return _CATEGORY_VERBS[column].format(value)
        prefix, name = self._names.get(column, ("", column))
        if prefix == "consent":
            return f"have {name} consent {value}"
        if prefix == "attr":
            return f"have {name} {value}"
        return f"have {column.replace('_', ' ')} {value}"
