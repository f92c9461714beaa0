"""`banditore receive`: the webhook receiver, asynchronous, storing bodies in batches."""

import os
import socket
import sys

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = "Receive provider webhooks at /webhooks/<kind>/<channel-id> (asyncio, batched)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("RECEIVE_BIND", "127.0.0.1:8001"))
        parser.add_argument(
            "--processes",
            type=int,
            default=int(os.environ.get("RECEIVE_PROCESSES", 1)),
            help="Processes sharing the port (SO_REUSEPORT); each uses about one core.",
        )

    def handle(self, *args, bind, processes, **options):
        host, _sep, port = bind.rpartition(":")
        children = []
        for _n in range(max(processes, 1) - 1):
            pid = os.fork()
            if pid == 0:
                children = None
                break
            children.append(pid)
        if children is not None:
            self.stdout.write(_("Webhook receiver listening on http://%s") % bind)
            sys.stdout.flush()
        try:
            _serve(host or "127.0.0.1", int(port))
        finally:
            for pid in children or []:
                try:
                    os.kill(pid, 15)
                    os.waitpid(pid, 0)
                except OSError:
                    pass


def _serve(host: str, port: int) -> None:
    import asyncio

    from aiohttp import web

    from banditore.webhooks.receiver import application

    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    web.run_app(application(), sock=sock, print=None, access_log=None, handle_signals=True)
