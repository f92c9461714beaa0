"""A channel's credentials are encrypted in the database: a dump or a backup carries no
token that could send in the comune's name, while the code reads channel.config as before."""

import json

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from banditore.channels import registry, secrets
from banditore.channels.models import Channel
from banditore.core.demo import SANDBOX
from tests.factories import channel_of


@pytest.fixture
def fresh_keys(monkeypatch):
    """Use the environment's keys from now on, and forget them afterwards."""
    secrets.reset()
    yield monkeypatch
    secrets.reset()


def raw_config(channel) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT config FROM channels_channel WHERE id = %s", [channel.pk])
        return cursor.fetchone()[0]


WHATSAPP_SECRETS = registry.get("whatsapp").secrets


def test_every_kinds_credentials_are_encrypted():
    for name in registry.KINDS:
        assert set(registry.get(name).secrets) <= set(secrets.SECRET_KEYS), name


def test_the_database_holds_no_credential_in_clear(comune):
    channel = channel_of(comune)
    raw = raw_config(channel)
    for key in WHATSAPP_SECRETS:
        assert channel.config[key] not in raw
    stored = json.loads(raw)
    assert all(stored[k].startswith(secrets.PREFIX) for k in WHATSAPP_SECRETS)
    # What is no secret stays readable (and searchable) as it was.
    assert stored["phone_number_id"] == channel.config["phone_number_id"]


def test_the_code_reads_the_credentials_back_in_clear(comune):
    channel = Channel.objects.get(pk=channel_of(comune).pk)
    assert channel.config["access_token"] == channel.whatsapp.access_token
    assert {k: channel.config[k] for k in WHATSAPP_SECRETS} == {
        k: SANDBOX[k] for k in WHATSAPP_SECRETS
    }


def test_a_row_written_before_encryption_is_encrypted_by_the_migration(comune):
    from importlib import import_module

    from django.apps import apps

    channel = channel_of(comune)
    clear = dict(channel.config)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE channels_channel SET config = %s WHERE id = %s",
            [json.dumps(clear), channel.pk],
        )
    assert clear["access_token"] in raw_config(channel)
    # Still readable as it was before the migration ran.
    assert Channel.objects.get(pk=channel.pk).config == clear

    migration = import_module("banditore.channels.migrations.0005_channel_config_encrypted")

    class Editor:
        connection = connection

    migration.encrypt_existing(apps, Editor)
    assert clear["access_token"] not in raw_config(channel)
    assert Channel.objects.get(pk=channel.pk).config == clear


def test_a_wrong_key_says_so_clearly(comune, fresh_keys):
    channel = channel_of(comune)
    fresh_keys.setenv("BANDITORE_SECRETS_KEY", Fernet.generate_key().decode())
    secrets.reset()
    with pytest.raises(ImproperlyConfigured, match="cannot be decrypted"):
        Channel.objects.get(pk=channel.pk)


def test_a_key_that_is_no_fernet_key_says_so(comune, fresh_keys):
    fresh_keys.setenv("BANDITORE_SECRETS_KEY", "not-a-key")
    secrets.reset()
    with pytest.raises(ImproperlyConfigured, match="BANDITORE_SECRETS_KEY"):
        secrets.encrypt("x")


def test_keys_rotate_new_first_old_still_reads(comune, fresh_keys):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    channel = channel_of(comune)
    fresh_keys.setenv("BANDITORE_SECRETS_KEY", old)
    secrets.reset()
    channel.save()
    fresh_keys.setenv("BANDITORE_SECRETS_KEY", f"{new},{old}")
    secrets.reset()
    channel = Channel.objects.get(pk=channel.pk)
    assert channel.config["access_token"] == SANDBOX["access_token"]
    channel.save()
    # Saved again, it is under the new key alone.
    fresh_keys.setenv("BANDITORE_SECRETS_KEY", new)
    secrets.reset()
    assert Channel.objects.get(pk=channel.pk).config["access_token"] == SANDBOX["access_token"]
