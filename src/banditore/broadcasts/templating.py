"""Which provider template a broadcast goes out as, with which parameters, checked when the
operator saves, not when the 5,000th send fails.

A broadcast names one of its channel's synced templates, or none: then the channel's default
template (its settings name it), whose placeholders take the comune's name and the text.
A template paused, rejected or re-categorised by the provider pauses the broadcasts that are
sending with it, and the operators are told (audit log, the broadcast's paused_reason).
"""

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from banditore.broadcasts.models import Broadcast
from banditore.channels.models import MessageTemplate
from banditore.core.models import audit

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
# Meta's rules for a template's text parameters (reference §2.3): one line, no runs of more
# than four spaces; a hydrated body within 1,024 characters, a header within 60.
BAD_PARAM = re.compile(r"[\r\n\t]| {5,}")
BODY_MAX = 1024
HEADER_TEXT_MAX = 60
# The default template's placeholders: the comune's name, then the text.
MEDIA_FORMATS = {"IMAGE": ("image/jpeg", "image/png"), "DOCUMENT": ("application/pdf",)}


class TemplateProblem(Exception):
    """What is wrong with a broadcast's template or parameters, in the operator's words."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def placeholders(text: str | None) -> list[str]:
    """Distinct variable names in order of first appearance."""
    seen: dict[str, None] = {}
    for match in PLACEHOLDER.finditer(text or ""):
        seen.setdefault(match.group(1), None)
    return list(seen)


def substitute(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text or "")


@dataclass(frozen=True)
class Shape:
    """What a template asks for: header kind and text, body, footer."""

    header_format: str | None  # TEXT, IMAGE, DOCUMENT, VIDEO, LOCATION or None
    header_text: str
    body: str
    footer: str

    @property
    def header_variables(self) -> list[str]:
        return placeholders(self.header_text) if self.header_format == "TEXT" else []

    @property
    def body_variables(self) -> list[str]:
        return placeholders(self.body)


def shape_of(template: MessageTemplate) -> Shape:
    parts = {}
    for component in template.components or []:
        if isinstance(component, dict):
            parts.setdefault(str(component.get("type", "")).upper(), component)
    header = parts.get("HEADER", {})
    fmt = str(header.get("format", "")).upper() or None
    return Shape(
        header_format=fmt,
        header_text=str(header.get("text") or "") if fmt == "TEXT" else "",
        body=str(parts.get("BODY", {}).get("text") or ""),
        footer=str(parts.get("FOOTER", {}).get("text") or ""),
    )


def default_template(channel) -> MessageTemplate | None:
    """The channel's default template, if it has been synced."""
    config = channel.config or {}
    name = config.get("template_name") or "banditore_notizia"
    language = config.get("template_language") or "it"
    return MessageTemplate.objects.filter(channel=channel, name=name, language=language).first()


def template_of(broadcast: Broadcast) -> MessageTemplate | None:
    """The template the broadcast goes out as; None = the default, not synced yet (sent as
    the channel's settings name it, with the default parameters)."""
    if broadcast.template_id:
        return broadcast.template
    return default_template(broadcast.channel)


def flatten(text: str) -> str:
    """The text as a template parameter: one line, its breaks shown as " · "."""
    flat = re.sub(r"\s*[\r\n\t]+\s*", " · ", text.strip())
    return re.sub(r" {4,}", "   ", flat)


def values_for(broadcast: Broadcast, shape: Shape | None) -> dict[str, str]:
    """Each placeholder's value: the operator's, or the default (comune's name, text)."""
    given = {str(k): str(v) for k, v in (broadcast.template_params or {}).items()}
    if given:
        return given
    names = (shape.header_variables + shape.body_variables) if shape else ["1", "2"]
    defaults = [broadcast.organization.name, flatten(broadcast.text)]
    if len(names) == 1:
        return {names[0]: defaults[1]}
    if len(names) == 2:
        return dict(zip(names, defaults, strict=True))
    return {}


def check(broadcast: Broadcast) -> None:
    """Raise TemplateProblem if the broadcast's template can't carry it as it is."""
    template = template_of(broadcast)
    if template is None:
        if broadcast.template_params:
            raise TemplateProblem(
                "template_not_synced",
                _("The channel's templates have not been synced yet: parameters can't be set."),
            )
        return
    if template.channel_id != broadcast.channel_id:
        raise TemplateProblem(
            "unknown_template", _("Template %s belongs to another channel.") % template
        )
    shape = shape_of(template)
    names = shape.header_variables + shape.body_variables
    values = values_for(broadcast, shape)
    missing = [n for n in names if not values.get(n, "").strip()]
    if missing:
        raise TemplateProblem(
            "template_params",
            _("Template %(template)s needs a value for %(names)s.")
            % {"template": template, "names": ", ".join(f"{{{{{n}}}}}" for n in missing)},
        )
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise TemplateProblem(
            "template_params",
            _("Template %(template)s has no placeholder %(names)s.")
            % {"template": template, "names": ", ".join(f"{{{{{n}}}}}" for n in unknown)},
        )
    for name in names:
        if BAD_PARAM.search(values[name]):
            raise TemplateProblem(
                "template_params",
                _(
                    "The value of {{%(name)s}} holds a line break, a tab or more than four "
                    "spaces in a row: WhatsApp refuses them in a template's parameters."
                )
                % {"name": name},
            )
    for name in shape.header_variables:
        if len(values[name]) > HEADER_TEXT_MAX:
            raise TemplateProblem(
                "template_params",
                _("The header's {{%(name)s}} is longer than %(max)d characters.")
                % {"name": name, "max": HEADER_TEXT_MAX},
            )
    body = substitute(shape.body, values)
    if len(body) > BODY_MAX:
        raise TemplateProblem(
            "template_too_long",
            _(
                "With its parameters the template's text is %(len)d characters long: "
                "WhatsApp accepts at most %(max)d. Shorten the text."
            )
            % {"len": len(body), "max": BODY_MAX},
        )
    _check_media(broadcast, template, shape)


