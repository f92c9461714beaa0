"""What a test key may do: nothing it does reaches a citizen.

- It creates, updates, submits and estimates broadcasts for real; they are marked as test
  broadcasts, seen only by test keys, and no key may approve, schedule or send them.
- approve, schedule, send, pause, resume, cancel and retry-failed are dry runs: the real
  service call runs with every check, inside a transaction that is then rolled back, and
  the answer says what would have happened (`"dry_run": true`).
- A test send goes out only if the broadcast's channel points at the sandbox.
- Nothing else may start a test broadcast either (the console, the CLI, the scheduler): a
  save that would schedule or start one is refused, outside the API's dry runs.
"""

import contextvars
from contextlib import contextmanager
from urllib.parse import urlparse

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from banditore.api.models import TestBroadcast
from banditore.broadcasts import lifecycle
from banditore.broadcasts.models import Broadcast

META_HOSTS = ("facebook.com", "whatsapp.com", "fbsbx.com")


B = Broadcast.Status
STARTED = {B.SCHEDULED, B.SENDING, B.SENT}
_in_dry_run = contextvars.ContextVar("api_dry_run", default=False)


class _DryRun(Exception):
    pass


@contextmanager
def dry_run(enabled: bool):
    """Run the body; when enabled, roll back whatever it wrote (its checks still ran)."""
    if not enabled:
        yield
        return
    token = _in_dry_run.set(True)
    try:
        with transaction.atomic():
            yield
            raise _DryRun
    except _DryRun:
        pass
    finally:
        _in_dry_run.reset(token)


def refuse_starting(sender, instance, **kwargs):
    """pre_save of Broadcast: a test broadcast is never scheduled or started for real. A
    Refused, as every caller of the lifecycle already handles; its transaction rolls back."""
    if instance.pk is None or instance.status not in STARTED or _in_dry_run.get():
        return
    if is_test_broadcast(instance):
        raise lifecycle.Refused(
            "test_broadcast",
            str(_("This broadcast was created with a test key: it can't be sent.")),
        )


def is_test_broadcast(broadcast) -> bool:
    return TestBroadcast.objects.filter(broadcast_id=broadcast.pk).exists()


def reaches_only_sandbox(channel) -> bool:
    host = (urlparse(str(channel.config.get("base_url", ""))).hostname or "").lower()
    return bool(host) and not any(host == h or host.endswith("." + h) for h in META_HOSTS)
