"""The comune's subscribers: search, one subscriber's consent history, erasure, import and
export. Every change goes through the subscription services, as the CLI's does; a number
and its status are never edited here."""

import csv
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from banditore.console.access import staff
from banditore.console.models import PendingImport
from banditore.console.staff_forms import ImportConfirm, ImportUpload, SubscriberFilter
from banditore.core import roles
from banditore.core.models import audit
from banditore.subscribers import contacts, exporter, importer, privacy
from banditore.subscribers.models import ConsentEvent, Subscriber

PER_PAGE = 50
# Uploaded lists wait in the database (console.models.PendingImport) between the dry run and
# the confirmation; the session holds their tokens, so one operator can't apply another's.
SESSION_KEY = "console_imports"
IMPORT_KEPT = timedelta(hours=24)
MAX_IMPORT_BYTES = 20 * 2**20


def page_of(request, queryset, per_page=None):
    """The requested page, and the query string the page links keep (filters)."""
    page = Paginator(queryset, per_page or PER_PAGE).get_page(request.GET.get("page"))
    kept = request.GET.copy()
    kept.pop("page", None)
    return page, kept.urlencode()


def _filtered(org, form):
    found = (
        Subscriber.objects.filter(organization=org)
        .select_related("zone")
        .prefetch_related("contacts")
    )
    if not form.is_valid():
        return found.none()
    data = form.cleaned_data
    if data["number"]:
        found = found.filter(phone__contains=data["number"].replace(" ", ""))
    if data["status"]:
        found = found.filter(status=data["status"])
    if data["topic"]:
        found = found.filter(topics=data["topic"])
    if data["zone"]:
        found = found.filter(zone=data["zone"])
    if data["source"]:
        found = found.filter(
            consent_events__action=ConsentEvent.Action.SUBSCRIBE,
            consent_events__source=data["source"],
        )
    if data["since"]:
        found = found.filter(created_at__date__gte=data["since"])
    if data["until"]:
        found = found.filter(created_at__date__lte=data["until"])
    return found.distinct().order_by("-created_at", "-id")


@staff(roles.SUBSCRIBERS)
def listing(request):
    org = request.operator.organization
    form = SubscriberFilter(org, request.GET)
    found = _filtered(org, form)
    page, query = page_of(request, found)
    return render(
        request,
        "console/subscribers/list.html",
        {"form": form, "page": page, "query": query, "total": page.paginator.count},
    )


def _subscriber(request, pk):
    return get_object_or_404(
        Subscriber.objects.select_related("zone"), pk=pk, organization=request.operator.organization
    )


@staff(roles.SUBSCRIBERS)
def detail(request, pk):
    subscriber = _subscriber(request, pk)
    return render(
        request,
        "console/subscribers/detail.html",
        {
            "subscriber": subscriber,
            "topics": subscriber.topics.all(),
            "events": subscriber.consent_events.order_by("occurred_at", "id"),
        },
    )


@staff(roles.SUBSCRIBERS)
@require_http_methods(["GET", "POST"])
def erase(request, pk):
    subscriber = _subscriber(request, pk)
    org = request.operator.organization
    if request.method == "POST":
        label = str(subscriber)
        privacy.erase(
            org,
            contacts.first_address(subscriber),
            actor_label=request.user.get_username(),
            actor=request.user,
        )
        messages.success(
            request,
            _("%(phone)s erased. Pseudonymised proof of consent is kept for %(days)d days.")
            % {"phone": label, "days": org.proof_retention_days},
        )
        return redirect("console:subscribers")
    return render(request, "console/subscribers/erase.html", {"subscriber": subscriber})


@staff(roles.SUBSCRIBERS)
def export(request):
    org = request.operator.organization
    status = request.GET.get("status", "active")
    if status not in exporter.STATUSES:
        raise Http404
    # A list of citizens' numbers leaving the system: who took it, and which.
    audit(org, "subscribers.exported", org.slug, actor=request.user, status=status)

    class Lines:
        # exporter.write_csv writes to a stream; collect what each row writes and yield it.
        def __init__(self):
            self.parts = []

        def write(self, text):
            self.parts.append(text)

    def stream():
        out = Lines()
        out.write(exporter.BOM)
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(exporter.HEADER)
        for row in exporter.rows(org, status):
            writer.writerow(row)
            yield "".join(out.parts)
            out.parts.clear()
        yield "".join(out.parts)

    name = f"iscritti-{org.slug}-{status}-{timezone.localdate():%Y%m%d}.csv"
    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _stored(request, token: str) -> PendingImport | None:
    """The file uploaded under `token` by this session's operator, for this comune."""
    if token not in request.session.get(SESSION_KEY, []):
        return None
    return PendingImport.objects.filter(
        token=token,
        organization=request.operator.organization,
        uploaded_by=request.user,
        created_at__gte=timezone.now() - IMPORT_KEPT,
    ).first()


