"""`banditore subscribers …` and `banditore broadcast …` live in the apps they serve."""

import io

from django.core.management import call_command, get_commands

from banditore.broadcasts.models import Broadcast, Priority
from tests.factories import subscribe


def test_each_command_lives_in_its_app():
    commands = get_commands()
    assert commands["subscribers"] == "banditore.subscribers"
    assert commands["broadcast"] == "banditore.broadcasts"


def test_broadcast_send_takes_the_priority_by_name(comune):
    subscribe(comune, "+393331112222")
    out = io.StringIO()
    call_command("broadcast", "send", "--text", "Allerta", "--priority", "emergency", stdout=out)
    broadcast = Broadcast.objects.get()
    assert broadcast.priority == Priority.EMERGENCY
    call_command("broadcast", "status", str(broadcast.pk), stdout=out)
    assert "Destinatari: 1" in out.getvalue()
