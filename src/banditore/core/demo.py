"""A demo comune wired to the sandbox, so a newcomer sees the whole main job at once."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from banditore.channels.models import Channel
from banditore.core.models import Operator, Organization
from banditore.subscribers.models import Topic, Zone

DEMO_SLUG = "esempio"
OPERATOR = "operatore"
# One console account per role, so a newcomer sees what each may do.
STAFF = [
    ("redattore", Operator.Role.EDITOR),
    ("approvatore", Operator.Role.APPROVER),
    ("protezione-civile", Operator.Role.CIVIL_PROTECTION),
    ("amministratore", Operator.Role.ADMIN),
]
TOPICS = [
    ("protezione-civile", "Protezione civile"),
    ("viabilita", "Viabilità"),
    ("eventi", "Eventi"),
    ("farmacie", "Farmacie di turno"),
    ("servizi", "Servizi comunali"),
]
# Frazioni, for news of one part of the comune.
ZONES = [("centro", "Centro"), ("san-giovanni", "San Giovanni"), ("colle", "Colle")]
# The sandbox's fixed identities (banditore.sandbox defaults).
SANDBOX = {
    "phone_number_id": "106540352242922",
    "waba_id": "102290129340398",
    "display_phone_number": "390510000001",
    "access_token": "sandbox-token",
    "app_secret": "sandbox-app-secret",
    "verify_token": "sandbox-verify-token",
}


@transaction.atomic
def ensure_demo(sandbox_url: str = "http://127.0.0.1:8650", rate: int = 80) -> tuple[Channel, str]:
    """Create (or refresh) the demo comune; return its channel and the operator's password."""
    org, _ = Organization.objects.get_or_create(
        slug=DEMO_SLUG,
        defaults={
            "name": "Comune di Esempio",
            "privacy_notice_url": f"{settings.PUBLIC_URL}/privacy",
            "contacts": "URP numero verde 800 000 000 · modulo online "
            f"{settings.PUBLIC_URL}/segnalazioni · urp@comune.esempio.it",
        },
    )
    for model, choices in ((Topic, TOPICS), (Zone, ZONES)):
        for position, (slug, name) in enumerate(choices):
            model.objects.get_or_create(
                organization=org, slug=slug, defaults={"name": name, "position": position}
            )
    channel = Channel.objects.filter(organization=org, kind=Channel.Kind.WHATSAPP).first()
    config = {"base_url": sandbox_url, **SANDBOX}
    if channel is None:
        channel = Channel.objects.create(
            organization=org, name="WhatsApp (sandbox)", config=config, rate_per_second=rate
        )
    else:
        channel.config = {**channel.config, "base_url": sandbox_url}
        channel.save(update_fields=["config"])
    return channel, _operator_password()


# The sandbox's own bot and public channel (banditore.sandbox.telegram defaults).
SANDBOX_BOT = {
    "bot_token": "123456789:sandbox-telegram-token",
    "bot_username": "ComuneBot",
    "public_channel": "@comune_avvisi",
}


@transaction.atomic
def ensure_demo_telegram(sandbox_url: str = "http://127.0.0.1:8650") -> Channel:
    """The demo comune's Telegram bot, on the sandbox's Bot API."""
    org = Organization.objects.get(slug=DEMO_SLUG)
    config = {
        "api_base_url": sandbox_url,
        "webhook_secret": _kept_password("telegram_webhook_secret"),
        **SANDBOX_BOT,
    }
    channel = Channel.objects.filter(organization=org, kind=Channel.Kind.TELEGRAM).first()
    if channel is None:
        # Telegram's own flood limit for a bot: about 30 messages a second.
        return Channel.objects.create(
            organization=org,
            kind=Channel.Kind.TELEGRAM,
            name="Telegram (sandbox)",
            config=config,
            rate_per_second=30,
        )
    channel.config = {**channel.config, "api_base_url": sandbox_url}
    channel.save(update_fields=["config"])
    return channel


@transaction.atomic
def ensure_staff() -> list[tuple[str, Operator.Role, str]]:
    """The demo comune's console accounts, one per role: (username, role, password)."""
    org = Organization.objects.get(slug=DEMO_SLUG)
    User = get_user_model()
    accounts = []
    for username, role in STAFF:
        password = _kept_password(f"staff_password_{username}")
        user, _ = User.objects.get_or_create(username=username)
        if not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        Operator.objects.update_or_create(user=user, defaults={"organization": org, "role": role})
        accounts.append((username, role, password))
    return accounts


def _kept_password(name: str) -> str:
    """A demo password: made once, kept in ./var so it stays the same across runs."""
    path = settings.VAR_DIR / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(9))
        path.chmod(0o600)
    return path.read_text().strip()


def _operator_password() -> str:
    """The demo operator's (the IT office's superuser, for the admin) password."""
    password = _kept_password("operator_password")
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=OPERATOR, defaults={"is_staff": True})
    if not user.check_password(password):
        user.set_password(password)
    user.is_staff = user.is_superuser = True
    user.save()
    return password
