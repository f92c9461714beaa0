"""An art. 15 request handled by the office: everything held about a number, as JSON."""

import json

from banditore.subscribers import privacy
from tests.factories import subscribe

PHONE = "+393331110001"


def test_it_prints_the_subscribers_data_as_json(comune, run):
    subscribe(comune, PHONE, topics=["viabilita"])
    data = json.loads(run("export-data", "333.1110001").out)
    assert data["numero"] == PHONE
    assert data["comune"] == "Comune di Pordenone"
    assert data["temi"] == ["Viabilità"]
    assert [c["azione"] for c in data["consensi"]] == ["subscribe"]


def test_it_says_when_there_is_nothing_left(comune, run):
    assert "is not known to this comune" in run("export-data", PHONE).error
    subscribe(comune, PHONE)
    privacy.erase(comune, PHONE, actor_label="cli")
    assert f"{PHONE} was erased: no personal data is left" in run("export-data", PHONE).error
