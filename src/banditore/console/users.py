"""The comune's staff: who may use the console and with which role. Every change is
audited; an account is deactivated, never deleted, so the audit log keeps its name."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from banditore.console.access import staff
from banditore.console.staff_forms import NewOperator, OperatorRole
from banditore.core import roles
from banditore.core.models import Operator, audit


@staff(roles.SETTINGS)
def listing(request):
    operators = (
        Operator.objects.filter(organization=request.operator.organization)
        .select_related("user")
        .order_by("-user__is_active", "user__username")
    )
    return render(request, "console/users/list.html", {"operators": operators})


@staff(roles.SETTINGS)
@require_http_methods(["GET", "POST"])
def add(request):
    form = NewOperator(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        org = request.operator.organization
        with transaction.atomic():
            user = get_user_model().objects.create_user(
                data["username"], email=data["email"], password=data["password"]
            )
            Operator.objects.create(
                user=user, organization=org, role=data["role"], reads_inbound=data["reads_inbound"]
            )
            audit(
                org,
                "operator.added",
                user.get_username(),
                actor=request.user,
                role=data["role"],
                reads_inbound=data["reads_inbound"],
            )
        messages.success(request, _("%s can now log in.") % user.get_username())
        return redirect("console:users")
    return render(request, "console/users/add.html", {"form": form})


def _operator(request, pk) -> Operator:
    return get_object_or_404(
        Operator.objects.select_related("user"),
        pk=pk,
        organization=request.operator.organization,
    )


@staff(roles.SETTINGS)
@require_http_methods(["GET", "POST"])
def change(request, pk):
    operator = _operator(request, pk)
    before = {"role": operator.role, "reads_inbound": operator.reads_inbound}
    form = OperatorRole(request.POST or None, instance=operator)
    if request.method == "POST" and form.is_valid():
        if operator.pk == request.operator.pk and form.cleaned_data["role"] != before["role"]:
            # Whoever demotes themselves could leave the comune with no amministratore.
            form.add_error("role", _("You can't change your own role."))
        else:
            with transaction.atomic():
                form.save()
                audit(
                    operator.organization,
                    "operator.changed",
                    operator.user.get_username(),
                    actor=request.user,
                    before=before,
                    after={"role": operator.role, "reads_inbound": operator.reads_inbound},
                )
            messages.success(request, _("%s updated.") % operator.user.get_username())
            return redirect("console:users")
    return render(request, "console/users/change.html", {"form": form, "member": operator})


@staff(roles.SETTINGS)
@require_http_methods(["GET", "POST"])
def deactivate(request, pk):
    operator = _operator(request, pk)
    if operator.pk == request.operator.pk:
        messages.error(request, _("You can't deactivate your own account."))
        return redirect("console:users")
    if request.method == "POST":
        with transaction.atomic():
            operator.user.is_active = False
            operator.user.save(update_fields=["is_active"])
            audit(
                operator.organization,
                "operator.deactivated",
                operator.user.get_username(),
                actor=request.user,
            )
        messages.success(request, _("%s can no longer log in.") % operator.user.get_username())
        return redirect("console:users")
    return render(request, "console/users/deactivate.html", {"member": operator})