def _forget(request, token: str) -> None:
    PendingImport.objects.filter(token=token).delete()
    request.session[SESSION_KEY] = [t for t in request.session.get(SESSION_KEY, []) if t != token]


def _plan(pending: PendingImport):
    # The importer reads a path, and the proof of consent names the file: a private
    # temporary folder on whichever machine handles this request, gone once read.
    with tempfile.TemporaryDirectory(prefix="banditore-import-") as folder:
        path = Path(folder) / pending.name
        path.write_bytes(bytes(pending.content))
        return importer.plan_import(
            pending.organization,
            path,
            default_date=pending.consent_date,
            default_source=pending.consent_source,
        )


@staff(roles.SUBSCRIBERS)
@require_http_methods(["GET", "POST"])
def import_upload(request):
    form = ImportUpload(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            form.add_error(
                "file", _("The file is larger than %d MB.") % (MAX_IMPORT_BYTES // 2**20)
            )
            return render(request, "console/subscribers/import.html", {"form": form})
        # Uploads never confirmed are dropped here, as no periodic task knows of them.
        PendingImport.objects.filter(created_at__lt=timezone.now() - IMPORT_KEPT).delete()
        pending = PendingImport(
            token=secrets.token_urlsafe(16),
            organization=request.operator.organization,
            uploaded_by=request.user,
            name=get_valid_filename(Path(upload.name).name) or "iscritti.csv",
            content=b"".join(upload.chunks()),
            consent_date=form.cleaned_data["consent_date"].strip(),
            consent_source=form.cleaned_data["consent_source"].strip(),
        )
        try:
            plan = _plan(pending)
        except importer.ImportFailed as exc:
            form.add_error(None, str(exc))
        else:
            pending.save()
            request.session[SESSION_KEY] = [*request.session.get(SESSION_KEY, []), pending.token]
            return render(
                request,
                "console/subscribers/import_plan.html",
                _plan_context(plan, ImportConfirm(initial={"token": pending.token})),
            )
    return render(request, "console/subscribers/import.html", {"form": form})


def _plan_context(plan, confirm):
    return {
        "plan": plan,
        "confirm": confirm,
        "columns": [(title, importer.role_label(role)) for title, role in plan.columns.items()],
        "counts": {
            "to_import": len(plan.rows),
            "already_active": plan.count("already_active"),
            "opted_out": plan.count("opted_out"),
            "duplicate": plan.count("duplicate"),
            "not_active": plan.count("not_active"),
            "invalid": plan.invalid_lines,
        },
        "window": importer.consent_window(plan),
    }


@staff(roles.SUBSCRIBERS)
@require_POST
def import_apply(request):
    confirm = ImportConfirm(request.POST)
    if not confirm.is_valid():
        raise Http404
    token = confirm.cleaned_data["token"]
    pending = _stored(request, token)
    if pending is None:
        messages.error(request, _("That upload has expired: upload the file again."))
        return redirect("console:subscribers_import")
    try:
        # Checked again: the database may have changed since the dry run.
        plan = _plan(pending)
    except importer.ImportFailed as exc:
        _forget(request, token)
        messages.error(request, str(exc))
        return redirect("console:subscribers_import")
    if plan.invalid_lines and not confirm.cleaned_data["skip_invalid"]:
        confirm.add_error(
            "skip_invalid",
            _("Invalid rows: %d. Nothing was imported; fix them, or import the others.")
            % plan.invalid_lines,
        )
        return render(request, "console/subscribers/import_plan.html", _plan_context(plan, confirm))
    if not plan.rows:
        _forget(request, token)
        messages.info(request, _("Nothing to import."))
        return redirect("console:subscribers")
    try:
        result = importer.apply_import(plan, actor_label=request.user.get_username())
    except importer.ImportInterrupted as exc:
        messages.error(request, exc.message())
        return render(request, "console/subscribers/import_plan.html", _plan_context(plan, confirm))
    _forget(request, token)
    messages.success(
        request,
        _("Subscribers imported: %(count)d (batch %(batch)s).")
        % {"count": result.imported, "batch": result.batch_id},
    )
    return redirect("console:subscribers")
