"""The backup docs/deployment.md describes, tried: `pg_dump -Fc` of a live database, restored
with `pg_restore` into an empty one, which a fresh `banditore` process then serves: nothing
to migrate, the citizens and their consent history intact, the channel's credentials
readable with the same BANDITORE_SECRETS_KEY and refused, clearly, with another."""

import json
import os
import shutil
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from banditore.channels import secrets
from banditore.subscribers.models import ConsentEvent
from tests import processes
from tests.factories import channel_of, make_comune, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

READ_BACK = """
import json
from banditore.channels.models import Channel
from banditore.subscribers.models import ConsentEvent, Subscriber
channel = Channel.objects.get()
print(json.dumps({
    "subscribers": sorted(Subscriber.objects.values_list("phone", flat=True)),
    "consents": ConsentEvent.objects.count(),
    "token": channel.config["access_token"],
}))
"""


def banditore(url: str, key: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "BANDITORE_SECRETS_KEY": key}
    return subprocess.run(
        [sys.executable, "-m", "banditore", *args], env=env, capture_output=True, text=True
    )


def test_a_dump_restores_into_a_database_that_serves_as_the_original(tmp_path, monkeypatch):
    if connection.vendor != "postgresql" or not shutil.which("pg_dump"):
        pytest.skip("PostgreSQL's pg_dump and pg_restore")
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("BANDITORE_SECRETS_KEY", key)
    secrets.reset()
    try:
        org = make_comune()
        channel = channel_of(org)
        channel.config = {**channel.config, "access_token": "EAAG-segreto"}
        channel.save()
        with connection.cursor() as cur:
            cur.execute("SELECT config::text FROM channels_channel WHERE id = %s", [channel.pk])
            stored = cur.fetchone()[0]
        assert "EAAG-segreto" not in stored and secrets.PREFIX in stored  # so in the dump too
        for phone in ("+393331110001", "+393331110002"):
            subscribe(org, phone)
        consents = ConsentEvent.objects.count()
    finally:
        secrets.reset()

    source = processes.database_url()
    parts = urlsplit(source)
    restored_name = parts.path.lstrip("/") + "_restored"
    restored = parts._replace(path="/" + restored_name).geturl()
    admin = parts._replace(path="/postgres").geturl()
    dump = tmp_path / "banditore.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), source], check=True)
    subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{restored_name}"'], check=True)
    subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{restored_name}"'], check=True)
    try:
        subprocess.run(["pg_restore", "--no-owner", "-d", restored, str(dump)], check=True)

        check = banditore(restored, key, "migrate", "--check")
        assert check.returncode == 0, check.stdout + check.stderr  # nothing left to apply
        read = banditore(restored, key, "shell", "-c", READ_BACK)
        assert read.returncode == 0, read.stderr
        assert json.loads(read.stdout.strip().splitlines()[-1]) == {
            "subscribers": ["+393331110001", "+393331110002"],
            "consents": consents,
            "token": "EAAG-segreto",
        }
        # Without the key kept apart from the dump, the credentials can't be read back.
        wrong = banditore(restored, Fernet.generate_key().decode(), "shell", "-c", READ_BACK)
        assert wrong.returncode != 0
        assert "cannot be decrypted with BANDITORE_SECRETS_KEY" in wrong.stderr
    finally:
        subprocess.run(
            ["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)']
        )
