"""The sandbox's fixed, documented defaults.

Demo data, the Django side's settings and many tests rely on these exact values, so they live
in one place and nowhere else. Change them only together with the demo fixtures.
"""

from __future__ import annotations

HOST = "127.0.0.1"
PORT = 8650

# The API version the sandbox suggests to clients. Any `vNN.N` segment is accepted, and so is
# no version at all (Meta then uses the app's default version).
API_VERSION = "v23.0"

# The one business number of the default configuration.
PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
DISPLAY_PHONE_NUMBER = "390510000001"
VERIFIED_NAME = "Comune di Esempio"

# Credentials. There is exactly one accepted access token per sandbox (like a system-user
# token that can reach every number of the portfolio).
ACCESS_TOKEN = "sandbox-token"
APP_SECRET = "sandbox-app-secret"
VERIFY_TOKEN = "sandbox-verify-token"

# The one template the default WABA has, approved, as the Banditore demo uses it.
TEMPLATE_NAME = "banditore_notizia"
TEMPLATE_LANGUAGE = "it"
TEMPLATE_CATEGORY = "UTILITY"
TEMPLATE_BODY = "Notizie dal {{1}}:\n\n{{2}}\n\nPer non ricevere più messaggi scrivi CANCELLAMI."
TEMPLATE_ID = "1276543219876543"

# Limits (reference §5): throughput per number, pair rate (1 message per 6 s, burst 45).
MPS = 80
PAIR_INTERVAL_SECONDS = 6.0
PAIR_BURST = 45
WINDOW_SECONDS = 24 * 3600

# Status timeline: each delay is counted from the previous stage.
SENT_AFTER_MS = 50
DELIVERED_AFTER_MS = 200
READ_AFTER_MS = 1000
