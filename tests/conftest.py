"""Shared fixtures: a ready comune with its channel, and the helpers for process tests."""

import pytest
from django.conf import settings
from django.utils import translation

from tests.factories import make_comune

DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_setup", "comune"}


def pytest_collection_modifyitems(items):
    # Tests that never touch the database run once; `make test` repeats the rest on
    # PostgreSQL with -m "not nodb".
    for item in items:
        if not item.get_closest_marker("django_db") and not DB_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.nodb)


@pytest.fixture(autouse=True)
def installation_language():
    """Each test starts in the installation's language: a request with another
    Accept-Language leaves its language active in the thread, and would leak."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def browser(tmp_path):
    """A fresh headless Chromium (see tests/browser.py)."""
    from tests.browser import start_browser

    driver = start_browser(tmp_path / "profile")
    yield driver
    driver.quit()


@pytest.fixture
def comune(db):
    return make_comune()


@pytest.fixture
def receiver(transactional_db):
    """The webhook receiver on a free local port, in this process; its base URL. A fresh
    one per test: it caches the channels, and a new test's may reuse an old one's id."""
    from tests.live_receiver import LiveReceiver

    server = LiveReceiver()
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session", autouse=True)
def no_stray_sessions(django_db_setup, django_db_blocker):
    """Child processes killed mid-test may leave a PostgreSQL session behind for a moment;
    end them so the test database can be dropped (instead of lingering on the server)."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
