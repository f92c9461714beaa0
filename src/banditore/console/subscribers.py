"""The comune's subscribers: search, one subscriber's consent history, erasure, import and
export. Every change goes through the subscription services, as the CLI's does; a number
and its status are never edited here."""

import csv
import secrets
import shutil
import tempfile
from pathlib import Path

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from banditore.console.access import staff
from banditore.console.staff_forms import ImportConfirm, ImportUpload, SubscriberFilter
from banditore.core import roles
from banditore.subscribers import exporter, importer, privacy
from banditore.subscribers.models import ConsentEvent, Subscriber

PER_PAGE = 50
# Uploaded lists wait here between the dry run and the confirmation; the session holds the
# token, so one operator can't apply another's file.
IMPORTS_DIR = Path(tempfile.gettempdir()) / "banditore-console-imports"
SESSION_KEY = "console_imports"


def page_of(request, queryset, per_page=PER_PAGE):
    """The requested page, and the query string the page links keep (filters)."""
    page = Paginator(queryset, per_page).get_page(request.GET.get("page"))
    kept = request.GET.copy()
    kept.pop("page", None)
    return page, kept.urlencode()


def _filtered(org, form):
    found = Subscriber.objects.filter(organization=org).select_related("zone")
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
        privacy.erase(
            org, subscriber.phone, actor_label=request.user.get_username(), actor=request.user
        )
        messages.success(
            request,
            _("%(phone)s erased. Pseudonymised proof of consent is kept for %(days)d days.")
            % {"phone": subscriber.phone, "days": org.proof_retention_days},
        )
        return redirect("console:subscribers")
    return render(request, "console/subscribers/erase.html", {"subscriber": subscriber})


@staff(roles.SUBSCRIBERS)
def export(request):
    org = request.operator.organization
    status = request.GET.get("status", "active")
    if status not in exporter.STATUSES:
        raise Http404

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


def _stored(request, token: str) -> Path | None:
    """The file uploaded under `token` by this session, for this comune."""
    entry = request.session.get(SESSION_KEY, {}).get(token)
    if not entry or entry["org"] != request.operator.organization.pk:
        return None
    path = IMPORTS_DIR / token / entry["name"]
    return path if path.is_file() else None


def _forget(request, token: str) -> None:
    shutil.rmtree(IMPORTS_DIR / token, ignore_errors=True)
    stored = request.session.get(SESSION_KEY, {})
    stored.pop(token, None)
    request.session[SESSION_KEY] = stored


def _plan(request, path: Path, entry: dict):
    return importer.plan_import(
        request.operator.organization,
        path,
        default_date=entry["consent_date"],
        default_source=entry["consent_source"],
    )


@staff(roles.SUBSCRIBERS)
@require_http_methods(["GET", "POST"])
def import_upload(request):
    form = ImportUpload(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        token = secrets.token_urlsafe(16)
        upload = form.cleaned_data["file"]
        # The proof of consent names the file: keep the name the operator's file had.
        name = get_valid_filename(Path(upload.name).name) or "iscritti.csv"
        folder = IMPORTS_DIR / token
        folder.mkdir(parents=True, mode=0o700)
        with (folder / name).open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        entry = {
            "org": request.operator.organization.pk,
            "name": name,
            "consent_date": form.cleaned_data["consent_date"].strip(),
            "consent_source": form.cleaned_data["consent_source"].strip(),
        }
        try:
            plan = _plan(request, folder / name, entry)
        except importer.ImportFailed as exc:
            shutil.rmtree(folder, ignore_errors=True)
            form.add_error(None, str(exc))
        else:
            request.session[SESSION_KEY] = {**request.session.get(SESSION_KEY, {}), token: entry}
            return render(
                request,
                "console/subscribers/import_plan.html",
                _plan_context(plan, ImportConfirm(initial={"token": token})),
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
    path = _stored(request, token)
    if path is None:
        messages.error(request, _("That upload has expired: upload the file again."))
        return redirect("console:subscribers_import")
    entry = request.session[SESSION_KEY][token]
    try:
        # Checked again: the database may have changed since the dry run.
        plan = _plan(request, path, entry)
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
    except IntegrityError:
        messages.error(
            request,
            _(
                "A number in the file signed up while importing: nothing was imported. "
                "Run the import again."
            ),
        )
        return render(request, "console/subscribers/import_plan.html", _plan_context(plan, confirm))
    _forget(request, token)
    messages.success(
        request,
        _("Subscribers imported: %(count)d (batch %(batch)s).")
        % {"count": result.imported, "batch": result.batch_id},
    )
    return redirect("console:subscribers")
