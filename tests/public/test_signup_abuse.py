"""The sign-up form can't be abused: the per-address limit holds under concurrency and
counts an IPv6 /64 as one address; a stranger who types someone else's number changes
nothing and learns nothing; uploads and oversized bodies are refused and nothing stored;
once proven, the confirmation page shows what was chosen."""

import re
from collections import Counter
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from banditore.public.views import SIGNUP_MAX_BYTES, SIGNUPS_PER_IP_PER_HOUR
from banditore.subscribers import service
from banditore.subscribers.models import ConsentEvent, Subscriber
from tests.factories import make_comune, subscribe
from tests.public.conftest import english_client
from tests.together import at_once

from .helpers import UA, form, make_zone, sign_up, signed_up_page

S = Subscriber.Status
PHONE = "+393339135528"


def numbers(n: int, start: int = 0) -> list[str]:
    return [f"333 100 {i:04d}" for i in range(start, start + n)]


def topic_pk(org, slug: str) -> str:
    return str(org.topics.get(slug=slug).pk)


def code_on(page) -> str:
    return re.search(r'class="code-value">([A-Z0-9]{6})<', page.content.decode()).group(1)


# --- the per-address limit -------------------------------------------------------------


def test_an_ipv6_slash_64_is_one_address(comune):
    for i, number in enumerate(numbers(SIGNUPS_PER_IP_PER_HOUR)):
        client = english_client(REMOTE_ADDR=f"2001:db8:1:2::{i + 1:x}")
        assert sign_up(client, phone=number).status_code == 302

    same_64 = english_client(REMOTE_ADDR="2001:db8:1:2::ffff")
    assert sign_up(same_64, phone="333 100 9999").status_code == 429
    other_64 = english_client(REMOTE_ADDR="2001:db8:1:3::1")
    assert sign_up(other_64, phone="333 100 9998").status_code == 302
    assert Subscriber.objects.count() == SIGNUPS_PER_IP_PER_HOUR + 1
    assert not Subscriber.objects.filter(phone="+393331009999").exists()


def test_the_64_holds_however_its_addresses_are_written(comune):
    # Zeros in the prefix make the short forms share no text prefix: 2001:db8::1 and
    # 2001:db8::a:0:0:1 are both in 2001:db8::/64.
    spellings = ["2001:db8::1", "2001:db8::a:0:0:1", "2001:0db8:0000:0000:ffff::2"]
    for address, number in zip(spellings, numbers(3), strict=True):
        assert sign_up(english_client(REMOTE_ADDR=address), phone=number).status_code == 302
    for address, number in zip(spellings[:2], numbers(2, 3), strict=True):
        assert sign_up(english_client(REMOTE_ADDR=address), phone=number).status_code == 302

    assert (
        sign_up(english_client(REMOTE_ADDR="2001:db8::9"), phone="333 100 9999").status_code == 429
    )


def test_an_ipv4_address_written_as_ipv6_is_the_same_address(comune):
    for number in numbers(SIGNUPS_PER_IP_PER_HOUR):
        assert sign_up(english_client(REMOTE_ADDR="198.51.100.9"), phone=number).status_code == 302
    mapped = english_client(REMOTE_ADDR="::ffff:198.51.100.9")
    assert sign_up(mapped, phone="333 100 9999").status_code == 429
    # Neighbours in IPv4 are other households.
    assert (
        sign_up(english_client(REMOTE_ADDR="198.51.100.10"), phone="333 100 9998").status_code
        == 302
    )


def race_sign_ups(addresses: list[str]) -> Counter:
    """Every address posts the form at the same moment, each its own number."""

    def one(numbered):
        i, address = numbered
        client = english_client(REMOTE_ADDR=address)
        return sign_up(client, phone=f"333 200 {i:04d}").status_code

    return Counter(at_once(one, enumerate(addresses)))


@pytest.fixture
def pg(transactional_db):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's test database is not shared between threads of one test")
    return make_comune()


def test_thirty_at_once_from_one_address_let_exactly_the_limit_through(pg):
    outcomes = race_sign_ups(["203.0.113.50"] * 30)

    assert outcomes == Counter({302: SIGNUPS_PER_IP_PER_HOUR, 429: 30 - SIGNUPS_PER_IP_PER_HOUR})
    assert Subscriber.objects.count() == SIGNUPS_PER_IP_PER_HOUR
    assert ConsentEvent.objects.filter(source="web").count() == SIGNUPS_PER_IP_PER_HOUR


def test_thirty_at_once_from_one_ipv6_64_let_exactly_the_limit_through(pg):
    outcomes = race_sign_ups([f"2001:db8:5:6::{i + 1:x}" for i in range(30)])

    assert outcomes == Counter({302: SIGNUPS_PER_IP_PER_HOUR, 429: 30 - SIGNUPS_PER_IP_PER_HOUR})
    assert Subscriber.objects.count() == SIGNUPS_PER_IP_PER_HOUR


def test_at_once_from_different_addresses_each_has_its_own_limit(pg):
    outcomes = race_sign_ups([f"198.51.100.{i + 1}" for i in range(12)])

    assert outcomes == Counter({302: 12})
    assert Subscriber.objects.count() == 12


