"""WhatsApp's message templates, listed from the Graph API (`GET /{waba-id}/message_templates`,
reference §6.1) page after page, and the account's messaging limit (`GET /{phone-number-id}
?fields=whatsapp_business_manager_messaging_limit`, reference §5.3).

A management call made a few times an hour, from the worker's periodic task or the CLI, so it
is plain synchronous urllib: nothing here is on the send path.
"""

import json
import urllib.error
import urllib.parse
import urllib.request

from banditore.channels.base import SyncedTemplate, TemplateSyncError
from banditore.channels.whatsapp.config import WhatsAppConfig
from banditore.channels.whatsapp.errors import parse_graph_error

FIELDS = "name,language,category,status,components,parameter_format,id"
PAGE_SIZE = 100
# A WABA holds at most a few hundred templates (Meta caps them at 250 or 6,000 by
# verification); a paging loop that goes on past this is a broken cursor.
MAX_PAGES = 100
TIMEOUT = 20
# Meta's tiers as unique recipients per rolling 24 h; unlimited is None. TIER_50 and TIER_1K
# are legacy values that may still appear.
TIERS = {
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_1K": 1000,
    "TIER_2K": 2000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": None,
}


class WhatsAppTemplates:
    def account(self, config: WhatsAppConfig) -> str:
        return config.waba_id

    def fetch(self, config: WhatsAppConfig) -> list[SyncedTemplate]:
        if not config.waba_id:
            raise TemplateSyncError("the channel has no WhatsApp Business Account id (waba_id)")
        base = f"{config.base_url.rstrip('/')}/{config.api_version}/{config.waba_id}"
        url = f"{base}/message_templates?" + urllib.parse.urlencode(
            {"fields": FIELDS, "limit": PAGE_SIZE}
        )
        found: list[SyncedTemplate] = []
        for _page in range(MAX_PAGES):
            data = _get(url, config.access_token)
            for raw in data.get("data") or []:
                template = _template(raw)
                if template is not None:
                    found.append(template)
            url = (data.get("paging") or {}).get("next")
            if not url:
                return found
        raise TemplateSyncError(f"more than {MAX_PAGES} pages of templates: paging looks broken")

    def messaging_limit(self, config: WhatsAppConfig) -> tuple[bool, int | None]:
        """(known, limit): Meta's messaging limit for the number's portfolio; known is False
        when Meta's answer names no tier we know (the setting is then left alone)."""
        base = f"{config.base_url.rstrip('/')}/{config.api_version}/{config.phone_number_id}"
        data = _get(f"{base}?fields=whatsapp_business_manager_messaging_limit", config.access_token)
        tier = str(data.get("whatsapp_business_manager_messaging_limit") or "").upper()
        if tier not in TIERS:
            return False, None
        return True, TIERS[tier]


def _get(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        error = parse_graph_error(exc.code, exc.read())
        raise TemplateSyncError(f"({error.code}) {error.title}") from None
    except (OSError, ValueError) as exc:
        raise TemplateSyncError(f"{type(exc).__name__}: {exc}") from None
    try:
        data = json.loads(body)
    except ValueError:
        raise TemplateSyncError("the template list is not JSON") from None
    if not isinstance(data, dict):
        raise TemplateSyncError("the template list is not a JSON object")
    return data


def _template(raw) -> SyncedTemplate | None:
    if not isinstance(raw, dict) or not raw.get("name") or not raw.get("language"):
        return None
    components = raw.get("components")
    reason = raw.get("rejected_reason")
    return SyncedTemplate(
        name=str(raw["name"])[:512],
        language=str(raw["language"])[:15],
        category=str(raw.get("category") or "").upper()[:30],
        status=str(raw.get("status") or "").upper()[:30],
        components=components if isinstance(components, list) else [],
        parameter_format=str(raw.get("parameter_format") or "positional").lower()[:12],
        provider_id=str(raw.get("id") or "")[:64],
        reason="" if reason in (None, "NONE") else str(reason)[:300],
    )


SOURCE = WhatsAppTemplates()
