"""The press office's broadcast lifecycle: the one place where a broadcast changes state.

Every action is a row of TRANSITIONS (from which states, to which state). An action outside
the table is refused with a translated message naming the state; an allowed one records who
did it and when, on the broadcast and in the audit log, whoever acts: an operator, the CLI,
an API key or the scheduler. The CLI, the API and the console all call these functions.

Sending is what the dispatcher obeys: a paused broadcast's queued rows are *held*, out of the
claim index (a million of them must not be scanned at every claim), and queued again on
resume; a cancel skips what is still queued or held. Rows in flight finish as they are: the
dispatcher also re-checks the broadcast's status in the statement that claims each row, so
nothing is claimed after the pause or the cancel committed.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banditore.broadcasts import audience, templating
from banditore.broadcasts.models import Broadcast, Delivery, Priority
from banditore.channels.models import Channel, MessageTemplate
from banditore.core import roles
from banditore.core.models import audit
from banditore.core.phone import InvalidNumber, to_e164
from banditore.dispatch import queries

if TYPE_CHECKING:
    from django.contrib.auth.models import User

B = Broadcast.Status
D = Delivery.Status

# Fits the template's 1,024-character body with the comune's name around it.
TEXT_MAX = 900
# A test send goes to the office's own phones; more than this is a broadcast without approval.
TEST_NUMBERS_MAX = 10


@dataclass(frozen=True)
class Actor:
    """Who acts: an operator, the CLI, an API key, the scheduler."""

    label: str  # username, "cli", "api:<key name>", "system"
    user: "User | None" = None
    may_send_emergency_alone: bool = False
    may_override_budget: bool = False

    @classmethod
    def for_user(cls, user: "User") -> "Actor":
        return cls(
            label=user.get_username(),
            user=user,
            may_send_emergency_alone=user.has_perm("broadcasts.send_emergency_alone")
            or roles.can(user, roles.EMERGENCY_ALONE),
            may_override_budget=user.has_perm("broadcasts.override_budget")
            or roles.can(user, roles.OVER_BUDGET),
        )


SYSTEM = Actor("system")


class Refused(Exception):
    """A transition or change outside the rules; `message` is for the operator."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Transition:
    sources: frozenset
    target: str
    refusal: str  # the code of the refusal from any other state
    # What the operator tried, as "you can't … it" reads.
    verb: str


def _row(sources, target, refusal, verb):
    return Transition(frozenset(sources), target, refusal, verb)


LIVE = (B.SENDING, B.PAUSED)
NOT_STARTED = (B.DRAFT, B.SUBMITTED, B.APPROVED, B.SCHEDULED)

TRANSITIONS = {
    "update": _row([B.DRAFT], B.DRAFT, "not_draft", gettext_lazy("edit")),
    # To APPROVED at once when the comune doesn't ask for a second person.
    "submit": _row([B.DRAFT], B.SUBMITTED, "not_draft", gettext_lazy("submit for approval")),
    "approve": _row([B.SUBMITTED], B.APPROVED, "not_submitted", gettext_lazy("approve")),
    # Back to a draft to change it: whatever approval it had must be given again.
    "withdraw": _row(
        [B.SUBMITTED, B.APPROVED, B.SCHEDULED], B.DRAFT, "not_waiting", gettext_lazy("withdraw")
    ),
    # Scheduling again moves the time.
    "schedule": _row(
        [B.APPROVED, B.SCHEDULED], B.SCHEDULED, "not_approved", gettext_lazy("schedule")
    ),
    "send": _row([B.APPROVED, B.SCHEDULED], B.SENDING, "not_approved", gettext_lazy("send")),
    # An emergency on one person's decision (the emergency permission), reviewed afterwards.
    "send_alone": _row([B.DRAFT], B.SENDING, "not_draft", gettext_lazy("send")),
    "pause": _row([B.SENDING], B.PAUSED, "not_sending", gettext_lazy("pause")),
    "resume": _row([B.PAUSED], B.SENDING, "not_paused", gettext_lazy("resume")),
    "cancel": _row([*NOT_STARTED, *LIVE], B.CANCELLED, "finished", gettext_lazy("cancel")),
    # The scheduler's: its time passed beyond the comune's grace.
    "miss": _row([B.SCHEDULED], B.MISSED, "not_scheduled", gettext_lazy("mark as missed")),
    "retry_failed": _row([B.SENDING, B.SENT], B.SENDING, "not_started", gettext_lazy("retry")),
}  # fmt: skip


