"""The broadcast pages: list, compose and edit, the broadcast with its actions and its live
progress, the outcomes as CSV. Every change is one call to broadcasts.lifecycle (or
attachments), as the CLI and the API make it; a refusal shows the service's own words."""

import csv
import io
from datetime import datetime

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponseNotAllowed, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from banditore.broadcasts import attachments, cost, lifecycle, scheduling, templating
from banditore.broadcasts import progress as live
from banditore.broadcasts.audience import reached
from banditore.broadcasts.models import Broadcast, Delivery, Priority
from banditore.broadcasts.slots import DigestSlot, SlotEntry
from banditore.channels.models import Channel
from banditore.console.access import staff
from banditore.console.formatting import whatsapp_html
from banditore.console.forms import BroadcastForm, ScheduleForm, TestSendForm
from banditore.core import roles
from banditore.core.models import audit

B = Broadcast.Status


def _mine(request, pk: int) -> Broadcast:
    """Only this comune's broadcasts exist for its staff: another's is a 404."""
    return get_object_or_404(
        Broadcast.objects.filter(organization=request.operator.organization), pk=pk
    )


def _actor(request) -> lifecycle.Actor:
    return lifecycle.Actor.for_user(request.user)


@staff(roles.DRAFT)
def listing(request):
    broadcasts = (
        Broadcast.objects.filter(organization=request.operator.organization)
        .select_related("channel")
        .order_by("-id")[:200]
    )
    return render(request, "console/broadcasts.html", {"broadcasts": broadcasts})


def _save_content(request, form, broadcast: Broadcast | None) -> Broadcast:
    data = form.cleaned_data
    content = {
        "text": data["text"],
        "title": data["title"],
        "topics": list(data["topics"]),
        "zones": list(data["zones"]),
        "priority": data["priority"],
    }
    org, by = request.operator.organization, _actor(request)
    with transaction.atomic():
        if broadcast is None:
            broadcast = lifecycle.create(org, by, **content)
        else:
            broadcast = lifecycle.update(broadcast, by, **content)
        upload = data.get("attachment")
        if upload:
            if upload.size > attachments.largest():
                attachments.check(upload.read(attachments.HEAD_BYTES), upload.size)
            upload.seek(0)
            attachments.attach(broadcast, by, content=upload.read(), filename=upload.name or "")
    if "submit" in request.POST:
        broadcast = lifecycle.submit(broadcast, by)
        messages.success(request, _("Sent for approval."))
    else:
        messages.success(request, _("Saved."))
    return broadcast


def _compose(request, broadcast: Broadcast | None):
    org = request.operator.organization
    initial = {}
    if broadcast is not None:
        initial = {
            "title": broadcast.title,
            "text": broadcast.text,
            "topics": list(broadcast.topics.all()),
            "zones": list(broadcast.zones.all()),
            "priority": broadcast.priority,
        }
    form = BroadcastForm(org, request.POST or None, request.FILES or None, initial=initial)
    refusal = None
    if request.method == "POST" and form.is_valid():
        try:
            saved = _save_content(request, form, broadcast)
        except lifecycle.Refused as refused:
            refusal = refused.message
        else:
            return redirect("console:broadcast", pk=saved.pk)
    draft = broadcast or Broadcast(organization=org, channel=_channel(org), text="")
    context = {
        "form": form,
        "broadcast": broadcast,
        "refusal": refusal,
        "media": attachments.describe(broadcast) if broadcast else None,
        **_preview_context(request, draft, form),
    }
    return render(request, "console/broadcast_form.html", context)


def _channel(org) -> Channel | None:
    return Channel.objects.filter(organization=org).order_by("id").first()


@staff(roles.DRAFT)
def compose(request):
    return _compose(request, None)


@staff(roles.DRAFT)
def edit(request, pk: int):
    broadcast = _mine(request, pk)
    if broadcast.status != B.DRAFT:
        messages.error(request, _("Only a draft can be changed: withdraw it first."))
        return redirect("console:broadcast", pk=pk)
    return _compose(request, broadcast)


