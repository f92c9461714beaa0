"""The messaging-limit gate: how many business-initiated messages a pump may still claim.

Meta caps the unique recipients of business-initiated (template) messages per rolling 24
hours (the channel's `messaging_limit`). A pump asks its gate before each claim. Counting the
places taken (broadcasts/window.py, the estimate's own rule) is one grouped query over the
last day's sends: too much for every claim of a 1,000 msg/s drain, so the gate counts once,
decrements as rows are claimed, and counts again every RECOUNT_SECONDS. Free text and replies
never take a place; lanes are claimed in priority order, so an emergency takes the remaining
places before a newsletter.

Rows the limit has no place for wait with `next_attempt_at` at the moment the oldest place
frees up: the claim and CHANNELS_WITH_WORK pass them by until then, and the drain resumes by
itself. Before deferring anyone the gate counts again (its local figure only ever errs low:
it counts every claimed row as a new recipient), so nobody waits a day for a place that is
free.

Runs on the pump's database thread only (no locking).
"""

import datetime
import time

from django.utils import timezone

from banditore.broadcasts import window
from banditore.channels.models import Channel

RECOUNT_SECONDS = 5.0
# Never defer to a moment this close (or past): a place that "frees" now was counted wrong
# (clock skew, a send whose receipt is late) and recounting in a loop would spin.
MIN_WAIT = datetime.timedelta(seconds=30)


class TierGate:
    def __init__(self, channel_id: int):
        self.channel_id = channel_id
        self.limit: int | None = None
        self.left: int | None = None
        self.counted_at = float("-inf")
        # When the oldest place frees, known while the gate is full (cleared at each count).
        self.frees_at: datetime.datetime | None = None

    def places(self) -> int | None:
        """How many business-initiated rows may be claimed now; None: no limit."""
        if time.monotonic() - self.counted_at >= RECOUNT_SECONDS:
            self.count()
        return self.left

    def count(self) -> None:
        # The limit is read again too: an operator who sets or raises it in the console
        # is obeyed within seconds, without restarting the drain.
        now = timezone.now()
        self.limit = window.messaging_limit(Channel.objects.get(pk=self.channel_id))
        if self.limit is None:
            self.left = None
        else:
            self.left = max(0, self.limit - window.places_taken(self.channel_id, now))
        self.counted_at = time.monotonic()
        self.frees_at = None

    def took(self, n: int) -> None:
        if self.left is not None:
            self.left = max(0, self.left - n)

    def full_until(self) -> datetime.datetime | None:
        """None if, counted again now, there are places after all; else when the oldest
        place frees up (the moment the waiting rows are due again)."""
        if self.frees_at is not None:
            return self.frees_at  # already counted and found full since the last count
        self.count()
        if self.left is None or self.left > 0:
            return None
        now = timezone.now()
        when = window.place_frees_at(self.channel_id, 1, now) or now + window.FREE_WINDOW
        self.frees_at = max(when, now + MIN_WAIT)
        return self.frees_at
