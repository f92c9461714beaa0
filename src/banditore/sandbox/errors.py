"""Meta's error catalogue and the two shapes errors take: the synchronous Graph error envelope
(reference §3.1) and the error object inside webhooks (reference §3.2).

Code choices where Meta is vague (documented so the adapter's tests know what to expect):
- a missing envelope field (`messaging_product`, `to`, `text.body`, `template.name`,
  `template.language.code`) → 100 with message "(#100) The parameter X is required.", as real
  Graph responses read;
- the object named by `type` missing (e.g. `type: text` without `text`) → 131008;
- an unknown `type` → 131051;
- a template text parameter that is empty, or has a newline, a tab or more than 4 consecutive
  spaces → 100 with the details Meta is reported to send (integrations also saw 132018);
- a template that exists but is PENDING or REJECTED → 132001 (it "does not exist" for sending);
  PAUSED → 132015; DISABLED → 132016.
"""

from __future__ import annotations

import secrets
from typing import Any

# code → (title, default details). Titles follow Meta's error-code page.
CATALOGUE: dict[int, tuple[str, str]] = {
    0: ("AuthException", "We were unable to authenticate the app user."),
    1: ("API Unknown", "Invalid request or possible server error."),
    2: ("API Service", "Temporary due to downtime or due to being overloaded."),
    3: ("API Method", "Capability or permissions issue."),
    4: ("Application request limit reached", "The app has reached its API call rate limit."),
    10: ("Permission Denied", "Permission is either not granted or has been removed."),
    100: (
        "Invalid parameter",
        "The request included one or more unsupported or misspelled parameters.",
    ),
    190: ("Access token has expired", "Your access token has expired."),
    368: (
        "Temporarily blocked for policies violations",
        "The WhatsApp Business Account has been restricted.",
    ),
    80007: ("Rate limit issues", "The WhatsApp Business Account has reached its rate limit."),
    130429: ("Rate limit hit", "Cloud API message throughput has been reached."),
    130472: (
        "User's number is part of an experiment",
        "Failed to send message because this user's phone number is part of an experiment.",
    ),
    131000: ("Something went wrong", "Message failed to send due to an unknown error."),
    131005: ("Access denied", "Permission is either not granted or has been removed."),
    131008: ("Required parameter is missing", "The request is missing a required parameter."),
    131009: ("Parameter value is not valid", "One or more parameter values are invalid."),
    131016: ("Service unavailable", "A service is temporarily unavailable."),
    131021: ("Recipient cannot be sender", "Sender and recipient phone number is the same."),
    131026: ("Message undeliverable", "Message Undeliverable."),
    131030: (
        "Recipient phone number not in allowed list",
        "Add recipient phone number to recipient list and try again.",
    ),
    131031: ("Account has been locked", "The WhatsApp Business Account is restricted or disabled."),
    131042: (
        "Business eligibility payment issue",
        "There was an error related to your payment method.",
    ),
    131045: (
        "Incorrect certificate",
        "Message failed to send due to a phone number registration error.",
    ),
    131047: (
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number.",
    ),
    131048: (
        "Spam rate limit hit",
        "Message failed to send because there are restrictions on how many messages can be "
        "sent from this phone number.",
    ),
    131049: (
        "This message was not delivered to maintain healthy ecosystem engagement.",
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
    ),
    131050: (
        "User has stopped marketing messages",
        "Unable to deliver the message. This recipient has chosen to stop receiving marketing"
        " messages on WhatsApp from your business.",
    ),
    131051: ("Unsupported message type", "Message type is not currently supported."),
    131053: ("Media upload error", "Unable to upload the media used in the message."),
    131056: (
        "(Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone "
        "number to the same phone number in a short period of time.",
    ),
    131057: ("Account in maintenance mode", "Business Account is in maintenance mode."),
    132000: (
        "Number of parameters does not match the expected number of params",
        "The number of variable parameter values included in the request did not match the "
        "number of variable parameters defined in the template.",
    ),
    132001: (
        "Template name does not exist in the translation",
        "The template does not exist in the specified language or the template has not been "
        "approved.",
    ),
    132005: ("Translated text too long", "Translated text is too long."),
    132007: ("Format character policy violated", "Template content violates a WhatsApp policy."),
    132012: (
        "Parameter format does not match format in the created template",
        "Variable parameter values formatted incorrectly.",
    ),
    132015: (
        "Template is Paused",
        "Template is paused due to low quality so it cannot be sent in a template message.",
    ),
    132016: (
        "Template is disabled",
        "Template has been paused too many times due to low quality and is now permanently "
        "disabled.",
    ),
    132018: (
        "There's an issue with the parameters in your template.",
        "One or more parameter values are invalid.",
    ),
    133004: ("Server temporarily unavailable", "Server is temporarily unavailable."),
    133010: (
        "Phone number not registered",
        "The phone number is not registered on the WhatsApp Business Platform.",
    ),
    135000: (
        "Generic user error",
        "Message failed to send because of an unknown error with your request parameters.",
    ),
}

