"""Identifiers the sandbox hands out: wamids, media ids, template ids."""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import random
import secrets

# Real wamids are base64 of a small binary record holding the recipient's number and a random
# message id (e.g. "wamid.HBgLMTU1NTEyMzAwMDEVAgARGBI5QTg3NjU0MzIxMEFCQ0RFRgA="). Reproducing
# that layout keeps ids looking and sizing like Meta's (always ≤ 128 characters).
_MIDDLE = b"\x15\x02\x00\x11\x18\x12"


# Random enough to never collide in a run; a PRNG keeps a syscall off every send.
_rng = random.Random()


def new_wamid(wa_id: str) -> str:
    number = wa_id.encode("ascii")[:32]
    raw = b"\x1c\x18" + bytes([len(number)]) + number + _MIDDLE
    raw += f"{_rng.getrandbits(72):018X}".encode("ascii") + b"\x00"
    return "wamid." + base64.b64encode(raw).decode("ascii")


_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))


def new_numeric_id(prefix: int = 1) -> str:
    """A 16-digit numeric id, unique within the process (media and template ids)."""
    return f"{prefix}{next(_counter) % 10**9:09d}{secrets.randbelow(10**6):06d}"


# Calling code → ISO country for the BSUID prefix; enough for the numbers tests and demos use.
_COUNTRIES = {"39": "IT", "1": "US", "44": "GB", "33": "FR", "49": "DE", "34": "ES", "41": "CH"}


def bsuid(waba_id: str, wa_id: str) -> str:
    """A business-scoped user id (2026 usernames rollout), e.g. "IT.1349871234567890".

    Stable for one (business, user) pair and different across businesses, like Meta's.
    """
    country = next((c for p, c in _COUNTRIES.items() if wa_id.startswith(p)), "ZZ")
    digest = hashlib.sha256(f"{waba_id}:{wa_id}".encode()).digest()
    return f"{country}.{int.from_bytes(digest[:8], 'big') % 10**16:016d}"