def _refuse_state(broadcast: Broadcast, action: str):
    row = TRANSITIONS[action]
    if broadcast.started_at is not None and action == "update":
        raise Refused(
            "immutable",
            _(
                "Broadcast %(id)d has started: "
                "its text, title, topics, zones and priority can't change."
            )
            % {"id": broadcast.pk},
        )
    raise Refused(
        row.refusal,
        _("Broadcast %(id)d is %(state)s: you can't %(action)s it.")
        % {"id": broadcast.pk, "state": broadcast.get_status_display(), "action": row.verb},
    )


def _check(broadcast: Broadcast, action: str) -> str:
    row = TRANSITIONS[action]
    if broadcast.status not in row.sources:
        _refuse_state(broadcast, action)
    return row.target


def _locked(broadcast: Broadcast) -> Broadcast:
    return Broadcast.objects.select_for_update().get(pk=broadcast.pk)


def _record(broadcast: Broadcast, by: Actor, action: str, **data) -> None:
    audit(
        broadcast.organization,
        f"broadcast.{action}",
        f"broadcast:{broadcast.pk}",
        actor=by.user,
        label=by.label,
        **data,
    )


def _stamp(broadcast: Broadcast, who: str, by: Actor, now: datetime | None) -> list[str]:
    """Set <who>_by, <who>_by_label (and <who>_at); the fields to save."""
    setattr(broadcast, f"{who}_by", by.user)
    setattr(broadcast, f"{who}_by_label", by.label)
    fields = [f"{who}_by", f"{who}_by_label"]
    if now is not None:
        setattr(broadcast, f"{who}_at", now)
        fields.append(f"{who}_at")
    return fields


# -- Content: checked when the operator saves, not when the 5,000th send fails.


def _clean_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise Refused("empty_text", _("The text is empty."))
    if len(text) > TEXT_MAX:
        raise Refused(
            "text_too_long",
            _("The text is longer than %(max)d characters (%(len)d).")
            % {"max": TEXT_MAX, "len": len(text)},
        )
    return text


def _clean_priority(priority) -> int:
    try:
        value = Priority(int(priority))
    except ValueError:
        value = None
    if value is None or value == Priority.CONVERSATION:
        raise Refused("bad_priority", _("Unknown priority: %s.") % priority)
    return value


def _resolve_choices(choices, wanted: Iterable, code: str, message: str) -> list:
    """Topics or zones as objects, slugs or ids, all of this comune's (`choices`)."""
    found, unknown = [], []
    for item in list(wanted or ()):
        if hasattr(item, "pk"):
            match = choices.filter(pk=item.pk).first()
        elif isinstance(item, int):
            match = choices.filter(pk=item).first()
        else:
            match = choices.filter(slug=str(item)).first()
        if match is None:
            unknown.append(str(getattr(item, "slug", item)))
        elif match not in found:
            found.append(match)
    if unknown:
        known = ", ".join(choices.order_by("position").values_list("slug", flat=True))
        raise Refused(code, message % {"unknown": ", ".join(sorted(unknown)), "known": known})
    return found


def _resolve_topics(org, topics: Iterable) -> list:
    return _resolve_choices(
        org.topics, topics, "unknown_topic", _("Unknown topic: %(unknown)s. Topics: %(known)s")
    )


def _resolve_zones(org, zones: Iterable) -> list:
    return _resolve_choices(
        org.zones, zones, "unknown_zone", _("Unknown zone: %(unknown)s. Zones: %(known)s")
    )


def _resolve_template(channel, template) -> MessageTemplate | None:
    """A template as an object, an id or "name" / "name:language", of this channel; None
    or "" = the channel's default."""
    if template in (None, ""):
        return None
    templates = MessageTemplate.objects.filter(channel=channel)
    if hasattr(template, "pk"):
        match = templates.filter(pk=template.pk).first()
    elif isinstance(template, int) or str(template).isdigit():
        match = templates.filter(pk=int(template)).first()
    else:
        name, _sep, language = str(template).partition(":")
        candidates = templates.filter(name=name)
        if language:
            candidates = candidates.filter(language=language)
        match = candidates.order_by("language").first()
    if match is None:
        known = ", ".join(
            f"{t.name}:{t.language}" for t in templates.filter(status="APPROVED").order_by("name")
        )
        raise Refused(
            "unknown_template",
            _("The channel has no template %(template)s. Approved templates: %(known)s")
            % {"template": template, "known": known or "-"},
        )
    return match


