"""The adapter's request bodies: what the Cloud API accepts, built fast for broadcasts."""

import json

from banditore.channels.whatsapp.client import TemplateBody, template_param, template_payload


def test_a_prebuilt_template_body_equals_the_plain_payload():
    body = TemplateBody("banditore_notizia", "it", ["Comune di Trevi", 'Avviso "urgente"\nStrade'])
    expected = template_payload(
        "+393331234567",
        "banditore_notizia",
        "it",
        ["Comune di Trevi", 'Avviso "urgente"\nStrade'],
        callback="delivery:7",
    )
    assert json.loads(body.render("+393331234567", "delivery:7")) == expected


def test_template_parameters_lose_line_breaks_tabs_and_long_space_runs():
    assert template_param("Riga uno\n\nRiga\tdue     fine ") == "Riga uno · Riga · due   fine"
    assert "\n" not in template_param("a\r\nb") and len(template_param("x" * 5000)) == 900
