"""The Cloud API's errors, parsed and classified into what the dispatcher must do.

Branch on `error.code` (Meta's advice), never on the HTTP status, except when there is no
Graph error body at all (network failure, bare 5xx, proxy pages). Table: reference §3.4.
"""

import json
from dataclasses import dataclass

from banditore.channels.base import RECIPIENT, RETRY, STOP, Action, SendError, Verdict

TROUBLE = Verdict(Action.RETRY, provider_trouble=True)
WINDOW = Verdict(Action.WAIT_FOR_WINDOW)


# Every code of the reference's bulk-sender table (§3.4), with the reference's action
# mapped onto our four. FIX codes become STOP_CHANNEL: a broadcast sends the same request
# shape to every subscriber, so a malformed one fails for all of them.
VERDICTS: dict[int, Verdict] = {
    0: STOP,  # could not authenticate the app user
    1: TROUBLE,  # unknown / possibly server error
    2: TROUBLE,  # service temporarily down
    3: STOP,  # capability or permission
    4: Verdict(Action.RETRY, retry_after=60.0, throttle_channel=True),  # app call-rate limit
    10: STOP,  # permission not granted
    33: STOP,  # business phone number deleted
    100: STOP,  # invalid parameter (with subcode 33: phone-number id not found)
    190: STOP,  # access token expired or invalid
    368: STOP,  # temporarily blocked for policy violations
    80007: Verdict(Action.RETRY, retry_after=60.0, throttle_channel=True),  # WABA rate limit
    130403: RECIPIENT,  # the business blocked this user
    130429: Verdict(Action.RETRY, retry_after=1.0, throttle_channel=True),  # throughput
    130472: RECIPIENT,  # user in a Meta experiment: not for this campaign
    130497: RECIPIENT,  # country restricted for this WABA
    131000: TROUBLE,  # generic error
    131005: STOP,  # access denied
    131008: STOP,  # required parameter missing
    131009: STOP,  # parameter value not valid
    131016: TROUBLE,  # service temporarily unavailable
    131021: RECIPIENT,  # recipient is the sender
    131026: RECIPIENT,  # undeliverable: not on WhatsApp, old client, blocked us
    131030: STOP,  # recipient not in the test number's allow-list: a test number in production
    131031: STOP,  # business account locked
    131037: STOP,  # display name not approved
    131042: STOP,  # payment or eligibility problem
    131045: STOP,  # number registration error
    131047: WINDOW,  # more than 24 h since the user last wrote
    131048: STOP,  # spam rate limit: pause the number, don't hammer
    131049: Verdict(Action.RETRY, retry_after=24 * 3600.0),  # per-user marketing cap: >= 24 h
    131050: Verdict(Action.OPTED_OUT),  # user stopped marketing messages from us
    131051: STOP,  # unsupported message type
    131052: RETRY,  # inbound media download error (not a send error; harmless)
    131053: STOP,  # media upload/fetch error
    131056: Verdict(Action.RETRY, retry_after=4.0),  # pair rate limit: this recipient only
    131057: Verdict(Action.RETRY, retry_after=60.0),  # maintenance mode
    131063: STOP,  # marketing templates disabled on Cloud API
    131064: STOP,  # messaging limit enforcement
    132000: STOP,  # template parameter count mismatch
    132001: STOP,  # template missing in that language
    132005: STOP,  # template text too long after hydration
    132007: STOP,  # template content policy
    132012: STOP,  # template parameter format mismatch
    132015: STOP,  # template paused
    132016: STOP,  # template disabled
    132018: STOP,  # template parameter validation
    133004: TROUBLE,  # server temporarily unavailable
    133010: STOP,  # phone number not registered
    135000: STOP,  # generic user error
}


def classify(code: int) -> Verdict:
    """What to do about a Graph error code."""
    if code in VERDICTS:
        return VERDICTS[code]
    if 200 <= code <= 299:  # permission errors
        return STOP
    # Unknown codes: retry, bounded by the dispatcher's attempt limit; it fails in the end.
    return RETRY


def classify_http(status: int) -> Verdict:
    """What to do when the response carries no Graph error body: only the status speaks."""
    if status == 429:
        return Verdict(Action.RETRY, throttle_channel=True)
    if status >= 500:
        return TROUBLE
    if status in (401, 403):
        return STOP
    return RETRY


@dataclass(frozen=True)
class GraphError:
    """Meta's error object (reference §3.1), or our stand-in for a transport failure."""

    code: int
    message: str
    http_status: int | None = None
    subcode: int | None = None
    details: str = ""
    error_type: str = ""
    fbtrace_id: str = ""

    @property
    def verdict(self) -> Verdict:
        if self.code == NETWORK_ERROR:
            return TROUBLE
        if self.code < 0:  # transport-level: no Graph body
            return classify_http(self.http_status or 0)
        return classify(self.code)

    @property
    def title(self) -> str:
        return (self.details or self.message)[:300]

    def as_send_error(self) -> SendError:
        return SendError(self.code, self.title, self.verdict)


NETWORK_ERROR = -1
HTTP_ERROR = -2


def parse_graph_error(http_status: int, body: bytes) -> GraphError:
    """Read Meta's error envelope; tolerate anything else a proxy or a broken server sends."""
    try:
        data = json.loads(body)
        error = data["error"]
        code = int(error["code"])
    except (ValueError, KeyError, TypeError):
        snippet = body[:200].decode("utf-8", "replace")
        return GraphError(HTTP_ERROR, f"HTTP {http_status}: {snippet}", http_status=http_status)
    error_data = error.get("error_data")
    # Template-management endpoints may send error_data as a plain string (reference §3.1).
    details = (
        error_data.get("details", "") if isinstance(error_data, dict) else str(error_data or "")
    )
    subcode = error.get("error_subcode")
    return GraphError(
        code=code,
        message=str(error.get("message", "")),
        http_status=http_status,
        subcode=int(subcode) if isinstance(subcode, int | str) and str(subcode).isdigit() else None,
        details=str(details),
        error_type=str(error.get("type", "")),
        fbtrace_id=str(error.get("fbtrace_id", "")),
    )