# --- a stranger typing someone else's number ----------------------------------------------


def test_a_second_sign_up_for_a_pending_number_changes_nothing(client, comune):
    make_zone(comune, "centro", "Centro")
    first_page = signed_up_page(
        client, phone="333 913 5528", name="Anna", topics=[topic_pk(comune, "viabilita")]
    )
    first = Subscriber.objects.get()
    first_topics = list(first.topics.values_list("slug", flat=True))

    stranger = english_client(REMOTE_ADDR="198.51.100.66")
    second_page = signed_up_page(
        stranger,
        phone="+39 333 9135528",
        name="Mallory",
        topics=[topic_pk(comune, "eventi")],
        zone=str(comune.zones.get().pk),
    )

    now = Subscriber.objects.get()
    assert (now.name, now.confirmation_code, now.zone_id, now.created_at, now.status) == (
        "Anna",
        first.confirmation_code,
        None,
        first.created_at,
        S.PENDING,
    )
    assert list(now.topics.values_list("slug", flat=True)) == first_topics == ["viabilita"]
    assert ConsentEvent.objects.count() == 1
    # The stranger gets the same kind of answer, but not the owner's code.
    assert "Your number is not active yet." in second_page.content.decode()
    assert code_on(second_page) != code_on(first_page) == first.confirmation_code


def test_the_owner_proves_a_pending_sign_up_with_its_first_choices(client, comune):
    from tests.chat import write

    signed_up_page(client, phone="333 913 5528", topics=[topic_pk(comune, "viabilita")])
    stranger = english_client(REMOTE_ADDR="198.51.100.66")
    again = signed_up_page(stranger, phone="333 913 5528", topics=[topic_pk(comune, "eventi")])

    write(comune.channels.get(), PHONE, f"ISCRIVIMI {code_on(again)}")

    subscriber = Subscriber.objects.get()
    assert subscriber.status == S.ACTIVE
    assert list(subscriber.topics.values_list("slug", flat=True)) == ["viabilita"]


def test_a_pending_sign_up_past_its_expiry_can_be_made_again(client, comune):
    signed_up_page(client, phone="333 913 5528", name="Anna")
    old = Subscriber.objects.get()
    Subscriber.objects.update(
        created_at=timezone.now() - timedelta(days=comune.signup_expiry_days, minutes=1)
    )

    page = signed_up_page(
        client, phone="333 913 5528", name="Anna B", topics=[topic_pk(comune, "eventi")]
    )

    new = Subscriber.objects.get()
    assert new.pk == old.pk and new.status == S.PENDING and new.name == "Anna B"
    assert new.confirmation_code not in ("", old.confirmation_code)
    assert code_on(page) == new.confirmation_code
    assert list(new.topics.values_list("slug", flat=True)) == ["eventi"]
    assert ConsentEvent.objects.filter(action="subscribe", source="web").count() == 2


def test_an_unsubscribed_number_stays_unsubscribed(client, comune):
    subscribe(comune, PHONE, topics=["eventi"])
    service.unsubscribe(comune, PHONE, source="whatsapp", evidence={})
    before = ConsentEvent.objects.count()

    page = signed_up_page(client, phone="333 913 5528", topics=[topic_pk(comune, "viabilita")])

    subscriber = Subscriber.objects.get()
    assert subscriber.status == S.UNSUBSCRIBED
    assert subscriber.confirmation_code == ""
    assert list(subscriber.topics.values_list("slug", flat=True)) == ["eventi"]
    assert ConsentEvent.objects.count() == before
    assert "Your number is not active yet." in page.content.decode()


def test_only_the_owner_brings_an_unsubscribed_number_back_from_whatsapp(client, comune):
    from tests.chat import write

    subscribe(comune, PHONE)
    service.unsubscribe(comune, PHONE, source="whatsapp", evidence={})
    page = signed_up_page(client, phone="333 913 5528")
    assert Subscriber.objects.get().status == S.UNSUBSCRIBED

    write(comune.channels.get(), PHONE, f"ISCRIVIMI {code_on(page)}")

    assert Subscriber.objects.get().status == S.ACTIVE


@pytest.mark.parametrize("state", ["approval", "unreachable"])
def test_a_number_waiting_for_approval_or_unreachable_is_left_alone(client, comune, state):
    subscriber = subscribe(comune, PHONE, topics=["eventi"])
    if state == "approval":
        Subscriber.objects.filter(pk=subscriber.pk).update(status=S.PENDING, approved_at=None)
    else:
        Subscriber.objects.filter(pk=subscriber.pk).update(status=S.UNREACHABLE)
    before = Subscriber.objects.values().get()
    events = ConsentEvent.objects.count()

    signed_up_page(client, phone="333 913 5528", name="Mallory")

    assert Subscriber.objects.values().get() == before
    assert ConsentEvent.objects.count() == events


