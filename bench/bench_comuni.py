"""One comune's big newsletter never delays another comune's emergency or replies.

Real processes on PostgreSQL (a database of its own, banditore_bench_comuni, created here and
dropped at the end; DATABASE_URL's server): the sandbox serving two phone numbers (100 ms
latency), `banditore receive` and three `banditore worker` processes. Comune Grande queues a
300,000-recipient newsletter (BENCH_COMUNI_RECIPIENTS) on its channel capped at 1,000 msg/s;
once a fifth of it is out, a citizen writes ISCRIVIMI to comune Piccolo's number and is
welcomed; then (Piccolo's channel idle and unleased again) Piccolo's civil protection sends
an emergency to its 100 subscribers, on Piccolo's own channel (80 msg/s).

- other_comune_emergency_first_message_seconds: from `broadcast send --priority emergency`
  returning to the first of its messages the sandbox accepted (the worker's sent_at of it);
  target < 1 s.
- other_comune_reply_seconds: from the receiver storing the citizen's message (the event's
  received_at) to the welcome reaching the sandbox; target < 2 s.
Both fail unless the newsletter was still draining when they were taken. Grande's number
sends no status webhooks (no callback): this bench is about the sending side.
Prints one JSON object per figure on stdout; details on stderr.
"""

import contextlib
import io
import json
import os
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import procs
from procs import free_port, http_json, log, pinned, wait_for

TMP = tempfile.mkdtemp(prefix="banditore-bench-comuni-")
SERVER = urllib.parse.urlsplit(
    os.environ.get("DATABASE_URL", "") or "postgres://postgres@127.0.0.1:5432/postgres"
)
if not SERVER.scheme.startswith("postgres"):
    SERVER = urllib.parse.urlsplit("postgres://postgres@127.0.0.1:5432/postgres")
DB_URL = SERVER._replace(path="/banditore_bench_comuni").geturl()
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("BANDITORE_VAR_DIR", TMP)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banditore.settings")

N = int(os.environ.get("BENCH_COMUNI_RECIPIENTS", 300_000))
BIG_CAP, SMALL_CAP = 1000, 80
FOLLOWERS = 100
WORKERS = 3
UNDER_WAY = 0.2
GRANDE = {"phone_number_id": "300000000001", "display_phone_number": "390434000001"}
PICCOLO = {"phone_number_id": "300000000002", "display_phone_number": "390434000002"}
CITIZEN = "+393660000001"


def sandbox_toml(callback: str) -> Path:
    from banditore.core.demo import SANDBOX

    lines = ["latency_ms = 100", "[limits]", f"mps = {BIG_CAP}", "throughput_burst_seconds = 1.0"]
    for number, cap, url in ((GRANDE, BIG_CAP, ""), (PICCOLO, SMALL_CAP, callback)):
        lines.append("[[numbers]]")
        fields = {**number, "verified_name": "Comune", "waba_id": SANDBOX["waba_id"], "mps": cap}
        if url:
            fields["callback_url"] = url
        lines += [f"{key} = {json.dumps(value)}" for key, value in fields.items()]
    path = Path(TMP) / "sandbox.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def seed(org, n: int, prefix: str) -> None:
    """n active subscribers, written by the database itself."""
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    with connection.cursor() as cur:
        cur.execute(
            f"""INSERT INTO subscribers_subscriber
                (organization_id, phone, status, name, confirmation_code, created_at,
                 subscribed_at)
            SELECT %s, '{prefix}' || lpad(g::text, 7, '0'), 'active', '', '', %s, %s
            FROM generate_series(1, %s) g""",
            [org.pk, now, now, n],
        )
        cur.execute("ANALYZE subscribers_subscriber")


def main() -> int:
    with procs.postgres_database(DB_URL):
        return procs.cleaned_up(run, TMP)


