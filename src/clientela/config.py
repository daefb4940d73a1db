"""Settings: the one configuration object.

Built at the entry points (the CLI, the API, tests) and passed in; never created at import time.
Values come, by increasing precedence, from the defaults below, a YAML file (``--config`` or
``CLIENTELA_CONFIG``), environment variables ``CLIENTELA_<NAME>`` and explicit arguments.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from clientela.errors import ConfigError

__all__ = [
    "DEFAULT_REQUIRE_OPT_IN",
    "DEFAULT_SERVICE_POLICIES",
    "CampaignSettings",
    "Channel",
    "IdentityRule",
    "PressureLimit",
    "ServicePolicy",
    "Settings",
]

DEFAULT_DB = "clientela.duckdb"
# The channels a campaign contacts through.
Channel = Literal["call", "email", "sms", "mail", "ads", "push"]


class ServicePolicy(BaseModel):
    """What a value tier gets: who manages the account and on which terms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_management: str
    credit: str
    payment_terms: str
    contract: str
    discount: str
    returns: str
    delivery: str
    support: str


DEFAULT_SERVICE_POLICIES: dict[str, ServicePolicy] = {
    "A": ServicePolicy(
        account_management="assigned key account manager",
        credit="best credit terms",
        payment_terms="30-45 days",
        contract="master contract",
        discount="volume discount",
        returns="unconditional returns",
        delivery="express delivery",
        support="24/7 support with SLA",
    ),
    "B": ServicePolicy(
        account_management="shared account manager",
        credit="standard credit line",
        payment_terms="30 days",
        contract="framework contract",
        discount="loyalty discount",
        returns="returns within 60 days",
        delivery="priority delivery",
        support="extended-hours support",
    ),
    "C": ServicePolicy(
        account_management="inside sales team",
        credit="limited credit",
        payment_terms="15 days",
        contract="standard contract",
        discount="promotional discount only",
        returns="returns within 30 days",
        delivery="standard delivery",
        support="business-hours support",
    ),
    "D": ServicePolicy(
        account_management="self-service",
        credit="no credit",
        payment_terms="cash",
        contract="standard contract",
        discount="no discount",
        returns="warranty returns only",
        delivery="standard delivery",
        support="self-service support",
    ),
}


