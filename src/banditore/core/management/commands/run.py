"""`banditore run`: web + webhook receiver + worker + sandbox on the embedded default.

Migrates, creates the demo comune, starts the four processes, prints where to go, and on
Ctrl-C stops them all. The sandbox posts its webhooks to the receiver, as Meta would.
"""

import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from banditore.channels.telegram.config import TelegramConfig
from banditore.channels.telegram.webhook_setup import WebhookSetupError, set_webhook
from banditore.core.demo import OPERATOR, ensure_demo, ensure_demo_telegram, ensure_staff
from banditore.core.models import Operator


def _wait_for_port(host: str, port: int, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


class Command(BaseCommand):
    help = "Start web, webhook receiver, worker and sandbox with a demo comune (Ctrl-C stops all)."

    def add_arguments(self, parser):
        parser.add_argument("--web-port", type=int, default=8000)
        parser.add_argument("--receive-port", type=int, default=8001)
        parser.add_argument("--sandbox-port", type=int, default=8650)

    def handle(self, *args, web_port, receive_port, sandbox_port, **options):
        call_command("migrate", verbosity=0)
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        web_url = f"http://127.0.0.1:{web_port}"
        channel, password = ensure_demo(sandbox_url)
        bot = ensure_demo_telegram(sandbox_url)
        self.staff = ensure_staff()
        callback = f"http://127.0.0.1:{receive_port}/webhooks/whatsapp/{channel.pk}"
        bot_callback = f"http://127.0.0.1:{receive_port}/webhooks/telegram/{bot.pk}"
        me = [sys.executable, "-m", "banditore"]
        specs = [
            ("sandbox", [*me, "sandbox", "--port", str(sandbox_port), "--callback-url", callback]),
            ("web", [*me, "serve", "--bind", f"127.0.0.1:{web_port}"]),
            ("receiver", [*me, "receive", "--bind", f"127.0.0.1:{receive_port}"]),
            ("worker", [*me, "worker"]),
        ]
        children: list[tuple[str, subprocess.Popen]] = []
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for name, argv in specs:
                children.append((name, subprocess.Popen(argv)))
            for port in (sandbox_port, web_port, receive_port):
                if not _wait_for_port("127.0.0.1", port):
                    raise CommandError(
                        _("Nothing listens on port %d: see the messages above.") % port
                    )
            try:
                # As a comune's IT office does once per bot: Telegram posts its updates here.
                set_webhook(TelegramConfig.model_validate(bot.config), bot_callback)
            except WebhookSetupError as exc:
                self.stderr.write(_("The Telegram bot's webhook could not be set: %s") % exc)
            self.banner(web_url, sandbox_url, callback, password)
            while not stopping:
                for name, child in children:
                    if child.poll() is not None:
                        raise CommandError(
                            _("%(name)s exited with code %(code)s")
                            % {"name": name, "code": child.returncode}
                        )
                time.sleep(0.3)
        finally:
            self.stdout.write("\n" + _("Stopping…"))
            for _name, child in children:
                if child.poll() is None:
                    child.terminate()
            for name, child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    self.stderr.write(f"{name} killed")
            self.stdout.write(_("Stopped."))

    def staff_lines(self) -> str:
        lines = []
        for username, role, password in self.staff:
            line = f"   {username:<18} {password:<14} {role.label}"
            if role == Operator.Role.ADMIN:
                line += "  " + _("(sets up the verification code at the first login)")
            lines.append(line + "\n")
        return "".join(lines)

    def banner(self, web_url, sandbox_url, callback, password):
        line = "=" * 72
        facts = {
            "db": settings.DATABASES["default"]["NAME"],
            "web": web_url,
            "user": OPERATOR,
            "password": password,
            "callback": callback,
            "sandbox": sandbox_url,
        }
        text = _(
            " Banditore is running (database: %(db)s)\n"
            "%(line)s\n"
            " Console             %(console)s   (user, password, role:)\n"
            "%(staff)s"
            " Admin (IT office)   %(web)s/admin/   user %(user)s  password %(password)s\n"
            " WhatsApp webhook    %(callback)s\n"
            " WhatsApp sandbox    %(sandbox)s/_sandbox/   (the citizens' phones)\n"
            " Telegram sandbox    %(sandbox)s/_sandbox/telegram/   (the citizens' Telegram)\n"
            "\n"
            " Try it: in the sandbox write ISCRIVIMI from a number (or /start to the bot),\n"
            " then in another terminal:\n"
            '   .venv/bin/banditore broadcast send --text "Domani mercato in piazza"\n'
            "   .venv/bin/banditore broadcast status 1\n"
            "\n"
            " Ctrl-C stops everything."
        ) % {
            **facts,
            "line": line,
            "console": f"{settings.PUBLIC_URL}/console/",
            "staff": self.staff_lines(),
        }
        self.stdout.write(f"\n{line}\n{text}\n{line}\n")