def run() -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from banditore.broadcasts.models import Broadcast, Delivery
    from banditore.core.demo import TOPICS
    from banditore.dispatch.dispatcher import IDLE_RELEASE
    from banditore.ops import heartbeat
    from banditore.subscribers.models import Subscriber, Topic
    from banditore.webhooks.models import WebhookEvent

    call_command("migrate", verbosity=0)
    sandbox_port, receive_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    grande, _ = procs.add_comune("grande", "Comune di Grande", sandbox_url, BIG_CAP, GRANDE)
    piccolo, _ = procs.add_comune("piccolo", "Comune di Piccolo", sandbox_url, SMALL_CAP, PICCOLO)
    seed(grande, N, "+39335")
    seed(piccolo, FOLLOWERS, "+39347")
    slug, name = TOPICS[0]
    alert_topic = Topic.objects.create(organization=piccolo, slug=slug, name=name, position=0)
    alert_topic.subscribers.add(*Subscriber.objects.filter(organization=piccolo))
    callback = f"http://127.0.0.1:{receive_port}/webhooks/whatsapp/{piccolo.channels.get().pk}"
    log(f"{N} subscribers in Grande, {FOLLOWERS} in Piccolo")
    connection.close()

    python = sys.executable
    env = {**os.environ, "DATABASE_URL": DB_URL}
    sandbox_argv = [python, "-m", "banditore.sandbox", "--port", str(sandbox_port)]
    sandbox_argv += ["--config", str(sandbox_toml(callback))]
    receive_argv = [python, "-m", "banditore", "receive", "--bind", f"127.0.0.1:{receive_port}"]
    with contextlib.ExitStack() as stack:
        stack.enter_context(procs.process(pinned(sandbox_argv, 0), sandbox_port))
        stack.enter_context(procs.process(receive_argv, receive_port, env=env))
        for i in range(WORKERS):
            argv = [python, "-m", "banditore", "worker", "--worker-id", f"comuni{i}"]
            stack.enter_context(procs.process(pinned(argv, 1), env=env))
        wait_for(lambda: heartbeat.alive().count() >= WORKERS, 60, "3 worker heartbeats", 0.2)

        def accepted() -> int:
            stats = http_json("GET", f"{sandbox_url}/_sandbox/stats")
            return int(stats.get("messages_accepted", 0))

        def welcomed() -> bool:
            to = CITIZEN.replace("+", "%2B")
            got = http_json("GET", f"{sandbox_url}/_sandbox/messages?to={to}")
            return any(m.get("type") == "text" for m in got)

        out = io.StringIO()
        call_command("broadcast", "send", "--org", "grande", "--text", "Notiziario", stdout=out)
        wait_for(lambda: accepted() >= N * UNDER_WAY, N / BIG_CAP + 120, "the drain", 0.2)
        log(f"newsletter under way: {accepted()} accepted")

        # The citizen first, alone: a reply behind Piccolo's own emergency would wait for it
        # by design (emergencies go first), and that is not what is measured here.
        inbound = {"from": CITIZEN, "text": "ISCRIVIMI", **PICCOLO}
        inbound.pop("display_phone_number")
        wamid = http_json("POST", f"{sandbox_url}/_sandbox/inbound", inbound)["id"]
        wait_for(welcomed, 60, "the welcome", every=0.05)
        seen = time.time()
        at_welcome = accepted()
        event = WebhookEvent.objects.filter(body__contains=wamid).order_by("id").first()
        reply = seen - event.received_at.timestamp() if event else None
        # Where the reply's time went: queued by the processing, then sent by a worker.
        welcome = Delivery.objects.filter(recipient=CITIZEN, kind="reply").order_by("id").first()
        stages = {}
        if event and welcome:
            stored = event.received_at.timestamp()
            stages = {
                "queued_after_s": round(welcome.created_at.timestamp() - stored, 3),
                "sent_after_s": round(welcome.sent_at.timestamp() - stored, 3)
                if welcome.sent_at
                else None,
            }
        # Past the idle pump's release: the emergency finds Piccolo's channel unleased.
        time.sleep(IDLE_RELEASE + 1)
        call_command(
            "broadcast", "send", "--org", "piccolo", "--priority", "emergency",
            "--topic", slug, "--text", "Allerta: esondazione del Noncello", stdout=out,
        )  # fmt: skip
        pressed = time.time()
        alert = Broadcast.objects.filter(organization=piccolo).latest("id")
        first = alert.deliveries.filter(sent_at__isnull=False).order_by("sent_at")
        first_sent = wait_for(lambda: first.values_list("sent_at", flat=True).first(), 60,
                              "the emergency's first send", every=0.01)  # fmt: skip
        emergency = first_sent.timestamp() - pressed
        at_first = accepted()
    log(f"emergency after {emergency:.3f} s, welcome {reply} s after its webhook was stored; "
        f"newsletter accepted {at_first} and {at_welcome} of {N} then")  # fmt: skip
    draining = at_first < N * 0.95
    figures = [
        {
            "name": "other_comune_emergency_first_message_seconds",
            "value": round(emergency, 3),
            "unit": "s",
            "target": 1,
            "pass": emergency < 1 and draining,
            "newsletter_accepted_then": at_first,
            "newsletter_size": N,
        },
        {
            "name": "other_comune_reply_seconds",
            "value": round(reply, 3) if reply is not None else None,
            "unit": "s",
            "target": 2,
            "pass": reply is not None and reply < 2 and draining,
            **stages,
            "newsletter_accepted_then": at_welcome,
            "newsletter_size": N,
        },
    ]
    for figure in figures:
        figure["load"] = round(os.getloadavg()[0], 2)
        print(json.dumps(figure), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