class IdentityRule(BaseModel):
    """How customers unify into one profile.

    ``keys``: the normalised keys compared; ``match``: ``any`` unifies customers that share any
    one key (transitively), ``all`` only customers that share every key.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: tuple[Literal["email", "phone"], ...] = ("email", "phone")
    match: Literal["any", "all"] = "any"

    @field_validator("keys")
    @classmethod
    def _keys_not_empty(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        if not keys:
            raise ValueError("at least one identity key is needed")
        if len(set(keys)) != len(keys):
            raise ValueError("identity keys repeat")
        return keys


class PressureLimit(BaseModel):
    """A contact-pressure limit every campaign obeys (see ``docs/campaigns.md``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Channel | None = None
    max: int | None = Field(default=None, ge=0)
    days: int | None = Field(default=None, ge=1)
    min_gap_days: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_kind(self) -> PressureLimit:
        if self.min_gap_days is not None:
            if self.max is not None or self.days is not None:
                raise ValueError("a pressure limit is either max/days or min_gap_days, not both")
        elif self.max is None or self.days is None:
            raise ValueError("a pressure limit needs 'max' and 'days' (or 'min_gap_days')")
        return self


# Whether a customer without any consent record for the channel may be contacted: e-mail, SMS,
# push and ads need an opt-in, as the e-privacy rules of most countries have it.
DEFAULT_REQUIRE_OPT_IN: dict[str, bool] = {
    "email": True,
    "sms": True,
    "push": True,
    "ads": True,
    "call": False,
    "mail": False,
}


class CampaignSettings(BaseModel):
    """Rules every campaign obeys: global pressure limits and who needs an opt-in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pressure: tuple[PressureLimit, ...] = ()
    require_opt_in: dict[str, bool] = Field(
        default_factory=lambda: dict(DEFAULT_REQUIRE_OPT_IN),
        description="Per channel: True when a customer without a consent record is excluded.",
    )


class Settings(BaseSettings):
    """Every setting clientela reads.  See ``docs/configuration.md``."""

    model_config = SettingsConfigDict(
        env_prefix="CLIENTELA_", extra="forbid", frozen=True, validate_default=True
    )

    db: str = Field(
        default=DEFAULT_DB,
        description="A DuckDB file path (the embedded default) or a postgresql:// URL.",
    )
    default_region: str = Field(
        default="GB",
        description="ISO 3166 region used to read phone numbers written without a country code.",
    )
    unknown_customers: Literal["reject", "placeholder"] = Field(
        default="reject",
        description="What a load does with a row that names a customer the datamart lacks.",
    )
    identity: IdentityRule = Field(default_factory=IdentityRule)
    tier_cutoffs: tuple[float, float] = Field(
        default=(0.5, 0.8),
        description="Cumulative shares of positive contribution that close tiers A and B.",
    )
    service_policies: dict[str, ServicePolicy] = Field(
        default_factory=lambda: dict(DEFAULT_SERVICE_POLICIES)
    )
    campaigns: CampaignSettings = Field(default_factory=CampaignSettings)
    batch_rows: int = Field(
        default=500_000, ge=1_000, description="Rows read and validated at a time by a load."
    )
    max_abs_amount: float = Field(default=1e9, gt=0, description="Larger amounts are absurd.")
    max_abs_quantity: float = Field(default=1e7, gt=0, description="Larger quantities are absurd.")
    duckdb_memory_limit: str | None = Field(
        default="4GB",
        description=(
            "Memory DuckDB may use before it spills to disk (e.g. '4GB'; None for DuckDB's own "
            "default, 80% of the machine).  Loads and builds stay within it plus about 1 GB."
        ),
    )
    duckdb_threads: int | None = Field(default=None, ge=1)
    clv_discount_rate: float = Field(
        default=0.10,
        gt=-1,
        description="Yearly discount rate of lifetime value, applied per period of the horizon.",
    )
    clv_margin_rate: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description=(
            "Share of a purchase's value that is margin, for lifetime value; None: the "
            "transactions' own margin, or the revenue itself when they carry none."
        ),
    )

    @field_validator("tier_cutoffs")
    @classmethod
    def _cutoffs_ordered(cls, cutoffs: tuple[float, float]) -> tuple[float, float]:
        a, b = cutoffs
        if not 0 < a < b < 1:
            raise ValueError(f"tier cut-offs must satisfy 0 < A < B < 1, got {a} and {b}")
        return cutoffs

    @field_validator("default_region")
    @classmethod
    def _region_upper(cls, region: str) -> str:
        return region.upper()

    @model_validator(mode="after")
    def _policies_cover_tiers(self) -> Settings:
        missing = sorted({"A", "B", "C", "D"} - set(self.service_policies))
        if missing:
            raise ValueError(f"service_policies lacks tier(s) {', '.join(missing)}")
        return self

    @property
    def is_postgres(self) -> bool:
        return self.db.startswith(("postgresql://", "postgres://"))

    @classmethod
    def load(cls, config_file: str | Path | None = None, **overrides: Any) -> Settings:
        """Build settings from an optional YAML file, the environment and explicit overrides."""
        from clientela.yamlfile import config_error, load_model_dict

        data: dict[str, Any] = {}
        path = Path(config_file) if config_file is not None else None
        if path is not None:
            data = load_model_dict(path, cls)
            # The environment outranks the file: drop what an environment variable sets.
            for key in [k for k in data if f"CLIENTELA_{str(k).upper()}" in os.environ]:
                del data[key]
        data.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**data)
        except ValidationError as exc:
            error = config_error(exc, cls, data, path)
            if path is None or not any(str(e["loc"][0]) in data for e in exc.errors()):
                # The bad value came from the environment, not from the file.
                error = ConfigError(f"setting {error.message}")
            raise error from None