def _preview_context(request, broadcast: Broadcast, form) -> dict:
    """What the phone shows for the text being typed: an unsaved copy of the broadcast
    through templating.preview, the function the API's preview is."""
    org = request.operator.organization
    source = request.POST if request.method == "POST" else None
    text = source.get("text", "") if source is not None else broadcast.text
    if source is not None:
        topic_ids = [t for t in source.getlist("topics") if t.isdigit()]
        zone_ids = [z for z in source.getlist("zones") if z.isdigit()]
    elif broadcast.pk:
        topic_ids = list(broadcast.topics.values_list("pk", flat=True))
        zone_ids = list(broadcast.zones.values_list("pk", flat=True))
    else:
        topic_ids = zone_ids = []
    shown = Broadcast(
        organization=org,
        channel=broadcast.channel,
        template=broadcast.template,
        template_params=broadcast.template_params,
        text=text or "",
        title=(source.get("title", "") if source is not None else broadcast.title) or "",
    )
    phone = templating.preview(shown) if shown.channel_id else None
    audience = reached(
        org.pk,
        org.topics.filter(pk__in=topic_ids).values("pk"),
        org.zones.filter(pk__in=zone_ids).values("pk"),
    ).count()
    rate = shown.channel.rate_per_second if shown.channel_id else 0
    return {
        "phone": phone,
        "phone_body": whatsapp_html(phone["body"]) if phone else "",
        "phone_text": whatsapp_html(text or ""),
        "audience": audience,
        "duration": cost.format_duration(audience / rate) if rate else "",
        "length": len(text or ""),
        "text_max": lifecycle.TEXT_MAX,
    }


@staff(roles.DRAFT)
@require_POST
def preview(request):
    """The htmx partial of the compose page, redrawn as the text changes."""
    org = request.operator.organization
    draft = Broadcast(organization=org, channel=_channel(org), text="")
    return render(request, "console/broadcast_preview.html", _preview_context(request, draft, None))


# -- The broadcast page.


def _allowed(request, broadcast: Broadcast) -> dict[str, bool]:
    """The buttons to show: what the state allows and the role grants. The service still
    decides (four eyes, the emergency lane, the budget) and may refuse."""
    user = request.user

    def can(cap):
        return roles.can(user, cap)

    status = broadcast.status
    emergency_alone = (
        status == B.DRAFT
        and broadcast.priority == Priority.EMERGENCY
        and can(roles.EMERGENCY_ALONE)
    )
    live_states = (B.SENDING, B.PAUSED)
    in_digest = SlotEntry.objects.filter(broadcast=broadcast).exists()
    return {
        "edit": status == B.DRAFT and can(roles.DRAFT),
        "submit": status == B.DRAFT and can(roles.DRAFT),
        "withdraw": status in (B.SUBMITTED, B.APPROVED, B.SCHEDULED) and can(roles.DRAFT),
        "approve": status == B.SUBMITTED and can(roles.APPROVE),
        "schedule": status in (B.APPROVED, B.SCHEDULED) and can(roles.APPROVE),
        "send": status in (B.APPROVED, B.SCHEDULED) and can(roles.APPROVE),
        "send_alone": emergency_alone,
        "pause": status == B.SENDING and can(roles.CONTROL),
        "resume": status == B.PAUSED and can(roles.CONTROL),
        "cancel": _may_cancel(user, broadcast) and status not in (B.SENT, B.CANCELLED, B.MISSED),
        "retry": status in (B.SENDING, B.SENT)
        and can(roles.CONTROL)
        and broadcast.recipients.filter(status=Delivery.Status.FAILED).exists(),
        "review": broadcast.review_required
        and broadcast.reviewed_at is None
        and can(roles.APPROVE),
        "test": status not in live_states and can(roles.DRAFT),
        "digest": status in (B.DRAFT, B.APPROVED) and can(roles.DRAFT) and not in_digest,
        "undigest": in_digest and can(roles.DRAFT),
        "override_budget": can(roles.OVER_BUDGET),
    }


