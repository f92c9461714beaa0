"""A channel's settings are checked when saved: a rate of 0, a token with a line break or a
bad URL is refused with the field named, before any send can trip over it."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from banditore.channels.models import Channel
from tests.factories import channel_of


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("access_token", "abc\n"),
        ("access_token", ""),
        ("app_secret", "two words"),
        ("base_url", "graph.facebook.com"),
        ("base_url", "ftp://graph.facebook.com"),
        ("phone_number_id", ""),
    ],
)
def test_a_setting_that_cant_work_is_refused_naming_the_field(comune, field, value):
    channel = channel_of(comune)
    channel.config = {**channel.config, field: value}
    with pytest.raises(ValidationError) as refused:
        channel.full_clean()
    assert field in str(refused.value)


def test_a_rate_below_one_is_refused_by_the_form_and_the_database(comune):
    channel = channel_of(comune)
    channel.rate_per_second = 0
    with pytest.raises(ValidationError):
        channel.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        Channel.objects.filter(pk=channel.pk).update(rate_per_second=0)


def test_the_demo_settings_are_valid(comune):
    channel_of(comune).full_clean()
