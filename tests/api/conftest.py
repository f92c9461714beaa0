"""An API client speaking with a comune's key, and a second comune to prove isolation."""

import pytest
from django.test import Client

from banditore.api import keys
from banditore.api.models import SCOPES
from tests.factories import make_comune


class Api:
    """Django's test client with a bearer key and JSON bodies."""

    def __init__(self, secret: str | None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}

    def _call(self, method, path, body=None, headers=None, **kw):
        extra = {**self.headers, **(headers or {})}
        send = getattr(self.client, method)
        if body is not None and not isinstance(body, (str, bytes)):
            return send(path, body, content_type="application/json", headers=extra, **kw)
        if body is not None:
            return send(path, body, content_type="application/json", headers=extra, **kw)
        return send(path, headers=extra, **kw)

    def get(self, path, **kw):
        return self._call("get", path, **kw)

    def post(self, path, body=None, **kw):
        return self._call("post", path, body if body is not None else {}, **kw)

    def patch(self, path, body=None, **kw):
        return self._call("patch", path, body if body is not None else {}, **kw)


@pytest.fixture
def api_for():
    def make(org, scopes=SCOPES, *, test=False, name=None):
        key, secret = keys.issue(org, name or f"key-{len(scopes)}-{test}", scopes, test=test)
        api = Api(secret)
        api.key = key
        return api

    return make


@pytest.fixture
def api(comune, api_for):
    return api_for(comune, name="protezione-civile")


@pytest.fixture
def other_comune(db):
    return make_comune(slug="sacile")
