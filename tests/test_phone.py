import pytest

from banditore.core.phone import InvalidNumber, from_whatsapp_id, to_e164


@pytest.mark.parametrize(
    "raw",
    ["333.9135528", "333 913 5528", "+39 333 913 5528", "0039 333 9135528", "+393339135528"],
)
def test_it_normalises_what_people_type_to_e164(raw):
    assert to_e164(raw) == "+393339135528"


@pytest.mark.parametrize("raw", ["", "ciao", "12", "+39 123", "333.91355289999"])
def test_it_refuses_what_is_not_a_number(raw):
    with pytest.raises(InvalidNumber):
        to_e164(raw)


def test_it_reads_whatsapp_ids():
    assert from_whatsapp_id("393339135528") == "+393339135528"
    with pytest.raises(InvalidNumber):
        from_whatsapp_id("")
