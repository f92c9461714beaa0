"""The public pages' tests read English texts: Italian comes from the translation catalogue,
which these tests must not depend on. One test checks the Italian default separately."""

import pytest
from django.test import Client


@pytest.fixture
def client():
    return Client(headers={"Accept-Language": "en"}, REMOTE_ADDR="203.0.113.7")
