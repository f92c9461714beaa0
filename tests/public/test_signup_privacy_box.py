"""Consent is a clear act: without the privacy box ticked nothing is stored."""

from banditore.subscribers.models import ConsentEvent, Subscriber

from .helpers import sign_up


def test_it_refuses_a_sign_up_without_the_privacy_box(client, comune):
    response = sign_up(client, privacy=None)

    html = response.content.decode()
    assert response.status_code == 200
    assert "confirm that you have read the privacy notice" in html
    assert 'aria-describedby="id_privacy_error"' in html
    assert not Subscriber.objects.exists()
    assert not ConsentEvent.objects.exists()


def test_it_summarises_the_errors_at_the_top_with_links_to_the_fields(client, comune):
    response = sign_up(client, phone="", privacy=None)

    html = response.content.decode()
    summary = html[
        html.index('class="error-summary"') : html.index('<form method="post" action="/iscriviti"')
    ]
    assert 'role="alert"' in summary
    assert 'href="#id_phone"' in summary
    assert 'href="#id_privacy"' in summary
    assert "<title>Error:" in html


def test_it_links_the_box_to_the_notice_and_names_its_version(client, comune):
    client.get("/privacy")
    comune.dpo_contact = "rpd@comune.example"
    comune.save()

    html = client.get("/iscriviti").content.decode()

    label = html[html.index('<label for="id_privacy">') :]
    label = label[: label.index("</label>")]
    assert 'href="/privacy"' in label
    # The changed notice was published as the form was shown: the box names the new one.
    assert "version 2," in label
    # Never ticked in advance.
    assert 'name="privacy" required id="id_privacy"' in html