def answer_for(client, comune, phone: str) -> tuple[str, dict]:
    response = sign_up(client, phone=phone)
    assert response.status_code == 302
    shown = client.get(response["Location"])
    state = client.get(response["Location"] + "/stato").json()
    # What differs by nature (the code, the QR code drawn from it, the CSP nonce) aside.
    page = shown.content.decode().replace(code_on(shown), "CODE")
    page = re.sub(r"<svg.*?</svg>", "QR", page, flags=re.S)
    page = re.sub(r'nonce="[^"]*"', "", page)
    page = re.sub(r'data-status-url="[^"]*"', "", page)
    page = re.sub(r'name="(csrfmiddlewaretoken|next)" value="[^"]*"', "", page)
    # The token itself: the same length whatever the number's state.
    token = response["Location"].rsplit("/", 1)[1]
    page = page.replace(token, "TOKEN") + f"token length {len(token)}"
    return page, state


def test_the_answer_is_the_same_whatever_state_the_number_is_in(comune):
    subscribe(comune, "+393330000001")
    subscribe(comune, "+393330000002")
    service.unsubscribe(comune, "+393330000002", source="whatsapp", evidence={})
    client = english_client(REMOTE_ADDR="198.51.100.7")
    sign_up(client, phone="333 000 0003")

    answers = [
        answer_for(english_client(REMOTE_ADDR=f"198.51.100.{i}"), comune, phone)
        for i, phone in enumerate(
            # New, active, unsubscribed, pending: only the last digit differs.
            ["333 000 0004", "333 000 0001", "333 000 0002", "333 000 0003"],
            start=20,
        )
    ]
    normalised = {(re.sub(r"000\d", "LAST", page), str(state)) for page, state in answers}
    assert len(normalised) == 1
    assert answers[0][1] == {"state": "pending"}


# --- uploads and oversized bodies -----------------------------------------------------------


def nothing_stored():
    return not Subscriber.objects.exists() and not ConsentEvent.objects.exists()


def test_an_upload_is_refused_and_nothing_stored(client, comune):
    data = form(photo=SimpleUploadedFile("id.jpg", b"\xff\xd8\xff" + b"x" * 1000, "image/jpeg"))

    response = client.post("/iscriviti", data, HTTP_USER_AGENT=UA)

    assert response.status_code == 400
    assert "takes no files" in response.content.decode()
    assert nothing_stored()


def test_an_oversized_body_is_refused_before_it_is_read(client, comune):
    body = urlencode({**form(), "name": "A" * (SIGNUP_MAX_BYTES + 1)})

    response = client.post(
        "/iscriviti", body, content_type="application/x-www-form-urlencoded", HTTP_USER_AGENT=UA
    )

    assert response.status_code == 413
    assert "far larger than the sign-up form" in response.content.decode()
    assert nothing_stored()


def test_an_oversized_upload_is_refused_too(client, comune):
    big = SimpleUploadedFile("big.bin", b"x" * (4 * 1024 * 1024), "application/octet-stream")

    response = client.post("/iscriviti", form(file=big), HTTP_USER_AGENT=UA)

    assert response.status_code == 413
    assert nothing_stored()


def test_a_body_that_is_not_a_form_is_refused(client, comune):
    response = client.post("/iscriviti", {"phone": PHONE}, content_type="application/json")

    assert response.status_code == 415
    assert nothing_stored()


def test_the_form_still_checks_its_csrf_token(comune):
    client = english_client(REMOTE_ADDR="203.0.113.7", enforce_csrf_checks=True)

    response = sign_up(client)

    assert response.status_code == 403
    assert nothing_stored()


def test_a_plain_browser_form_still_works(client, comune):
    response = client.post(
        "/iscriviti",
        urlencode(form()),
        content_type="application/x-www-form-urlencoded",
        HTTP_USER_AGENT=UA,
    )
    assert response.status_code == 302
    assert Subscriber.objects.get().phone == PHONE


# --- the confirmation page, once proven -------------------------------------------------------


def test_once_proven_the_page_shows_the_topics_and_zone_chosen(client, comune):
    make_zone(comune, "centro", "Centro storico")
    response = sign_up(
        client,
        topics=[topic_pk(comune, "viabilita"), topic_pk(comune, "eventi")],
        zone=str(comune.zones.get().pk),
    )
    pending = client.get(response["Location"]).content.decode()
    assert 'id="scelte"' not in pending

    service.confirm_number(comune, PHONE, evidence={"test": True})

    page = client.get(response["Location"]).content.decode()
    chosen = page[page.index('id="scelte"') :]
    names = re.findall(r"<li>([^<]+)</li>", chosen[: chosen.index("</section>")])
    assert names == list(
        comune.topics.filter(slug__in=["viabilita", "eventi"]).values_list("name", flat=True)
    )
    assert "Area: Centro storico" in chosen


def test_waiting_for_approval_the_page_shows_the_choices_too(client, comune):
    comune.require_approval = True
    comune.save()
    response = sign_up(client, topics=[topic_pk(comune, "viabilita")])
    service.confirm_number(comune, PHONE, evidence={"test": True})

    page = client.get(response["Location"]).content.decode()
    assert "Waiting for approval" in page
    chosen = page[page.index('id="scelte"') :]
    assert "Viabilità" in chosen and "Area: the whole comune." in chosen