def _clean_params(params) -> dict:
    if params in (None, ""):
        return {}
    if isinstance(params, list | tuple):
        params = {str(i): v for i, v in enumerate(params, start=1)}
    if not isinstance(params, dict) or not all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in params.values()
    ):
        raise Refused(
            "template_params", _("Template parameters are a list or a map of texts.")
        )  # fmt: skip
    return {str(k).strip("{} "): str(v).strip() for k, v in params.items()}


def _check_template(broadcast: Broadcast, *, ready: bool = False) -> None:
    try:
        if ready:
            templating.check_ready(broadcast)
        else:
            templating.check(broadcast)
    except templating.TemplateProblem as exc:
        raise Refused(exc.code, str(exc)) from None


# -- The actions.


@transaction.atomic
def create(
    org,
    by: Actor,
    *,
    text: str,
    title: str = "",
    topics=(),
    zones=(),
    priority=Priority.NORMAL,
    channel=None,
    template=None,
    template_params=None,
) -> Broadcast:
    channels = Channel.objects.filter(organization=org)
    if channel is not None:
        channel_id = channel.pk if hasattr(channel, "pk") else channel
        chosen = channels.filter(pk=channel_id).first()
    else:
        chosen = channels.order_by("id").first()
    if chosen is None:
        raise Refused("no_channel", _("The comune has no channel with that id."))
    broadcast = Broadcast.objects.create(
        organization=org,
        channel=chosen,
        title=(title or "").strip(),
        text=_clean_text(text),
        priority=_clean_priority(priority),
        template=_resolve_template(chosen, template),
        template_params=_clean_params(template_params),
        created_by=by.user,
        created_by_label=by.label,
    )
    broadcast.topics.set(_resolve_topics(org, topics))
    broadcast.zones.set(_resolve_zones(org, zones))
    _check_template(broadcast)
    _record(broadcast, by, "created")
    return broadcast


@transaction.atomic
def update(broadcast: Broadcast, by: Actor, **changes) -> Broadcast:
    """Text, title, topics, zones, priority and template, while the broadcast is a draft."""
    unknown = set(changes) - {
        "text", "title", "topics", "zones", "priority", "template", "template_params"
    }  # fmt: skip
    if unknown:
        raise Refused(
            "bad_field", _("These can't be changed: %s.") % ", ".join(sorted(unknown))
        )  # fmt: skip
    broadcast = _locked(broadcast)
    _check(broadcast, "update")
    fields = []
    if "text" in changes:
        broadcast.text = _clean_text(changes["text"])
        fields.append("text")
    if "title" in changes:
        broadcast.title = (changes["title"] or "").strip()
        fields.append("title")
    if "priority" in changes:
        broadcast.priority = _clean_priority(changes["priority"])
        fields.append("priority")
    if "template" in changes:
        broadcast.template = _resolve_template(broadcast.channel, changes["template"])
        fields.append("template")
    if "template_params" in changes:
        broadcast.template_params = _clean_params(changes["template_params"])
        fields.append("template_params")
    if {"text", "template", "template_params"} & set(changes):
        _check_template(broadcast)
    org = broadcast.organization
    # Both resolved before anything is saved: an unknown zone leaves the topics as they were.
    topics = _resolve_topics(org, changes["topics"]) if "topics" in changes else None
    zones = _resolve_zones(org, changes["zones"]) if "zones" in changes else None
    if fields:
        broadcast.save(update_fields=fields)
    if topics is not None:
        broadcast.topics.set(topics)
    if zones is not None:
        broadcast.zones.set(zones)
    _record(broadcast, by, "updated", fields=sorted(changes))
    return broadcast


@transaction.atomic
def submit(broadcast: Broadcast, by: Actor) -> Broadcast:
    broadcast = _locked(broadcast)
    target = _check(broadcast, "submit")
    _check_template(broadcast, ready=True)
    now = timezone.now()
    fields = ["status", *_stamp(broadcast, "submitted", by, now)]
    four_eyes = broadcast.organization.require_broadcast_approval
    if not four_eyes:
        # Nobody else has to look at it: approved by the same decision, and recorded so.
        target = B.APPROVED
        fields += _stamp(broadcast, "approved", by, now)
    broadcast.status = target
    broadcast.save(update_fields=fields)
    _record(broadcast, by, "submitted")
    if not four_eyes:
        _record(broadcast, by, "approved", four_eyes=False)
    return broadcast


