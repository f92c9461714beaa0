"""Channel credentials encrypted at rest: a copy of the database (a backup, a dump handed
to a supplier) must not carry the tokens that send in the comune's name.

The key comes from BANDITORE_SECRETS_KEY (Fernet keys, urlsafe base64 of 32 bytes); several,
comma-separated, let the key be rotated: the first encrypts, any of them decrypts. Unset, one
is generated once and kept in ./var, as the SECRET_KEY is."""

import functools
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from banditore.core.keyfile import kept

# The config keys that are credentials, whatever the channel's kind.
SECRET_KEYS = ("access_token", "app_secret", "verify_token", "bot_token", "webhook_secret")
# Marks an encrypted value, so a row written before encryption still reads (and the data
# migration knows what is left to encrypt).
PREFIX = "fernet:"


def _keys() -> list[str]:
    if value := os.environ.get("BANDITORE_SECRETS_KEY", "").strip():
        return [k.strip() for k in value.split(",") if k.strip()]
    return [kept(settings.VAR_DIR / "secrets_key", lambda: Fernet.generate_key().decode())]


@functools.cache
def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(k) for k in _keys()])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "BANDITORE_SECRETS_KEY must be Fernet keys (urlsafe base64 of 32 bytes), "
            f"comma-separated: {exc}"
        ) from None


def reset() -> None:
    """Forget the loaded keys (after the environment changed: tests, rotation)."""
    _fernet.cache_clear()


def encrypt(value: str) -> str:
    if value.startswith(PREFIX):
        return value
    return PREFIX + _fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    if not value.startswith(PREFIX):
        return value
    try:
        return _fernet().decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A channel's credentials cannot be decrypted with BANDITORE_SECRETS_KEY: "
            "the key is not the one they were encrypted with (keep the old key after the "
            "new one, comma-separated, while rotating)."
        ) from None


def _map(config, how):
    if not isinstance(config, dict):
        return config
    return {
        k: how(v) if k in SECRET_KEYS and isinstance(v, str) and v else v for k, v in config.items()
    }


def encrypted(config):
    return _map(config, encrypt)


def decrypted(config):
    return _map(config, decrypt)


def rotate(value: str) -> str:
    """Re-encrypt under the first key (after a new key was put in front)."""
    return PREFIX + _fernet().rotate(value[len(PREFIX) :].encode()).decode()


class SecretsJSONField(models.JSONField):
    """A JSONField whose credential keys are stored encrypted and read back in clear: the
    rest of the code reads channel.config as before."""

    def from_db_value(self, value, expression, connection):
        return decrypted(super().from_db_value(value, expression, connection))

    def get_prep_value(self, value):
        return super().get_prep_value(encrypted(value))
