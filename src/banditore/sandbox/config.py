"""Every knob of the sandbox, as strict models.

The config arrives from a TOML file, from the command line and, at run time, from
`POST /_sandbox/config`; all three go through these models so that a typo in a knob is an
error instead of a silently ignored key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from banditore.sandbox import defaults
from banditore.sandbox.mail.config import MailConfig
from banditore.sandbox.telegram.config import TelegramConfig

TemplateStatus = Literal["APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED"]
TemplateCategory = Literal["UTILITY", "MARKETING", "AUTHENTICATION"]
HeaderFormat = Literal["TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION"]
Tier = Literal[
    "TIER_50", "TIER_250", "TIER_1K", "TIER_2K", "TIER_10K", "TIER_100K", "TIER_UNLIMITED"
]

# Unique recipients per rolling 24 h for each tier (reference §5.3).
TIER_LIMITS: dict[str, int | None] = {
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_1K": 1_000,
    "TIER_2K": 2_000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": None,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class TemplateConfig(_Strict):
    """One message template in one language, in the sandbox's compact form.

    The template endpoints render it as Meta's `components` list; creating a template through
    the API converts the other way.
    """

    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    language: str
    category: TemplateCategory = "UTILITY"
    status: TemplateStatus = "APPROVED"
    body: str = Field(max_length=1024)
    parameter_format: Literal["positional", "named"] = "positional"
    header_format: HeaderFormat | None = None
    header_text: str | None = Field(default=None, max_length=60)
    footer: str | None = Field(default=None, max_length=60)
    buttons: list[dict[str, Any]] = Field(default_factory=list)
    id: str | None = None
    waba_id: str = defaults.WABA_ID


class NumberConfig(_Strict):
    """One business phone number. Unset knobs fall back to the sandbox-wide value."""

    phone_number_id: str = Field(pattern=r"^\d{1,20}$")
    display_phone_number: str = Field(pattern=r"^\d{6,15}$")
    verified_name: str
    waba_id: str = Field(pattern=r"^\d{1,20}$")
    callback_url: str | None = None
    mps: float | None = Field(default=None, gt=0)
    quality_rating: Literal["GREEN", "YELLOW", "RED", "UNKNOWN"] = "GREEN"
    messaging_limit_tier: Tier | None = None
    registered: bool = True  # False → every send fails with 133010
    # A test number may message at most 5 allow-listed recipients (→ 131030); None = any.
    allowed_recipients: list[str] | None = None


class WebhookConfig(_Strict):
    """How and when the sandbox calls the business's webhook endpoint back."""

    sent_after_ms: float = Field(default=defaults.SENT_AFTER_MS, ge=0)
    delivered_after_ms: float = Field(default=defaults.DELIVERED_AFTER_MS, ge=0)
    read_after_ms: float = Field(default=defaults.READ_AFTER_MS, ge=0)
    delivered_probability: float = Field(default=1.0, ge=0, le=1)
    read_probability: float = Field(default=1.0, ge=0, le=1)
    # Meta skips `delivered` when the user has the chat open (reference §4.5).
    read_without_delivered_probability: float = Field(default=0.0, ge=0, le=1)
    # Retries: exponential backoff from `retry_initial_ms`, capped at `retry_max_ms`, given up
    # after `retry_horizon_s` (Meta says 7 days or 36 hours; compressed here).
    retry_initial_ms: float = Field(default=500, gt=0)
    retry_max_ms: float = Field(default=30_000, gt=0)
    retry_horizon_s: float = Field(default=300, ge=0)
    timeout_s: float = Field(default=10, gt=0)
    # Several statuses of one number in one POST; 1 = never batch.
    batch_max: int = Field(default=1, ge=1, le=1000)
    batch_window_ms: float = Field(default=20, ge=0)
    concurrency: int = Field(default=8, ge=1, le=256)
    # Webhooks up to v23.0 carry a `conversation` object in statuses; v24.0+ omit it.
    include_conversation: bool = False
    # 2026 usernames rollout (reference §4.4-4.5): `contacts[].user_id` (BSUID) on inbound
    # messages and a `contacts` array on sent/delivered/read statuses. Current clients (pywa
    # 4.5) require them. Meta's status reference says failed statuses omit `contacts`;
    # `contacts_on_failed` adds them anyway for clients that cannot cope.
    user_ids: bool = True
    contacts_on_failed: bool = False
    # Meta delivers at least once and in no guaranteed order (reference §4.7).
    duplicate_probability: float = Field(default=0.0, ge=0, le=1)
    out_of_order_probability: float = Field(default=0.0, ge=0, le=1)


