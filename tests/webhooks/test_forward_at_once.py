"""PostgreSQL applies a batch's sent / delivered / read in one statement: it must end where
applying each status name in turn, statement by statement, ends, from every state."""

from datetime import UTC, datetime, timedelta
from itertools import combinations

import pytest
from django.db import connection

from banditore.broadcasts.models import Delivery
from banditore.webhooks import statuses
from banditore.webhooks.statuses import FORWARD, MOVES_FROM, Move
from tests.factories import channel_of

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
SUBSETS = [names for size in (1, 2, 3) for names in combinations(FORWARD, size)]
FIELDS = ("status", "sent_at", "delivered_at", "read_at")


def test_each_status_may_move_from_every_earlier_one_and_its_states():
    # What makes testing each status against the row as it was equal to applying in turn.
    for i, earlier in enumerate(FORWARD):
        for later in FORWARD[i + 1 :]:
            assert {*MOVES_FROM[earlier], earlier} <= set(MOVES_FROM[later])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one statement is PostgreSQL's")
def test_one_statement_ends_where_applying_each_status_in_turn_ends(comune):
    channel = channel_of(comune)
    cases = []
    for state in Delivery.Status.values:
        for names in SUBSETS:
            for sent_before in (None, T0 - timedelta(hours=1)):
                cases.append((state, names, sent_before))

    def make(prefix):
        Delivery.objects.bulk_create(
            Delivery(organization=comune, channel=channel, recipient="+39333", status=state,
                     sent_at=sent_before, wamid=f"{prefix}.{n}")
            for n, (state, _, sent_before) in enumerate(cases)
        )  # fmt: skip

    def moves(prefix):
        # Each status twice, the later copy first: the earliest time is the one kept.
        found = []
        for n, (_, names, _) in enumerate(cases):
            for step, name in enumerate(names):
                at = T0 + timedelta(minutes=10 * step + FORWARD.index(name))
                for copy in (at + timedelta(seconds=30), at):
                    found.append(Move(channel.pk, f"{prefix}.{n}", name, copy))
        return found

    make("once")
    make("turn")
    statuses.apply_forward(moves("once"))
    in_turn = moves("turn")
    with connection.cursor() as cursor:
        for name in FORWARD:
            earliest = {}
            for move in in_turn:
                if move.status == name:
                    key = (move.channel_id, move.provider_id)
                    earliest[key] = min(move.at, earliest.get(key, move.at))
            rows = [(channel_id, wamid, at) for (channel_id, wamid), at in earliest.items()]
            statuses._forward_one_status(cursor, name, rows)

    def ends(prefix):
        rows = Delivery.objects.filter(wamid__startswith=f"{prefix}.").values_list("wamid", *FIELDS)
        return {int(wamid.rsplit(".", 1)[1]): rest for wamid, *rest in rows}

    once, turn = ends("once"), ends("turn")
    assert len(once) == len(cases)
    differ = {cases[n]: (once[n], turn[n]) for n in once if once[n] != turn[n]}
    assert not differ
    # Not vacuous: the cases move deliveries, from several states, to each forward status.
    assert {row[0] for row in once.values()} >= {"sent", "delivered", "read", "skipped"}
