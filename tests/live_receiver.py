"""The webhook receiver served in the test process, and plain HTTP to talk to it.

Like pytest-django's live_server: a thread of its own runs the receiver's aiohttp
application on its own event loop, so tests post over real sockets while
override_settings and the test database stay the ones the test set up. The receiver's
database thread opens its own connection, so the test must commit (transactional_db) and
the test database must be a file or server the thread can reach (settings.py sees to it).
"""

import asyncio
import http.client
import socket
import threading
import urllib.parse

from aiohttp import web

from banditore.webhooks.receiver import application


class LiveReceiver:
    def __init__(self):
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="live-receiver", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(15):
            raise AssertionError("the receiver did not start within 15 s")
        if self._error is not None:
            raise AssertionError("the receiver failed to start") from self._error

    def stop(self) -> None:
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(15)
        if self._thread.is_alive():
            raise AssertionError("the receiver did not stop within 15 s")

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve(loop))
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()
            loop.close()

    async def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop, self._stopping = loop, asyncio.Event()
        runner = web.AppRunner(application(), access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            host, port = runner.addresses[0][:2]
            self.url = f"http://{host}:{port}"
            self._ready.set()
            await self._stopping.wait()
        finally:
            # Runs the application's cleanup: pending batches finish, the database thread
            # closes its connection, so the test database can be flushed and dropped.
            await runner.cleanup()


def request(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None
) -> tuple[int, bytes]:
    """One request on a fresh connection: (status, body). Header values may be bytes, sent
    as they are (http.client would refuse non-Latin-1 text)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def post(url: str, raw: bytes, signature: str | bytes | None = None, **headers) -> int:
    sent = {"Content-Type": "application/json", **headers}
    if signature is not None:
        sent["X-Hub-Signature-256"] = signature
    return request(url, "POST", raw, sent)[0]


def get(url: str, params: dict[str, str]) -> tuple[int, bytes]:
    return request(f"{url}?{urllib.parse.urlencode(params)}")


def raw_request(url: str, head: str, payload: bytes = b"") -> int:
    """Sends a request line and headers exactly as written (for the malformed ones no
    client library would send) and returns the status the server answered."""
    parts = urllib.parse.urlsplit(url)
    start = f"POST {parts.path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{head}"
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(start.encode() + b"\r\n\r\n" + payload)
        status_line = conn.makefile("rb").readline()
    return int(status_line.split()[1])
