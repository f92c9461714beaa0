"""The comune's settings: reply texts, keywords, sending rules, budget, retention, privacy
notice, digest slots and the channel's credentials. Every change is audited, with what
changed and never a secret's value."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from banditore.broadcasts import scheduling
from banditore.broadcasts.slots import DigestSlot
from banditore.channels import registry
from banditore.console.access import staff
from banditore.console.staff_forms import (
    SECRET_LABELS,
    ChannelCredentials,
    DigestSlotForm,
    OrganizationSettings,
)
from banditore.core import roles
from banditore.core.models import audit
from banditore.public import notices
from banditore.subscribers import replies


def _sample_facts(org) -> dict[str, str]:
    """Believable values for the placeholders a reply fills at the moment it is sent."""
    topics = [t.name for t in org.topics.all()[:2]] or ["Viabilità"]
    zones = [z.name for z in org.zones.all()] or ["Centro"]
    return {
        "topics": ", ".join(topics),
        "zone": zones[0],
        "zones": ", ".join(zones),
        "words": "Borgo",
        "code": "ABC123",
        "choices": f"{replies.JOIN_WORD} / {replies.LEAVE_WORD}",
        "description": org.description,
    }


def _as_read(org, field: str, own: str | None, facts: dict) -> str:
    """A reply as the chat would send it: the comune's text, or the built-in one if blank."""
    text = own if (own or "").strip() else replies.built_in(field)
    return org.render(text, **facts)


def _previews(org, form):
    """Each reply text as a citizen would read it: the typed text when the form failed."""
    facts = _sample_facts(org)
    shown = []
    for field in OrganizationSettings.TEXTS:
        typed = form.data.get(field) if form.is_bound else None
        own = typed if typed is not None else getattr(org, field)
        shown.append((form[field], _as_read(org, field, own, facts)))
    return shown


@staff(roles.SETTINGS)
@require_POST
def preview(request):
    """The htmx partial under a reply text, redrawn as it is typed, before anything is saved."""
    org = request.operator.organization
    field = next((f for f in OrganizationSettings.TEXTS if f in request.POST), None)
    if field is None:
        raise Http404
    text = _as_read(org, field, request.POST[field], _sample_facts(org))
    return render(request, "console/settings/_preview.html", {"name": field, "text": text})


def _credentials(channel, data=None) -> ChannelCredentials:
    secrets = registry.of(channel).secrets
    return ChannelCredentials(data, prefix=f"channel{channel.pk}", secrets=secrets)


def _channels(org):
    return [
        {
            "channel": channel,
            "set": [
                (SECRET_LABELS[key], bool(channel.config.get(key)))
                for key in registry.of(channel).secrets
            ],
            "form": _credentials(channel),
        }
        for channel in org.channels.order_by("id")
    ]


def _page(request, form, *, channel_forms=None, slot_form=None):
    org = request.operator.organization
    channels = _channels(org)
    for entry in channels:
        if channel_forms and entry["channel"].pk in channel_forms:
            entry["form"] = channel_forms[entry["channel"].pk]
    return render(
        request,
        "console/settings/page.html",
        {
            "form": form,
            "previews": _previews(org, form),
            "channels": channels,
            "slots": DigestSlot.objects.filter(organization=org).order_by("weekday", "time"),
            "slot_form": slot_form or DigestSlotForm(),
        },
    )


@staff(roles.SETTINGS)
@require_http_methods(["GET", "POST"])
def page(request):
    org = request.operator.organization
    form = OrganizationSettings(request.POST or None, instance=org)
    if request.method == "POST" and form.is_valid():
        if form.has_changed():
            with transaction.atomic():
                form.save()
                audit(
                    org, "settings.changed", org.slug, actor=request.user, fields=form.changed_data
                )
                # A changed controller, DPO or contact is a new privacy notice: published
                # now, in the name of who changed it.
                notices.current(org, actor=request.user)
            messages.success(request, _("Settings saved."))
        return redirect("console:settings")
    return _page(request, form)


@staff(roles.SETTINGS)
@require_POST
def channel_credentials(request, pk):
    org = request.operator.organization
    channel = get_object_or_404(org.channels, pk=pk)
    form = _credentials(channel, request.POST)
    if form.is_valid():
        typed = form.typed()
        if not typed:
            messages.info(request, _("Nothing typed: the credentials stay as they were."))
            return redirect("console:settings")
        before = dict(channel.config)
        channel.config = {**before, **typed}
        try:
            # The channel kind's own model says what a valid configuration is, as for the CLI.
            channel.clean()
        except ValidationError as exc:
            channel.config = before
            form.add_error(None, "; ".join(exc.messages))
        else:
            with transaction.atomic():
                channel.save(update_fields=["config"])
                audit(
                    org,
                    "channel.credentials_changed",
                    channel.name,
                    actor=request.user,
                    keys=sorted(typed),
                )
            messages.success(request, _("Credentials replaced: %s.") % ", ".join(sorted(typed)))
            return redirect("console:settings")
    return _page(request, OrganizationSettings(instance=org), channel_forms={channel.pk: form})


@staff(roles.SETTINGS)
@require_POST
def slot_add(request):
    org = request.operator.organization
    form = DigestSlotForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            slot = scheduling.create_slot(org, data["name"], data["weekday"], data["time"])
            audit(
                org,
                "slot.created",
                slot.name,
                actor=request.user,
                weekday=slot.weekday,
                time=f"{slot.time:%H:%M}",
            )
        messages.success(request, _("Digest slot %s added.") % slot.name)
        return redirect("console:settings")
    return _page(request, OrganizationSettings(instance=org), slot_form=form)


@staff(roles.SETTINGS)
@require_POST
def slot_toggle(request, pk):
    org = request.operator.organization
    slot = get_object_or_404(DigestSlot, pk=pk, organization=org)
    with transaction.atomic():
        scheduling.change_slot(slot, active=not slot.active)
        audit(org, "slot.changed", slot.name, actor=request.user, active=slot.active)
    return redirect("console:settings")
