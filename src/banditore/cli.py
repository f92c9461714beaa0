import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banditore.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["banditore", *sys.argv[1:]])
