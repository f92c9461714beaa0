"""EmailConfig: what an operator may save as an e-mail channel's settings, and the backend
connection it makes."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.utils.translation import gettext as _
from pydantic import ValidationError

from banditore.channels.email.config import SMTP_BACKEND, EmailConfig
from banditore.channels.email.kind import KIND

from .harness import SENDER, settings


def test_smtp_settings_make_an_explicit_smtp_connection() -> None:
    config = EmailConfig.model_validate(
        settings(2525, smtp_username="u", smtp_password="p", smtp_use_tls=True)
    )
    assert config.backend == "smtp" and config.price_per_message == Decimal(0)
    assert config.connection_settings(7.5) == (
        SMTP_BACKEND,
        {
            "host": "127.0.0.1",
            "port": 2525,
            "username": "u",
            "password": "p",
            "use_tls": True,
            "use_ssl": False,
            "timeout": 7.5,
        },
    )
    assert config.sender == "Comune di Esempio <notizie@comune.example.it>"
    assert config.mailto == SENDER


def test_the_account_is_the_from_address_as_providers_write_it() -> None:
    config = EmailConfig.model_validate(settings(25, from_email=" Notizie@Comune.Example.IT"))
    assert KIND.account(config) == "notizie@comune.example.it"
    assert (KIND.name, KIND.label) == ("email", "E-mail")


def test_an_esps_key_goes_where_anymail_looks_for_it() -> None:
    postmark = EmailConfig.model_validate(
        {
            "from_email": SENDER,
            "backend": "postmark",
            "api_key": "pm-token",
            "esp_settings": {"message_stream": "broadcast"},
            "price_per_message": "0.0012",
        }
    )
    assert postmark.price_per_message == Decimal("0.0012")
    assert postmark.connection_settings(10) == (
        "anymail.backends.postmark.EmailBackend",
        {"message_stream": "broadcast", "server_token": "pm-token", "timeout": 10},
    )
    mailjet = EmailConfig.model_validate(
        {"from_email": SENDER, "backend": "mailjet", "api_key": "k", "api_secret": "s"}
    )
    assert mailjet.connection_settings(10)[1] == {"api_key": "k", "secret_key": "s", "timeout": 10}
    ses = EmailConfig.model_validate(
        {
            "from_email": SENDER,
            "backend": "amazon_ses",
            "api_key": "AKIA",
            "api_secret": "shh",
            "esp_settings": {"region_name": "eu-south-1"},
        }
    )
    assert ses.connection_settings(10)[1] == {
        "session_params": {
            "aws_access_key_id": "AKIA",
            "aws_secret_access_key": "shh",
            "region_name": "eu-south-1",
        },
        "timeout": 10,
    }
    # SES may use the machine's own AWS credentials.
    EmailConfig.model_validate({"from_email": SENDER, "backend": "amazon_ses"})


def test_reply_to_and_an_unsubscribe_mailbox_of_its_own() -> None:
    config = EmailConfig.model_validate(settings(25, reply_to="URP@comune.example.it"))
    assert config.mailto == "urp@comune.example.it"
    config = EmailConfig.model_validate(
        settings(25, reply_to="urp@comune.example.it", unsubscribe_mailto="esci@comune.example.it")
    )
    assert config.mailto == "esci@comune.example.it"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"from_email": "notizie"}, "from_email"),
        ({"from_email": "notizie@comune example.it"}, "from_email"),
        ({"reply_to": "urp@"}, "reply_to"),
        ({"from_name": "Comune\nBcc: x@y.it"}, "from_name"),
        ({"backend": "carrier_pigeon"}, "backend"),
        ({"smtp_host": ""}, "smtp_host"),
        ({"smtp_port": 0}, "smtp_port"),
        ({"smtp_password": "segreto\n"}, "smtp_password"),
        ({"smtp_use_tls": True, "smtp_use_ssl": True}, "smtp_use_ssl"),
        ({"tracking_secret": "soloutente"}, "tracking_secret"),
        ({"tracking_secret": "utente:"}, "tracking_secret"),
        ({"public_base_url": "notizie.comune.it"}, "public_base_url"),
        ({"public_base_url": "https://notizie.città.it"}, "public_base_url"),
        ({"price_per_message": "-1"}, "price_per_message"),
        ({"max_connections": 0}, "max_connections"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_smtp_settings_are_refused_naming_the_problem(changes, field) -> None:
    with pytest.raises(ValidationError) as raised:
        EmailConfig.model_validate(settings(25, **changes))
    assert field in str(raised.value)


@pytest.mark.parametrize(
    "data, msgid, value",
    [
        ({"backend": "postmark"}, "api_key is required for %s", "postmark"),
        ({"backend": "mailjet", "api_key": "k"}, "api_secret is required for %s", "mailjet"),
        (
            {"backend": "postmark", "api_key": "k", "esp_settings": {"server_token": "t"}},
            "credentials go in api_key and api_secret, not in esp_settings",
            None,
        ),
    ],
)
def test_an_esp_needs_its_credentials_in_the_fields_that_are_kept_secret(
    data, msgid, value
) -> None:
    # In the installation's language, as the operator reads it.
    words = _(msgid) % value if value else _(msgid)
    with pytest.raises(ValidationError, match=re.escape(words)):
        EmailConfig.model_validate({"from_email": SENDER, **data})


def test_a_name_with_commas_quotes_and_accents_is_encoded_in_from() -> None:
    config = EmailConfig.model_validate(settings(25, from_name='Comune di Sant\'Agata, "Città"'))
    assert config.sender.startswith("=?utf-8?") and config.sender.endswith(f"<{SENDER}>")
