"""DATABASE_TRANSACTION_POOLING=1 turns server-side cursors off, for web processes behind
PgBouncer in transaction mode."""

import os
import subprocess
import sys


def database_setting(env: dict) -> str:
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'banditore.settings';"
        "django.setup(); from django.conf import settings;"
        "print(settings.DATABASES['default'].get('DISABLE_SERVER_SIDE_CURSORS', False))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_off_unless_asked():
    assert database_setting({"DATABASE_TRANSACTION_POOLING": "0"}) == "False"


def test_on_when_asked():
    assert database_setting({"DATABASE_TRANSACTION_POOLING": "1"}) == "True"
