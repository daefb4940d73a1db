"""The trigger file format: one pydantic model of options per event, with line-precise errors."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from clientela.datamart.schema import ResponseKind

__all__ = [
    "EVENTS",
    "ActionSpec",
    "ActivityChangeOptions",
    "AddressChangeOptions",
    "BalanceChangeOptions",
    "BandChangeOptions",
    "BirthdayOptions",
    "CartAbandonOptions",
    "ContractExpiringOptions",
    "EventOptions",
    "NewProductOptions",
    "NonPaymentOptions",
    "ResponseOptions",
    "ScoreThresholdOptions",
    "SegmentChangeOptions",
    "TriggerSpec",
    "UnderUseOptions",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BirthdayOptions(_Strict):
    days_ahead: int = Field(default=0, ge=0, le=60)


class AddressChangeOptions(_Strict):
    fields: tuple[
        Literal["address", "postal_code", "city", "region", "country", "email", "phone"], ...
    ] = ("address", "postal_code", "city", "country")


class SegmentChangeOptions(_Strict):
    of: Literal["value_tier", "rfm_segment"] = "value_tier"


class BandChangeOptions(_Strict):
    model: str
    to_band: str | None = None
    direction: Literal["up", "down"] | None = None
    within_days: int = Field(default=7, ge=0)


class ScoreThresholdOptions(_Strict):
    model: str
    threshold: float
    source: Literal["rule", "predictive"] = "rule"
    direction: Literal["up", "down"] = "up"


class NewProductOptions(_Strict):
    by: Literal["product", "category"] = "product"
    items: tuple[str, ...] = ()
    within_days: int = Field(default=7, ge=1)


class ContractExpiringOptions(_Strict):
    days_ahead: int = Field(default=30, ge=0)
    product: str | None = None


class UnderUseOptions(_Strict):
    days: int = Field(default=60, ge=1)
    product: str | None = None


class ActivityChangeOptions(_Strict):
    source: Literal["events", "transactions"] = "events"
    direction: Literal["drop", "rise"] = "drop"
    days: int = Field(default=30, ge=1)
    ratio: float = Field(default=2.0, gt=1)
    min_count: int = Field(default=3, ge=1)


class BalanceChangeOptions(_Strict):
    attribute: str = "balance"
    direction: Literal["drop", "rise"] = "drop"
    ratio: float | None = Field(default=None, gt=0)
    amount: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_size(self) -> BalanceChangeOptions:
        if (self.ratio is None) == (self.amount is None):
            raise ValueError("give either ratio (0.5: by half) or amount (a change of at least)")
        return self


class NonPaymentOptions(_Strict):
    signals: tuple[Literal["suspended_contract", "unpaid_fee"], ...] = (
        "suspended_contract",
        "unpaid_fee",
    )
    fee_text: str = "unpaid"
    within_days: int = Field(default=7, ge=1)

    @model_validator(mode="after")
    def _some(self) -> NonPaymentOptions:
        if not self.signals:
            raise ValueError("list at least one signal: suspended_contract, unpaid_fee")
        return self


class CartAbandonOptions(_Strict):
    hours: int = Field(default=24, ge=1)
    within_days: int = Field(default=3, ge=1)


class ResponseOptions(_Strict):
    campaign: str
    kinds: tuple[ResponseKind, ...] = ("click",)
    within_days: int = Field(default=7, ge=1)


EventOptions = (
    BirthdayOptions
    | AddressChangeOptions
    | SegmentChangeOptions
    | BandChangeOptions
    | ScoreThresholdOptions
    | NewProductOptions
    | ContractExpiringOptions
    | UnderUseOptions
    | ActivityChangeOptions
    | BalanceChangeOptions
    | NonPaymentOptions
    | CartAbandonOptions
    | ResponseOptions
)

EVENTS: dict[str, type[BaseModel]] = {
    "birthday": BirthdayOptions,
    "address_change": AddressChangeOptions,
    "segment_change": SegmentChangeOptions,
    "band_change": BandChangeOptions,
    "score_threshold": ScoreThresholdOptions,
    "new_product": NewProductOptions,
    "contract_expiring": ContractExpiringOptions,
    "under_use": UnderUseOptions,
    "activity_change": ActivityChangeOptions,
    "balance_change": BalanceChangeOptions,
    "non_payment": NonPaymentOptions,
    "cart_abandon": CartAbandonOptions,
    "response": ResponseOptions,
}


class ActionSpec(_Strict):
    """``campaign: FILE.yaml or NAME`` or ``webhook: URL`` (with ``timeout`` seconds)."""

    campaign: str | None = None
    webhook: str | None = None
    timeout: float = Field(default=10.0, gt=0, le=300)
    max_attempts: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _one_action(self) -> ActionSpec:
        if (self.campaign is None) == (self.webhook is None):
            raise ValueError("give either campaign (a file or a stored name) or webhook (a URL)")
        if self.webhook is not None and not self.webhook.startswith(("http://", "https://")):
            raise ValueError(f"the webhook must be an http:// or https:// URL, got {self.webhook}")
        return self


class TriggerSpec(_Strict):
    """The keys every trigger has; the event's options are the other keys."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$")
    event: str
    action: ActionSpec
    description: str | None = None
