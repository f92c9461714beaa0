"""The `banditore` command: every Django management command, plus the sandbox.

The sandbox runs without Django (it is a separate emulator process), so it is dispatched
before Django is set up.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["sandbox"]:
        from banditore.sandbox.cli import main as sandbox_main

        sys.exit(sandbox_main(args[1:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banditore.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["banditore", *args])