def _check_media(broadcast: Broadcast, template: MessageTemplate, shape: Shape) -> None:
    media = getattr(broadcast, "media", None) if broadcast.pk else None
    wanted = MEDIA_FORMATS.get(shape.header_format or "")
    if shape.header_format in ("VIDEO", "LOCATION"):
        raise TemplateProblem(
            "template_header",
            _("Template %s has a video or location header, which Banditore can't fill.") % template,
        )
    if wanted and media is None:
        raise TemplateProblem(
            "template_header",
            _("Template %(template)s shows an attachment (%(kind)s): attach one.")
            % {"template": template, "kind": _kind_name(shape.header_format)},
        )
    if media is not None and not wanted:
        raise TemplateProblem(
            "template_header",
            _(
                "Template %s has no image or document header, so it can't carry the "
                "attachment: choose a template with one, or remove the attachment."
            )
            % template,
        )
    if media is not None and media.mime_type not in wanted:
        raise TemplateProblem(
            "template_header",
            _("Template %(template)s shows %(kind)s, but the attachment is a %(type)s.")
            % {
                "template": template,
                "kind": _kind_name(shape.header_format),
                "type": media.mime_type,
            },
        )


def _kind_name(fmt: str | None) -> str:
    return _("an image") if fmt == "IMAGE" else _("a PDF document")


def check_ready(broadcast: Broadcast) -> None:
    """Before it is submitted or starts: everything check() asks, and an approved template."""
    check(broadcast)
    template = template_of(broadcast)
    if template is not None and not template.approved:
        raise TemplateProblem(
            "template_not_approved",
            _("Template %(template)s is %(status)s at WhatsApp: it can't be sent now.")
            % {"template": template, "status": template.status},
        )


def preview(broadcast: Broadcast) -> dict:
    """What a citizen's phone will show: outside the window (the template, filled in) and
    inside it (the free text)."""
    template = template_of(broadcast)
    shape = shape_of(template) if template else None
    values = values_for(broadcast, shape)
    if shape is None:
        # The shipped default template's body (sandbox and demo), in its own language.
        comune, text = broadcast.organization.name, values.get("2", flatten(broadcast.text))
        body = f"Notizie dal {comune}:\n\n{text}"
        header = footer = ""
    else:
        body = substitute(shape.body, values)
        header = substitute(shape.header_text, values)
        footer = shape.footer
    return {
        "template": str(template) if template else None,
        "header": header,
        "body": body,
        "footer": footer,
        "free_text": broadcast.text,
    }


# -- When the provider changes a template.

STOPPED = frozenset({"PAUSED", "REJECTED", "DISABLED", "DELETED", "PENDING_DELETION", "LOCKED"})


def template_changed(template: MessageTemplate, old_status: str, old_category: str) -> None:
    """Pause what is sending with it, if it can no longer go as it was; tell the operators."""
    from banditore.broadcasts import lifecycle

    recategorised = bool(old_category) and template.category != old_category
    if template.approved and not recategorised:
        return
    if recategorised:
        reason = _(
            "WhatsApp moved template %(template)s from %(old)s to %(new)s, which changes "
            "its price: check the cost, then resume."
        ) % {"template": template, "old": old_category, "new": template.category}
    else:
        reason = _("WhatsApp set template %(template)s to %(status)s.") % {
            "template": template,
            "status": template.status,
        }
    for broadcast in _using(template):
        if broadcast.status == Broadcast.Status.SENDING:
            lifecycle.pause(broadcast, lifecycle.SYSTEM, reason=reason)
        else:
            audit(
                broadcast.organization,
                "broadcast.template_changed",
                str(broadcast.pk),
                reason=reason,
            )


def _using(template: MessageTemplate):
    live = [
        Broadcast.Status.SUBMITTED,
        Broadcast.Status.APPROVED,
        Broadcast.Status.SCHEDULED,
        Broadcast.Status.SENDING,
    ]
    broadcasts = Broadcast.objects.filter(channel_id=template.channel_id, status__in=live)
    default = default_template(template.channel)
    if default is not None and default.pk == template.pk:
        return broadcasts.filter(template__isnull=True) | broadcasts.filter(template=template)
    return broadcasts.filter(template=template)
