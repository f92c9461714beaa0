"""A program that fills the hidden field gets a success it can't tell apart; nothing is kept."""

from banditore.subscribers.models import ConsentEvent, Subscriber

from .helpers import sign_up


def test_it_answers_a_filled_honeypot_like_a_success_and_stores_nothing(client, comune):
    response = sign_up(client, website="https://spam.example")

    assert response.status_code == 302
    assert response["Location"].startswith("/iscriviti/")
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "Your number is not active yet." in html
    assert "https://wa.me/390510000001?text=ISCRIVIMI%20" in html
    assert "<svg" in html
    assert "5528" in html
    assert not Subscriber.objects.exists()
    assert not ConsentEvent.objects.exists()


def test_it_hides_the_honeypot_from_people_and_screen_readers(client, comune):
    html = client.get("/iscriviti").content.decode()

    wrapper = html[html.index('<div class="hp"') :]
    wrapper = wrapper[: wrapper.index("</div>")]
    assert 'aria-hidden="true"' in wrapper
    assert 'name="website"' in wrapper
    assert 'tabindex="-1"' in wrapper
