"""What a test key may do: nothing it does reaches a citizen.

- It creates, updates, submits and estimates broadcasts for real; they are marked as test
  broadcasts, seen only by test keys, and no key may approve, schedule or send them.
- approve, schedule, send, pause, resume, cancel and retry-failed are dry runs: the real
  service call runs with every check, inside a transaction that is then rolled back, and
  the answer says what would have happened (`"dry_run": true`).
- A test send goes out only if the broadcast's channel points at the sandbox.
"""

from contextlib import contextmanager
from urllib.parse import urlparse

from django.db import transaction

from banditore.api.models import TestBroadcast

META_HOSTS = ("facebook.com", "whatsapp.com", "fbsbx.com")


class _DryRun(Exception):
    pass


@contextmanager
def dry_run(enabled: bool):
    """Run the body; when enabled, roll back whatever it wrote (its checks still ran)."""
    if not enabled:
        yield
        return
    try:
        with transaction.atomic():
            yield
            raise _DryRun
    except _DryRun:
        pass


def is_test_broadcast(broadcast) -> bool:
    return TestBroadcast.objects.filter(broadcast_id=broadcast.pk).exists()


def reaches_only_sandbox(channel) -> bool:
    host = (urlparse(str(channel.config.get("base_url", ""))).hostname or "").lower()
    return bool(host) and not any(host == h or host.endswith("." + h) for h in META_HOSTS)
