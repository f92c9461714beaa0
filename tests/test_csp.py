"""The Content-Security-Policy holds in a real browser: Bootstrap Italia's bundle writes no
<style> the policy refuses (its video.js is told not to), nothing 404s (the favicon), and the
policy itself allows no inline script or style."""

import time

import pytest
from django.test import Client

from tests.browser import console_errors

WATCH = (
    "window.__violations = [];"
    "document.addEventListener('securitypolicyviolation', e => window.__violations.push("
    "[e.violatedDirective, e.sourceFile, e.lineNumber, e.columnNumber].join(' ')));"
)


def test_the_policy_allows_no_inline_script_or_style(comune):
    policy = Client().get("/console/accesso/").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["style-src"] == "'self'"
    assert "style-src-attr" not in directives


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/console/accesso/", "/"])
def test_no_page_breaks_the_policy(browser, live_server, transactional_db, path):
    from tests.factories import make_comune

    make_comune()
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
    browser.get(live_server.url + path)
    time.sleep(0.5)
    assert browser.execute_script("return window.__violations") == []
    assert console_errors(browser) == []


def test_the_favicon_is_served(comune):
    page = Client().get("/console/accesso/").content.decode()
    assert 'rel="icon"' in page and "favicon.svg" in page
