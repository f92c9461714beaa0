"""What citizens wrote to the comune's number, newest first. Personal data: only operators
who forward it to a desk (Operator.reads_inbound), and the amministratore, read it."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext as _

from banditore.console.access import staff
from banditore.console.subscribers import page_of
from banditore.core.models import Operator
from banditore.webhooks.models import InboundMessage


def may_read(operator: Operator) -> bool:
    return operator.reads_inbound or operator.role == Operator.Role.ADMIN


@staff()
def listing(request):
    if not may_read(request.operator):
        raise PermissionDenied(_("Your account does not read what citizens write."))
    found = (
        InboundMessage.objects.filter(organization=request.operator.organization)
        .select_related("subscriber")
        .order_by("-received_at", "-id")
    )
    page, query = page_of(request, found)
    return render(request, "console/inbound/list.html", {"page": page, "query": query})
