"""A write-back that fails for real for a few seconds (issue 7, points 4 and 11).

While a broadcast drains, a trigger created by the test makes the database refuse every
write-back of a claimed row (sending → anything) for 3 s, then it is dropped. The outcomes
the dispatcher holds must be retried, not dropped: every delivery ends sent/delivered/read
with the wamid of the message its citizen got, and nobody gets a second copy (a dropped
outcome would leave the row `sending` until a reaper sent it again).
Runs on SQLite and again on PostgreSQL (make test)."""

import time

import pytest
from django.db import connection

from tests import processes
from tests.faults import (
    add_subscribers,
    assert_copies,
    assert_wamids_match,
    close_db,
    send,
    statuses,
    wait_drained,
    wait_sending_started,
    wired_sandbox,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

TRIGGER = "banditore_test_fail_flush"
CREATE = {
    "postgresql": [
        f"""CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'injected flush failure'; END $$""",
        f"""CREATE TRIGGER {TRIGGER} BEFORE UPDATE ON broadcasts_delivery FOR EACH ROW
            WHEN (OLD.status = 'sending' AND NEW.status <> 'sending')
            EXECUTE FUNCTION {TRIGGER}()""",
    ],
    "sqlite": [
        f"""CREATE TRIGGER {TRIGGER} BEFORE UPDATE ON broadcasts_delivery
            WHEN OLD.status = 'sending' AND NEW.status <> 'sending'
            BEGIN SELECT RAISE(ABORT, 'injected flush failure'); END""",
    ],
}
DROP = {
    "postgresql": [
        f"DROP TRIGGER IF EXISTS {TRIGGER} ON broadcasts_delivery",
        f"DROP FUNCTION IF EXISTS {TRIGGER}()",
    ],
    "sqlite": [f"DROP TRIGGER IF EXISTS {TRIGGER}"],
}


def execute(statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
    close_db()  # SQLite: hold no lock between statements


def test_a_failing_write_back_is_retried_not_dropped(comune):
    numbers = add_subscribers(comune, 120)
    text = "Ordinanza: divieto di balneazione nel lago della Burida"
    with wired_sandbox(comune, mps=20) as sandbox:
        close_db()
        with processes.worker() as worker:
            broadcast = send(text, "urgent")
            wait_sending_started(sandbox, 20)
            execute(CREATE[connection.vendor])
            try:
                time.sleep(3)
                refused_while = sandbox.accepted()
            finally:
                execute(DROP[connection.vendor])
            assert statuses(broadcast)["queued"] > 0, "the broadcast ended during the failure"
            wait_drained(broadcast, timeout=45)
            processes.wait_for(
                lambda: not broadcast.deliveries.filter(wamid__isnull=True).exists(),
                15,
                "every delivery to have its wamid",
            )
            assert worker.poll() is None, "the worker died"
        assert refused_while > 20
        assert_copies(sandbox.copies(text), numbers, may_repeat=set())
        assert_wamids_match(broadcast, sandbox, text)