def _is_author(broadcast: Broadcast, by: Actor) -> bool:
    if by.user is not None:
        return by.user.pk in (broadcast.created_by_id, broadcast.submitted_by_id)
    return by.label in (broadcast.created_by_label, broadcast.submitted_by_label)


@transaction.atomic
def approve(broadcast: Broadcast, by: Actor) -> Broadcast:
    broadcast = _locked(broadcast)
    target = _check(broadcast, "approve")
    if _is_author(broadcast, by):
        raise Refused(
            "own_broadcast",
            _("Broadcast %(id)d is yours: a second person must approve it.") % {"id": broadcast.pk},
        )
    broadcast.status = target
    broadcast.save(update_fields=["status", *_stamp(broadcast, "approved", by, timezone.now())])
    _record(broadcast, by, "approved", four_eyes=True)
    return broadcast


@transaction.atomic
def withdraw(broadcast: Broadcast, by: Actor) -> Broadcast:
    broadcast = _locked(broadcast)
    broadcast.status = _check(broadcast, "withdraw")
    broadcast.approved_by, broadcast.approved_by_label, broadcast.approved_at = None, "", None
    broadcast.scheduled_at = None
    fields = ["status", "approved_by", "approved_by_label", "approved_at", "scheduled_at"]
    broadcast.save(update_fields=fields)
    _record(broadcast, by, "withdrawn")
    return broadcast


@transaction.atomic
def schedule(broadcast: Broadcast, by: Actor, *, at: datetime) -> Broadcast:
    if timezone.is_naive(at):
        raise Refused("naive_time", _("The time must say its time zone."))
    if at <= timezone.now():
        raise Refused("in_the_past", _("The time must be in the future."))
    broadcast = _locked(broadcast)
    broadcast.status = _check(broadcast, "schedule")
    broadcast.scheduled_at = at
    broadcast.save(update_fields=["status", "scheduled_at"])
    _record(broadcast, by, "scheduled", at=at.isoformat())
    return broadcast


def _budget(broadcast: Broadcast, by: Actor, override_budget: bool) -> None:
    """Estimate the cost; refuse a send beyond the month's budget unless overridden."""
    from banditore.broadcasts import cost

    estimate = cost.estimate(broadcast)
    broadcast.estimated_cost = estimate.total
    if not cost.would_exceed_budget(broadcast.organization, estimate):
        return
    if broadcast.priority == Priority.EMERGENCY:
        # A civil-protection alert never waits for an administrator over money: it goes,
        # and the overrun is on record for the review that every lone emergency gets.
        broadcast.budget_override_by = f"{by.label} (emergency)"
        return
    if not (override_budget and by.may_override_budget):
        raise Refused(
            "over_budget",
            _(
                "Broadcast %(id)d would cost about € %(cost)s and exceed this month's budget: "
                "it needs an administrator's override."
            )
            % {"id": broadcast.pk, "cost": estimate.total},
        )
    broadcast.budget_override_by = by.label


def send(broadcast: Broadcast, by: Actor, *, override_budget: bool = False) -> Broadcast:
    """Start sending now: the attachment goes to the provider (once), then the audience
    becomes queued deliveries."""
    from banditore.broadcasts import attachments

    # Before the transaction: an upload takes seconds, and SQLite's write lock (or the
    # broadcast's row lock) must not be held that long. Refused if the provider refuses it.
    attachments.ensure_uploaded(broadcast)
    return _start(broadcast, by, override_budget)


