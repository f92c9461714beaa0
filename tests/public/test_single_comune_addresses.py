"""Bare addresses serve the installation's only comune; /c/<slug>/ always works."""

from django.test import Client

from tests.factories import make_comune


def test_it_serves_the_only_comune_at_the_bare_addresses(client, comune):
    assert client.get("/iscriviti").status_code == 200
    assert client.get("/privacy").status_code == 200


def test_it_lets_the_citizen_choose_when_there_are_many_comuni(client, comune):
    make_comune(slug="udine")

    html = client.get("/iscriviti").content.decode()

    assert 'href="/c/pordenone/iscriviti"' in html
    assert 'href="/c/udine/iscriviti"' in html
    assert 'href="/c/udine/privacy"' in client.get("/privacy").content.decode()


def test_it_serves_each_comune_under_its_slug(client, comune):
    make_comune(slug="udine")

    response = client.get("/c/udine/iscriviti")

    assert response.status_code == 200
    assert 'action="/c/udine/iscriviti"' in response.content.decode()
    assert 'href="/c/udine/privacy"' in response.content.decode()
    assert client.get("/c/nowhere/iscriviti").status_code == 404


def test_it_has_no_page_without_a_comune(client, db):
    assert client.get("/iscriviti").status_code == 404


def test_it_speaks_italian_by_default(comune):
    html = Client().get("/iscriviti").content.decode()

    assert '<html lang="it">' in html
