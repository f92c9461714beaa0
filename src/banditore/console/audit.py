"""The comune's audit log: who did what, newest first."""

from django.shortcuts import render

from banditore.console.access import staff
from banditore.console.staff_forms import AuditFilter
from banditore.console.subscribers import page_of
from banditore.core import roles
from banditore.core.models import AuditEvent


@staff(roles.AUDIT)
def listing(request):
    events = AuditEvent.objects.filter(organization=request.operator.organization)
    actions = events.order_by("action").values_list("action", flat=True).distinct()
    form = AuditFilter(list(actions), request.GET)
    if form.is_valid() and form.cleaned_data["action"]:
        events = events.filter(action=form.cleaned_data["action"])
    page, query = page_of(request, events.order_by("-at", "-id"))
    return render(request, "console/audit/list.html", {"form": form, "page": page, "query": query})