@transaction.atomic
def _start(broadcast: Broadcast, by: Actor, override_budget: bool) -> Broadcast:
    broadcast = _locked(broadcast)
    if broadcast.status == B.DRAFT and not broadcast.organization.require_broadcast_approval:
        # Without four eyes, sending a draft is submitting it (approved at once) and sending.
        broadcast = submit(broadcast, by)
    alone = False
    if broadcast.status not in TRANSITIONS["send"].sources:
        emergency = broadcast.priority == Priority.EMERGENCY
        if broadcast.status in TRANSITIONS["send_alone"].sources and emergency:
            if not by.may_send_emergency_alone:
                raise Refused(
                    "needs_approval",
                    _(
                        "Broadcast %(id)d is an emergency: only someone with the emergency "
                        "permission may send it without a second person's approval."
                    )
                    % {"id": broadcast.pk},
                )
            alone = True
        elif broadcast.status in (B.DRAFT, B.SUBMITTED):
            raise Refused(
                "needs_approval",
                _("Broadcast %(id)d needs a second person's approval before it can be sent.")
                % {"id": broadcast.pk},
            )
        else:
            _refuse_state(broadcast, "send")
    _check_template(broadcast, ready=True)
    _budget(broadcast, by, override_budget)
    broadcast.review_required = alone
    fields = ["review_required", "estimated_cost", "budget_override_by"]
    broadcast.save(update_fields=fields + _stamp(broadcast, "started", by, None))
    if broadcast.budget_override_by:
        _record(broadcast, by, "budget_overridden", estimated_cost=str(broadcast.estimated_cost))
    if alone:
        _record(broadcast, by, "sent_alone")
    audience.start(broadcast, actor=by.user, label=by.label)
    return Broadcast.objects.get(pk=broadcast.pk)


@transaction.atomic
def review(broadcast: Broadcast, by: Actor) -> Broadcast:
    """A second person has looked at an emergency sent on one person's decision."""
    broadcast = _locked(broadcast)
    if not broadcast.review_required or broadcast.reviewed_at is not None:
        raise Refused(
            "no_review", _("Broadcast %(id)d is not waiting for a review.") % {"id": broadcast.pk}
        )
    same = (by.user is not None and by.user.pk == broadcast.started_by_id) or (
        by.user is None and by.label == broadcast.started_by_label
    )
    if same:
        raise Refused(
            "own_broadcast",
            _("Broadcast %(id)d is yours: a second person must review it.") % {"id": broadcast.pk},
        )
    broadcast.save(update_fields=_stamp(broadcast, "reviewed", by, timezone.now()))
    _record(broadcast, by, "reviewed")
    return broadcast


@transaction.atomic
def pause(broadcast: Broadcast, by: Actor, *, reason: str = "") -> Broadcast:
    """Stop sending; `reason` says why when it is not an operator's choice (the system's)."""
    broadcast = _locked(broadcast)
    broadcast.status = _check(broadcast, "pause")
    broadcast.paused_reason = reason
    fields = ["status", "paused_reason", *_stamp(broadcast, "paused", by, timezone.now())]
    broadcast.save(update_fields=fields)
    held = broadcast.recipients.filter(status=D.QUEUED).update(status=D.HELD)
    _record(broadcast, by, "paused", held=held, **({"reason": reason} if reason else {}))
    return broadcast


def resume(broadcast: Broadcast, by: Actor) -> Broadcast:
    from banditore.broadcasts import attachments

    # A broadcast paused for weeks may outlive WhatsApp's copy of its attachment (30 days):
    # uploaded again first if so, outside the transaction as in send().
    attachments.ensure_uploaded(broadcast)
    return _resume(broadcast, by)


@transaction.atomic
def _resume(broadcast: Broadcast, by: Actor) -> Broadcast:
    broadcast = _locked(broadcast)
    broadcast.status = _check(broadcast, "resume")
    # A template paused or re-categorised meanwhile must be fit to send again.
    _check_template(broadcast, ready=True)
    broadcast.paused_reason = ""
    broadcast.save(update_fields=["status", "paused_reason"])
    held = broadcast.recipients.filter(status=D.HELD).update(status=D.QUEUED)
    # Everything may have finished while it was paused.
    queries.finish_broadcasts({broadcast.pk}, timezone.now())
    _record(broadcast, by, "resumed", queued=held)
    broadcast.refresh_from_db()
    return broadcast


@transaction.atomic
def cancel(broadcast: Broadcast, by: Actor) -> Broadcast:
    broadcast = _locked(broadcast)
    broadcast.status = _check(broadcast, "cancel")
    now = timezone.now()
    broadcast.finished_at = now
    fields = ["status", "finished_at", *_stamp(broadcast, "cancelled", by, now)]
    broadcast.save(update_fields=fields)
    dropped = broadcast.recipients.filter(status__in=[D.QUEUED, D.HELD]).update(
        status=D.SKIPPED, skip_reason=Delivery.SkipReason.CANCELLED
    )
    _record(broadcast, by, "cancelled", dropped=dropped)
    return broadcast


