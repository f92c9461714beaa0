"""The public pages' tests read English texts, chosen as a citizen would: with the language
switch (its cookie). Italian comes from the translation catalogue, which these tests must
not depend on. One test checks the Italian default separately."""

import pytest
from django.conf import settings
from django.test import Client


@pytest.fixture
def client():
    return english_client(REMOTE_ADDR="203.0.113.7")


def english_client(**defaults) -> Client:
    client = Client(**defaults)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client
