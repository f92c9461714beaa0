"""What the benchmarks that run real processes share: starting them (pinned to a CPU, ready
when their port answers), waiting, and talking JSON to the sandbox. Stdout carries only the
figures, so everything else goes to stderr."""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def http_json(method: str, url: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float, what: str, every: float = 0.02):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def pinned(argv: list[str], cpus: int | str) -> list[str]:
    """The command on the given CPU(s), so the process measured and its counterpart don't
    take turns on one core."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(cpus), *argv]
    return argv


@contextlib.contextmanager
def process(argv: list[str], ready_port: int | None = None, env: dict | None = None):
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=sys.stderr, stderr=subprocess.DEVNULL)
    try:
        if ready_port is not None:

            def up():
                if proc.poll() is not None:
                    raise RuntimeError(f"{argv[:6]} exited with {proc.returncode}")
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", ready_port), 0.2),
                ):
                    return True
                return False

            wait_for(up, 60, f"port {ready_port}", every=0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def fresh_comune(base_url: str, rate: int):
    """Empty tables, then one comune with one channel pointing at base_url: each run starts
    from scratch. A flush, not deletes: a started broadcast refuses to be deleted."""
    from django.core.management import call_command

    from banditore.channels.models import Channel
    from banditore.core.demo import SANDBOX
    from banditore.core.models import Organization

    call_command("flush", interactive=False, verbosity=0)
    org = Organization.objects.create(slug="bench", name="Comune di Bench")
    channel = Channel.objects.create(
        organization=org,
        name="bench",
        config={**SANDBOX, "base_url": base_url},
        rate_per_second=rate,
    )
    return org, channel


def add_comune(slug: str, name: str, base_url: str, rate: int, number: dict | None = None):
    """One more comune with a WhatsApp channel to the sandbox at base_url (its own phone
    number if given: phone_number_id, display_phone_number) and no quiet hours, so a send
    drains whatever the hour of the run."""
    import datetime

    from banditore.channels.models import Channel
    from banditore.core.demo import SANDBOX
    from banditore.core.models import Organization

    midnight = datetime.time(0, 0)
    org = Organization.objects.create(
        slug=slug,
        name=name,
        contacts="URP 800 000 000",
        send_window_start=midnight,
        send_window_end=midnight,
    )
    channel = Channel.objects.create(
        organization=org,
        name="WhatsApp",
        config={**SANDBOX, **(number or {}), "base_url": base_url},
        rate_per_second=rate,
    )
    return org, channel


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far, all its threads (/proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces or parentheses: fields are counted after its ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def processes_named(comm: str) -> dict[int, float]:
    """CPU seconds so far of every process whose command name is `comm`, by pid; a process
    that can't be read (gone meanwhile) is left out."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError):
            if (entry / "comm").read_text().strip() == comm:
                found[int(entry.name)] = cpu_seconds(int(entry.name))
    return found


@contextlib.contextmanager
def postgres_database(url: str):
    """A PostgreSQL database of the bench's own, created empty and dropped afterwards
    (connections still open to it are ended by the drop)."""
    import urllib.parse

    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rss_mb(pid: int) -> float:
    """A process's resident memory now, in MB (/proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cleaned_up(run, tmp: str) -> int:
    """A bench's run(), then its database connection closed and its scratch folder gone,
    whatever happened."""
    try:
        return run()
    finally:
        with contextlib.suppress(Exception):
            from django.db import connection

            connection.close()
        shutil.rmtree(tmp, ignore_errors=True)


def status_body(wamid: str, name: str, ts: int) -> dict:
    """One status webhook as Meta sends it, to the sandbox's (and the demo's) number."""
    from banditore.core.demo import SANDBOX

    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": SANDBOX["waba_id"],
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": SANDBOX["display_phone_number"],
                                "phone_number_id": SANDBOX["phone_number_id"],
                            },
                            "statuses": [
                                {
                                    "id": wamid,
                                    "status": name,
                                    "timestamp": str(ts),
                                    "recipient_id": "393330000000",
                                    "conversation": {"id": "c", "origin": {"type": "marketing"}},
                                    "pricing": {"billable": True, "category": "marketing"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