@transaction.atomic
def miss(broadcast: Broadcast, by: Actor = SYSTEM) -> Broadcast:
    broadcast = _locked(broadcast)
    broadcast.status = _check(broadcast, "miss")
    broadcast.finished_at = timezone.now()
    broadcast.save(update_fields=["status", "finished_at"])
    _record(broadcast, by, "missed", scheduled_at=str(broadcast.scheduled_at))
    return broadcast


def record_billable(broadcast: Broadcast) -> Broadcast:
    """Write on a broadcast how many of its messages were paid for, as Meta bills them
    (outside the citizen's free window): for whoever finishes a broadcast."""
    from banditore.broadcasts import cost

    billable, _amount = cost.actual(broadcast)
    Broadcast.objects.filter(pk=broadcast.pk).update(billable_count=billable)
    broadcast.billable_count = billable
    return broadcast


# -- Test send, outcomes, retry.


def _test_numbers(numbers: Iterable[str]) -> list[str]:
    wanted = [n for n in (numbers or []) if (n or "").strip()]
    if not wanted:
        raise Refused("no_numbers", _("Give at least one number for the test."))
    clean = []
    for raw in wanted:
        try:
            number = to_e164(raw)
        except InvalidNumber:
            raise Refused("invalid_number", _("%s is not a valid phone number.") % raw) from None
        if number not in clean:
            clean.append(number)
    if len(clean) > TEST_NUMBERS_MAX:
        raise Refused(
            "too_many_numbers",
            _("A test goes to at most %d numbers.") % TEST_NUMBERS_MAX,
        )
    return clean


def test_send(broadcast: Broadcast, by: Actor, numbers: list[str]) -> int:
    """The message exactly as a subscriber outside the window will get it (its template,
    filled in, with its attachment) to the office's own phones, in any state, without
    approval."""
    from banditore.broadcasts import attachments

    clean = _test_numbers(numbers)
    broadcast = Broadcast.objects.get(pk=broadcast.pk)
    _check_template(broadcast)
    attachments.ensure_uploaded(broadcast)  # outside the transaction, as in send()
    return _queue_tests(broadcast, by, clean)


@transaction.atomic
def _queue_tests(broadcast: Broadcast, by: Actor, clean: list[str]) -> int:
    # Notices that show the broadcast, not its deliveries: they go out while it is a draft
    # and never count in its outcomes (Broadcast.recipients leaves them out).
    rows = Delivery.objects.bulk_create(
        Delivery(
            organization_id=broadcast.organization_id,
            channel_id=broadcast.channel_id,
            broadcast_id=broadcast.pk,
            kind=Delivery.Kind.NOTICE,
            recipient=number,
            text=broadcast.text,
            priority=Priority.CONVERSATION,
        )
        for number in clean
    )
    _record(broadcast, by, "test_sent", numbers=clean, deliveries=[r.pk for r in rows if r.pk])
    return len(rows)


OUTCOME_FIELDS = (
    "phone", "status", "error_code", "error_title", "skip_reason", "sent_at", "delivered_at",
    "read_at",
)  # fmt: skip


def outcomes(broadcast: Broadcast) -> Iterator[dict]:
    """One dict per recipient, in the order they were queued; streamed, not loaded."""
    rows = broadcast.recipients.order_by("id").values_list("recipient", *OUTCOME_FIELDS[1:])
    for row in rows.iterator(chunk_size=2000):
        yield dict(zip(OUTCOME_FIELDS, row, strict=True))


@transaction.atomic
def retry_failed(broadcast: Broadcast, by: Actor) -> int:
    """The failed deliveries queued again as a group; their attempts are kept, so a number
    that keeps failing still gives up within the retry budget."""
    broadcast = _locked(broadcast)
    target = _check(broadcast, "retry_failed")
    queued = broadcast.recipients.filter(status=D.FAILED).update(
        status=D.QUEUED,
        next_attempt_at=None,
        failed_at=None,
        error_code=None,
        error_title="",
        claimed_by="",
    )
    if queued and broadcast.status != target:
        broadcast.status = target
        broadcast.finished_at = None
        broadcast.save(update_fields=["status", "finished_at"])
    _record(broadcast, by, "retried", queued=queued)
    return queued