def _may_cancel(user, broadcast: Broadcast) -> bool:
    # Stopping a send under way is control; dropping one not started is the author's.
    if broadcast.status in (B.SENDING, B.PAUSED):
        return roles.can(user, roles.CONTROL)
    return roles.can(user, roles.DRAFT)


def _progress_context(broadcast: Broadcast) -> dict:
    if broadcast.started_at is None:
        return {"broadcast": broadcast, "progress": None}
    now = live.progress(broadcast)
    counts = now.counts
    total = broadcast.audience_size or sum(counts.values()) or 1
    done = total - now.remaining
    bars = [
        (key, label, counts.get(key, 0), round(100 * counts.get(key, 0) / total, 1))
        for key, label in (
            ("read", _("read")),
            ("delivered", _("delivered")),
            ("sent", _("sent")),
            ("failed", _("failed")),
            ("skipped", _("skipped")),
        )
    ]
    return {
        "broadcast": broadcast,
        "progress": now,
        "percent": round(100 * done / total),
        "total": total,
        "done": done,
        "bars": bars,
        "lines": live.describe(now, broadcast.organization.time_zone),
        "polling": broadcast.status == B.SENDING,
    }


@staff()
def detail(request, pk: int):
    broadcast = _mine(request, pk)
    allowed = _allowed(request, broadcast)
    estimate = None
    if broadcast.started_at is None and broadcast.status not in (B.CANCELLED, B.MISSED):
        try:
            estimate = cost.estimate(broadcast)
        except cost.RateCardError:
            estimate = None
    phone = templating.preview(broadcast)
    context = {
        "broadcast": broadcast,
        "allowed": allowed,
        "estimate": estimate,
        "estimate_money": cost.money(estimate.total) if estimate else "",
        "estimate_duration": cost.format_duration(estimate.seconds) if estimate else "",
        "phone": phone,
        "phone_body": whatsapp_html(phone["body"]),
        "phone_text": whatsapp_html(broadcast.text),
        "media": attachments.describe(broadcast),
        "schedule_form": ScheduleForm(
            broadcast.organization,
            initial={"at": broadcast.scheduled_at} if broadcast.scheduled_at else None,
        ),
        "test_form": TestSendForm(),
        "digest_entry": SlotEntry.objects.filter(broadcast=broadcast)
        .select_related("slot")
        .first(),
        "slots": DigestSlot.objects.filter(organization=broadcast.organization, active=True),
        **_progress_context(broadcast),
    }
    return render(request, "console/broadcast.html", context)


@staff()
def progress_part(request, pk: int):
    """The progress bar alone: htmx asks for it every 2 s while the broadcast is sending.
    Once it is no longer sending, the whole page is stale (its state, its buttons): htmx is
    told to reload it, once, and the reloaded page polls no more."""
    broadcast = _mine(request, pk)
    response = render(request, "console/broadcast_progress.html", _progress_context(broadcast))
    if broadcast.status != B.SENDING and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


def _schedule(request, broadcast, by):
    form = ScheduleForm(broadcast.organization, request.POST)
    if not form.is_valid():
        raise lifecycle.Refused("bad_time", _("Give the date and time to send it at."))
    return lifecycle.schedule(broadcast, by, at=form.cleaned_data["at"])


def _send(request, broadcast, by):
    override = request.POST.get("override_budget") == "1" and roles.can(
        request.user, roles.OVER_BUDGET
    )
    return lifecycle.send(broadcast, by, override_budget=override)


# action -> (who may ask, the service call, what the office reads afterwards)
def _to_digest(request, broadcast, by):
    slot = DigestSlot.objects.filter(
        organization=broadcast.organization, active=True, pk=request.POST.get("slot") or 0
    ).first()
    if slot is None:
        raise lifecycle.Refused("no_slot", _("Choose one of the comune's digest slots."))
    return scheduling.add_to_slot(slot, broadcast, by)


