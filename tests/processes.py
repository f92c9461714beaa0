"""Real processes for end-to-end tests: the sandbox, the worker and the webhook receiver, on
free local ports."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

from django.db import connection

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], object], timeout: float = 20, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 15) -> None:
    def up():
        if proc.poll() is not None:
            raise AssertionError(f"process exited early with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        return False

    wait_for(up, timeout, f"port {port}")


def database_url() -> str:
    """The URL of the database the tests run on, for a child process to share it."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or "postgres"
    return f"postgres://{user}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def sandbox(callback_url: str = "", *args: str) -> Iterator[str]:
    port = free_port()
    argv = [sys.executable, "-m", "banditore", "sandbox", "--port", str(port)]
    argv += ["--callback-url", callback_url, *args]
    proc = subprocess.Popen(argv, cwd=ROOT)
    try:
        _wait_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)


@contextlib.contextmanager
def worker(
    *args: str, env: dict[str, str] | None = None, db_url: str | None = None
) -> Iterator[subprocess.Popen]:
    """`banditore worker` against the test database (or db_url), with extra environment."""
    connection.close()  # SQLite: release our handle's locks before a second process writes
    full_env = {**os.environ, "DATABASE_URL": db_url or database_url(), **(env or {})}
    argv = [sys.executable, "-m", "banditore", "worker", *args]
    proc = subprocess.Popen(argv, cwd=ROOT, env=full_env)
    try:
        time.sleep(0.3)
        assert proc.poll() is None, f"worker exited with {proc.returncode}"
        yield proc
    finally:
        _stop(proc)


@contextlib.contextmanager
def receiver(*args: str, db_url: str | None = None) -> Iterator[str]:
    """`banditore receive` on a free port against the test database (or db_url), ready;
    yields its base URL. A channel's callback is f"{url}/webhooks/<kind>/<channel-id>"."""
    connection.close()  # SQLite: release our handle's locks before a second process writes
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url or database_url()}
    argv = [sys.executable, "-m", "banditore", "receive", "--bind", f"127.0.0.1:{port}", *args]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env)
    try:
        _wait_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)


# --- helpers for the fault tests (tests/e2e/test_fault_*.py) -----------------------------------


def spawn_sandbox(port: int, callback_url: str = "", *args: str) -> subprocess.Popen:
    """A sandbox on a given port (to stop it and start another on the same port), ready."""
    argv = [sys.executable, "-m", "banditore", "sandbox", "--port", str(port)]
    argv += ["--callback-url", callback_url, *args]
    proc = subprocess.Popen(argv, cwd=ROOT)
    try:
        _wait_port(port, proc)
    except BaseException:
        _stop(proc)
        raise
    return proc


def stop(proc: subprocess.Popen) -> None:
    """Terminate a process started here (SIGTERM, then SIGKILL after 10 s)."""
    _stop(proc)
