import os
import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the web app (public pages, console, API) with gunicorn; webhooks: `receive`."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", 2)))
        parser.add_argument("--threads", type=int, default=4)

    def handle(self, *args, bind, workers, threads, **options):
        argv = [
            sys.executable, "-m", "gunicorn", "banditore.wsgi:application",
            "--bind", bind, "--workers", str(workers), "--threads", str(threads),
            "--worker-class", "gthread", "--graceful-timeout", "5",
            # gunicorn 27's control socket would be written under $HOME: nothing uses it.
            "--no-control-socket",
            "--access-logfile", "-" if options["verbosity"] > 1 else "/dev/null",
        ]  # fmt: skip
        os.execv(sys.executable, argv)