ACTIONS = {
    "invia-approvazione": ("submit", lambda r, b, by: lifecycle.submit(b, by)),
    "ritira": ("withdraw", lambda r, b, by: lifecycle.withdraw(b, by)),
    "approva": ("approve", lambda r, b, by: lifecycle.approve(b, by)),
    "programma": ("schedule", _schedule),
    "invia": ("send", _send),
    "invia-emergenza": ("send_alone", _send),
    "sospendi": ("pause", lambda r, b, by: lifecycle.pause(b, by)),
    "riprendi": ("resume", lambda r, b, by: lifecycle.resume(b, by)),
    "riprova": ("retry", lambda r, b, by: lifecycle.retry_failed(b, by)),
    "verificata": ("review", lambda r, b, by: lifecycle.review(b, by)),
    "notiziario": ("digest", _to_digest),
    "togli-notiziario": ("undigest", lambda r, b, by: scheduling.remove_from_slot(b, by)),
}
DONE = {
    "submit": gettext_lazy("Sent for approval."),
    "withdraw": gettext_lazy("Withdrawn: it is a draft again."),
    "approve": gettext_lazy("Approved."),
    "schedule": gettext_lazy("Scheduled."),
    "send": gettext_lazy("Sending."),
    "send_alone": gettext_lazy("Emergency sending."),
    "pause": gettext_lazy("Paused."),
    "resume": gettext_lazy("Resumed."),
    "retry": gettext_lazy("The failed messages are queued again."),
    "review": gettext_lazy("Reviewed."),
    "digest": gettext_lazy("It will go out in the digest."),
    "undigest": gettext_lazy("Taken out of the digest."),
}


@staff()
@require_POST
def act(request, pk: int, action: str):
    if action not in ACTIONS:
        raise Http404
    broadcast = _mine(request, pk)
    allowance, call = ACTIONS[action]
    if not _allowed(request, broadcast)[allowance]:
        messages.error(request, _("Your role does not allow this, or the broadcast's state."))
        return redirect("console:broadcast", pk=pk)
    try:
        call(request, broadcast, _actor(request))
    except lifecycle.Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, DONE[allowance])
    return redirect("console:broadcast", pk=pk)


@staff()
def cancel(request, pk: int):
    """GET asks to confirm, POST cancels."""
    broadcast = _mine(request, pk)
    if not _allowed(request, broadcast)["cancel"]:
        messages.error(request, _("Your role does not allow this, or the broadcast's state."))
        return redirect("console:broadcast", pk=pk)
    if request.method == "POST":
        try:
            lifecycle.cancel(broadcast, _actor(request))
        except lifecycle.Refused as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, _("Cancelled."))
        return redirect("console:broadcast", pk=pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(request, "console/broadcast_cancel.html", {"broadcast": broadcast})


@staff(roles.DRAFT)
@require_POST
def test_send(request, pk: int):
    broadcast = _mine(request, pk)
    form = TestSendForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give at least one number for the test."))
    else:
        try:
            sent = lifecycle.test_send(broadcast, _actor(request), form.numbers_list())
        except lifecycle.Refused as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, _("Test sent to %(n)d numbers.") % {"n": sent})
    return redirect("console:broadcast", pk=pk)


@staff()
def outcomes_csv(request, pk: int):
    broadcast = _mine(request, pk)
    # The outcomes name every recipient's number: who downloaded them is kept.
    audit(
        broadcast.organization,
        "broadcast.outcomes_exported",
        f"broadcast:{broadcast.pk}",
        actor=request.user,
    )
    response = StreamingHttpResponse(
        _csv_lines(lifecycle.outcomes(broadcast)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="esiti-{broadcast.pk}.csv"'
    return response


def _csv_lines(rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=lifecycle.OUTCOME_FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _cell(value):
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, datetime) else value
