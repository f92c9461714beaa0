"""A form whose CSRF token expired gets a page a citizen understands."""

from django.test import Client


def test_it_explains_an_expired_form_in_italian(comune):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/iscriviti", {"phone": "3331234567", "privacy": "on"}, HTTP_ACCEPT_LANGUAGE="it"
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert "La pagina è scaduta" in page
    assert "CSRF" not in page
