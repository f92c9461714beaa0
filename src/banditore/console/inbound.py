"""What citizens wrote to the comune's number, newest first. Personal data: only operators
who forward it to a desk (Operator.reads_inbound), and the amministratore, read it
(roles.INBOUND)."""

from django.shortcuts import render

from banditore.console.access import staff
from banditore.console.subscribers import page_of
from banditore.core import roles
from banditore.webhooks.models import InboundMessage


@staff(roles.INBOUND)
def listing(request):
    found = (
        InboundMessage.objects.filter(organization=request.operator.organization)
        .select_related("subscriber")
        .order_by("-received_at", "-id")
    )
    page, query = page_of(request, found)
    return render(request, "console/inbound/list.html", {"page": page, "query": query})