# The older Meta table of HTTP statuses (reference §3.3); anything not listed answers 400.
_HTTP_BY_CODE: dict[int, int] = {
    0: 401,
    190: 401,
    10: 403,
    368: 403,
    131005: 403,
    131031: 403,
    132001: 404,
    3: 500,
    131000: 500,
    131016: 500,
    131045: 500,
    131057: 500,
    133000: 500,
    2: 503,
    133004: 503,
}
_HTTP_BY_CODE.update(dict.fromkeys(range(200, 300), 403))

# Codes for which Graph adds the `x-business-use-case-usage` header.
USAGE_HEADER_CODES = frozenset({4, 80007, 130429})

ERROR_DOCS_URL = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"


def http_status_for(code: int, overrides: dict[int, int] | None = None) -> int:
    if overrides and code in overrides:
        return overrides[code]
    return _HTTP_BY_CODE.get(code, 400)


def title_for(code: int) -> str:
    return CATALOGUE.get(code, ("Unknown error", ""))[0]


def new_fbtrace_id() -> str:
    return secrets.token_urlsafe(17)[:23]


class GraphError(Exception):
    """A synchronous Graph API error; the request handler turns it into Meta's envelope."""

    def __init__(
        self,
        code: int,
        details: str | None = None,
        *,
        message: str | None = None,
        subcode: int | None = None,
        type_: str = "OAuthException",
        with_error_data: bool = True,
        http_status: int | None = None,
    ) -> None:
        title, default_details = CATALOGUE.get(code, ("Unknown error", ""))
        self.code = code
        self.details = details if details is not None else default_details
        self.message = message if message is not None else f"(#{code}) {title}"
        self.subcode = subcode
        self.type = type_
        self.with_error_data = with_error_data
        self.http_status = http_status
        super().__init__(self.message)

    def envelope(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.code}
        if self.with_error_data:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["fbtrace_id"] = new_fbtrace_id()
        return {"error": error}


def missing_parameter(name: str) -> GraphError:
    text = f"The parameter {name} is required."
    return GraphError(100, text, message=f"(#100) {text}")


def invalid_parameter(details: str) -> GraphError:
    return GraphError(100, details)


def invalid_token(missing: bool) -> GraphError:
    message = (
        "An active access token must be used to query information about the current user."
        if missing
        else "Invalid OAuth access token - Cannot parse access token"
    )
    return GraphError(190, message=message, with_error_data=False)


def unknown_object(object_id: str, method: str = "post") -> GraphError:
    message = (
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read the "
        "Graph API documentation at https://developers.facebook.com/docs/graph-api"
    )
    return GraphError(
        100, message=message, subcode=33, type_="GraphMethodException", with_error_data=False
    )


def webhook_error(code: int, details: str | None = None) -> dict[str, Any]:
    """The error object of a failed status webhook (no `type`, no `fbtrace_id`)."""
    title, default_details = CATALOGUE.get(code, ("Unknown error", ""))
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details if details is not None else default_details},
        "href": ERROR_DOCS_URL,
    }
