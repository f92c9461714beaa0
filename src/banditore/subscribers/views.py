from django.http import HttpRequest, HttpResponse, JsonResponse

from banditore.core.models import audit
from banditore.core.phone import phone_hash
from banditore.subscribers import privacy


def data_export(request: HttpRequest, token: str) -> HttpResponse:
    """Art. 15/20: everything held about a subscriber, from the signed link I MIEI DATI gives."""
    subscriber = privacy.subscriber_from_token(token)
    if subscriber is None:
        return HttpResponse(
            "Link non valido o scaduto: scrivi I MIEI DATI su WhatsApp per riceverne uno nuovo.",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    audit(
        subscriber.organization,
        "subscriber.data_exported",
        f"hash:{phone_hash(subscriber.phone)[:12]}",
        label="citizen link",
    )
    response = JsonResponse(
        privacy.export_data(subscriber), json_dumps_params={"ensure_ascii": False, "indent": 2}
    )
    response["Cache-Control"] = "no-store"
    response["Content-Disposition"] = 'inline; filename="dati-banditore.json"'
    return response
