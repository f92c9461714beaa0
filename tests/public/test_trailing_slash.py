"""Links printed with a trailing slash still reach the page."""

import pytest


@pytest.mark.parametrize(
    ("typed", "page"),
    [
        ("/iscriviti/", "/iscriviti"),
        ("/privacy/", "/privacy"),
        ("/c/pordenone/iscriviti/", "/c/pordenone/iscriviti"),
        ("/c/pordenone/privacy/", "/c/pordenone/privacy"),
    ],
)
def test_it_redirects_a_trailing_slash_to_the_page(client, comune, typed, page):
    response = client.get(typed)
    assert response.status_code == 301 and response["Location"] == page
    assert client.get(page).status_code == 200
