"""Django settings, read from the environment with safe defaults.

Embedded default: SQLite under ./var, no other service. Scale-out: DATABASE_URL pointing at
PostgreSQL and as many web/worker processes as wanted.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF

from banditore.core.keyfile import kept

VAR_DIR = Path(os.environ.get("BANDITORE_VAR_DIR", "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in ./var."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    return kept(VAR_DIR / "secret_key", lambda: secrets.token_urlsafe(50))


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


SECRET_KEY = _secret_key()
DEBUG = _flag("DEBUG")
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
# Where citizens and Meta reach this installation; used in links and the webhook URL shown.
PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL]
CSRF_FAILURE_VIEW = "banditore.public.views.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Bootstrap Italia (Designers Italia's Django package): its CSS, JS, sprites and the
    # Titillium Web, Roboto Mono and Lora fonts, served from here, never from a CDN.
    "bootstrap_italia_template",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "banditore.core",
    "banditore.channels",
    "banditore.subscribers",
    "banditore.broadcasts",
    "banditore.dispatch",
    "banditore.webhooks",
    "banditore.public",
    "banditore.console",
    "banditore.api",
    "banditore.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "banditore.core.language.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its own answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "banditore.urls"
WSGI_APPLICATION = "banditore.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'banditore.sqlite3'}"),
        conn_max_age=60,
        # A kept connection is checked before each request reuses it: after a database
        # restart the first request reconnects instead of failing.
        conn_health_checks=True,
    )
}
if os.environ.get("DATABASE_TRANSACTION_POOLING") == "1":
    # Behind PgBouncer in transaction mode a server-side cursor (QuerySet.iterator()) would
    # outlive its transaction's server connection: fetch on the client instead. Workers
    # still need a direct or session-mode connection (docs/deployment.md).
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; the busy timeout makes a
    # writer wait for the lock instead of failing; IMMEDIATE takes the write lock at BEGIN,
    # so two writers never deadlock upgrading a read lock.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file (not memory) so test child processes share it; per process so runs never collide.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    # Per process too, so two test runs on one server never drop each other's database.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}

REDIS_URL = os.environ.get("REDIS_URL") or None

# A dispatcher that stops renewing its channel lease for this long is taken for dead and
# another one takes the channel over; it renews every third of it. Short, so a dead
# machine never holds an emergency for long.
DISPATCH_LEASE_SECONDS = float(os.environ.get("DISPATCH_LEASE_SECONDS", 3))
# Stripes of one audience queued at once on PostgreSQL (broadcasts/audience.py): on a 2-core
# machine sharing its cores with the database, two gained nothing (12 s for 1,000,000 either
# way); a bigger database server may take more.
AUDIENCE_LANES = max(1, int(os.environ.get("BANDITORE_AUDIENCE_LANES", 1)))
# How long a delivery keeps being retried after it was queued (GOV.UK Notify: ~4 h).
DISPATCH_RETRY_BUDGET_SECONDS = float(os.environ.get("DISPATCH_RETRY_BUDGET_SECONDS", 4 * 3600))
# A worker whose tasks thread keeps crashing this long (the database unreachable, say) exits
# non-zero, so that systemd or the container runtime restarts it.
WORKER_GIVE_UP_SECONDS = float(os.environ.get("WORKER_GIVE_UP_SECONDS", 120))
# One request to the provider; longer than any real answer, shorter than a stuck socket.
DISPATCH_SEND_TIMEOUT = float(os.environ.get("DISPATCH_SEND_TIMEOUT", 10))
# The installation's own WhatsApp rate card (JSON, same format as broadcasts/ratecard.json),
# replacing the shipped one whole; empty = the shipped card.
BANDITORE_RATE_CARD = os.environ.get("BANDITORE_RATE_CARD") or None
# The largest image or PDF a broadcast may carry. Its bytes live in the database, so that
# every worker on every machine reads them: Meta accepts PDFs of 100 MB, this installation
# fewer unless its database is meant to hold them (images stay within Meta's 5 MB).
BANDITORE_ATTACHMENT_MAX_BYTES = int(os.environ.get("BANDITORE_ATTACHMENT_MAX_BYTES", 16 << 20))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

LANGUAGE_CODE = os.environ.get("BANDITORE_LANGUAGE", "it")
LANGUAGES = [("it", "Italiano"), ("en", "English")]
LOCALE_PATHS = [Path(__file__).resolve().parent / "locale"]
TIME_ZONE = "Europe/Rome"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve app static files straight from the packages: no collectstatic step for a newcomer.
WHITENOISE_USE_FINDERS = True

# Webhook bodies from Meta are at most 3 MB; anything larger is refused before reading.
DATA_UPLOAD_MAX_MEMORY_SIZE = 3 * 1024 * 1024
WEBHOOK_MAX_BYTES = 3 * 1024 * 1024

LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:dashboard"

AUTHENTICATION_BACKENDS = [
    # First, as django-axes asks: it refuses a locked-out username or address before any
    # password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling: five wrong passwords for one username from one address lock that pair
# out for a quarter of an hour (a colleague on the same office network is not locked out).
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "console/locked_out.html"
# The proxy's header when one stands in front; else the peer's address.
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

# Content-Security-Policy: everything from this installation, no inline script or style but
# for a nonce'd script; nothing may frame the pages (clickjacking).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Behind TLS (PUBLIC_URL is https://): cookies only over TLS, HSTS for a year, plain HTTP
# sent to HTTPS. A reverse proxy that ends TLS says so with X-Forwarded-Proto.
BEHIND_TLS = PUBLIC_URL.startswith("https://")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = BEHIND_TLS
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = 31_536_000 if BEHIND_TLS and not DEBUG else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
# The header alone puts nothing on the browsers' preload list: submitting the domain
# (hstspreload.org) stays the comune's IT office's decision.
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_SSL_REDIRECT = BEHIND_TLS and not DEBUG
# Probes and scrapes often come over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS else None
# The name the authenticator app shows next to the code.
OTP_TOTP_ISSUER = "Banditore"
# Staff sessions end after eight hours, a working day.
SESSION_COOKIE_AGE = 8 * 3600

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "banditore": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
        "django_tasks": {"handlers": ["console"], "level": "WARNING"},
    },
}
# One JSON object per line (banditore/ops/logs.py), with a call's extra fields of its own.
if os.environ.get("BANDITORE_LOG_FORMAT", "").strip().lower() == "json":
    LOGGING["formatters"]["json"] = {"()": "banditore.ops.logs.JSONFormatter"}
    LOGGING["handlers"]["console"]["formatter"] = "json"