class LimitsConfig(_Strict):
    """Meta's rate limits and recipient rules (reference §5)."""

    mps: float = Field(default=defaults.MPS, gt=0)
    # Bucket capacity in seconds of throughput: 1.0 lets a client burst one second's worth.
    throughput_burst_seconds: float = Field(default=1.0, gt=0)
    pair_interval_s: float = Field(default=defaults.PAIR_INTERVAL_SECONDS, gt=0)
    pair_burst: int = Field(default=defaults.PAIR_BURST, ge=1)
    window_seconds: float = Field(default=defaults.WINDOW_SECONDS, ge=0)
    # Recipients that are not WhatsApp users: sends are accepted, then fail with 131026.
    not_on_whatsapp: list[str] = Field(default_factory=list)
    # Unique recipients outside an open window per rolling 24 h. Meta starts new portfolios at
    # TIER_250; the sandbox defaults to unlimited so that demos and benchmarks are not capped.
    messaging_limit_tier: Tier = "TIER_UNLIMITED"
    # Meta documents no behaviour for an exhausted limit: reject synchronously, or accept and
    # then emit a failed status; both with a configurable code.
    messaging_limit_behaviour: Literal["reject", "fail"] = "reject"
    messaging_limit_error_code: int = 131048
    # Marketing templates a single user may receive per rolling 24 h (0 = no cap) → 131049.
    marketing_cap_per_user: int = Field(default=0, ge=0)
    # Since 2025-04-01 Meta delivers no marketing templates to US (+1) numbers → 131049.
    us_marketing_pause: bool = True
    # Per-recipient profiles (numbers in any format).
    marketing_opted_out: list[str] = Field(default_factory=list)  # → 131050 on marketing
    experiment_group: list[str] = Field(default_factory=list)  # → 130472 on marketing
    read_receipts_off: list[str] = Field(default_factory=list)  # never `read`


class SandboxConfig(_Strict):
    host: str = defaults.HOST
    port: int = Field(default=defaults.PORT, ge=0, le=65535)
    latency_ms: float = Field(default=0, ge=0)
    # Around latency_ms: half-width (uniform) or standard deviation (normal, lognormal).
    latency_spread_ms: float = Field(default=0, ge=0)
    latency_distribution: Literal["fixed", "uniform", "normal", "lognormal"] = "fixed"
    api_version: str = defaults.API_VERSION
    access_token: str = defaults.ACCESS_TOKEN
    # More tokens and what they are: "valid", "expired" (190/463) or "no_permission" (10).
    tokens: dict[str, Literal["valid", "expired", "no_permission"]] = Field(default_factory=dict)
    app_secret: str = defaults.APP_SECRET
    verify_token: str = defaults.VERIFY_TOKEN
    # Where webhooks go for numbers without their own callback URL; empty = nowhere.
    callback_url: str = ""
    numbers: list[NumberConfig] = Field(default_factory=lambda: [default_number()])
    templates: list[TemplateConfig] = Field(default_factory=lambda: [default_template()])
    webhooks: WebhookConfig = Field(default_factory=WebhookConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    # Messages kept for /_sandbox/messages; the oldest are forgotten beyond this (memory bound
    # for long benchmarks; their status timelines still run).
    max_stored_messages: int = Field(default=200_000, ge=1)
    # HTTP status per error code, overriding the older Meta table (reference §3.3).
    error_http_status: dict[int, int] = Field(default_factory=dict)
    # The Telegram Bot API beside the Graph API (its routes never collide: /bot<token>/...).
    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    # The SMTP sink listens on a port of its own: off unless asked for (`--smtp-port`), so
    # the many sandboxes a test run starts never fight over one port.
    mail: MailConfig | None = None


def default_number() -> NumberConfig:
    return NumberConfig(
        phone_number_id=defaults.PHONE_NUMBER_ID,
        display_phone_number=defaults.DISPLAY_PHONE_NUMBER,
        verified_name=defaults.VERIFIED_NAME,
        waba_id=defaults.WABA_ID,
    )


def default_template() -> TemplateConfig:
    return TemplateConfig(
        name=defaults.TEMPLATE_NAME,
        language=defaults.TEMPLATE_LANGUAGE,
        category=defaults.TEMPLATE_CATEGORY,
        status="APPROVED",
        body=defaults.TEMPLATE_BODY,
        id=defaults.TEMPLATE_ID,
        waba_id=defaults.WABA_ID,
    )


def load_toml(path: str | Path) -> SandboxConfig:
    with open(path, "rb") as f:
        return SandboxConfig.model_validate(tomllib.load(f))


def merge_config(current: SandboxConfig, patch: dict[str, Any]) -> SandboxConfig:
    """Apply a partial config (as posted to `/_sandbox/config`) and validate the result.

    Nested sections merge key by key; `numbers` merge by `phone_number_id` (unknown ids are
    added), so a test can change one number's callback URL without restating the others.
    """
    data = current.model_dump()
    for key, value in patch.items():
        if key == "numbers" and isinstance(value, list):
            by_id = {n["phone_number_id"]: n for n in data["numbers"]}
            for item in value:
                if not isinstance(item, dict) or "phone_number_id" not in item:
                    raise ValueError("each item of 'numbers' needs a phone_number_id")
                existing = by_id.get(str(item["phone_number_id"]))
                if existing is None:
                    data["numbers"].append(dict(item))
                    by_id[str(item["phone_number_id"])] = data["numbers"][-1]
                else:
                    existing.update(item)
        elif isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return SandboxConfig.model_validate(data)
