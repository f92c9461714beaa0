"""`check --deploy` on a production-like setup (TLS in front, DEBUG off, a real SECRET_KEY)
finds nothing to warn about; and the admin is the IT office's alone."""

import os
import secrets
import subprocess
import sys

from django.contrib.auth import get_user_model
from django.test import Client


def test_check_deploy_is_clean(tmp_path):
    env = {
        **os.environ,
        "PUBLIC_URL": "https://notizie.comune.example",
        "ALLOWED_HOSTS": "notizie.comune.example",
        "DEBUG": "",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "BANDITORE_VAR_DIR": str(tmp_path),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "-m", "banditore", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNINGS" not in done.stderr + done.stdout


def test_the_admin_opens_for_superusers_only(comune):
    User = get_user_model()
    staffer = User.objects.create_user("ufficio", password="x", is_staff=True)
    it = User.objects.create_superuser("ced", password="x")
    client = Client()
    client.force_login(staffer)
    assert client.get("/admin/").status_code == 302
    client.force_login(it)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/core/operator/").status_code == 200
