"""The comune (Organization) and the audit trail of what operators and the system did."""

import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# Placeholders every reply text may use; the chat adds its own (topics, zone...) per reply.
REPLY_HELP = _(
    "Blank: the built-in text, in the citizen's language. Placeholders: {name}, "
    "{privacy_url}, {contacts}, {topics}, {zone}, {zones}, {words}, {code}, {choices}."
)


def _reply(label):
    return models.TextField(label, blank=True, default="", help_text=REPLY_HELP)


class Organization(models.Model):
    """A comune running the service. Every other row belongs to exactly one."""

    name = models.CharField(_("name"), max_length=200, help_text=_("e.g. Comune di Pordenone"))
    slug = models.SlugField(_("slug"), unique=True)
    privacy_notice_url = models.URLField(_("privacy notice URL"), blank=True)
    # The privacy notice's facts (GDPR art. 13): who is responsible, whom to ask, on what basis.
    controller = models.TextField(
        _("data controller"),
        blank=True,
        help_text=_("The Comune, in the person of the Mayor pro tempore, with address and PEC."),
    )
    dpo_contact = models.CharField(
        _("data protection officer (contact)"), max_length=300, blank=True
    )
    legal_basis = models.CharField(
        _("legal basis"),
        max_length=300,
        default="consenso dell'interessato (art. 6, par. 1, lett. a GDPR)",
    )
    # Every PA publishes one per site (Legge 4/2004, AgID); the public pages link it.
    accessibility_declaration_url = models.URLField(_("accessibility declaration URL"), blank=True)
    # Where the pointer sends citizens: URP toll-free number, online form, e-mail.
    contacts = models.TextField(_("citizen contact channels"), blank=True)
    # The replies (subscribers/replies.py has the built-in texts a blank one stands for).
    welcome_text = _reply(_("welcome reply"))
    already_text = _reply(_("already subscribed reply"))
    goodbye_text = _reply(_("goodbye reply"))
    pointer_text = _reply(_("pointer reply"))
    pending_text = _reply(_("waiting for approval reply"))
    nothing_to_cancel_text = _reply(_("nothing to cancel reply"))
    ambiguous_text = _reply(_("question when the intent is unclear"))
    chosen_text = _reply(_("topics chosen sentence"))
    zone_text = _reply(_("zone chosen sentence"))
    unknown_zone_text = _reply(_("unknown zone note"))
    unknown_topic_text = _reply(_("unknown topic note"))
    unknown_code_text = _reply(_("unknown code note"))
    waiting_text = _reply(_("still waiting for approval sentence"))
    join_text = _reply(_("how to subscribe sentence"))
    leave_text = _reply(_("how to leave sentence"))
    info_text = _reply(_("INFO reply"))
    topics_help_text = _reply(_("how to choose topics sentence"))
    pointer_interval_hours = models.PositiveIntegerField(
        _("pointer at most every (hours)"), default=24
    )
    description = models.TextField(
        _("what the service sends"),
        default="notizie di pubblica utilità, servizi comunali, viabilità, eventi e allerte di "
        "protezione civile",
    )
    # Extra sign-up / opt-out words, one per line, on top of the defaults (keywords.py).
    subscribe_keywords = models.TextField(_("extra sign-up keywords"), blank=True)
    unsubscribe_keywords = models.TextField(_("extra opt-out keywords"), blank=True)
    # Pordenone's model: a proven number still waits for an operator's approval.
    require_approval = models.BooleanField(_("operator approves new subscribers"), default=False)
    signup_expiry_days = models.PositiveIntegerField(
        _("unconfirmed sign-ups expire after (days)"), default=7
    )
    # How long pseudonymised proof of consent outlives an erased subscriber (art. 7(1), 17(3)(e)).
    proof_retention_days = models.PositiveIntegerField(
        _("consent proof kept for (days)"), default=730
    )
    inbound_retention_days = models.PositiveIntegerField(
        _("citizens' messages kept for (days)"), default=30
    )
    # -- The press office's rules for broadcasts.
    time_zone = models.CharField(_("time zone"), max_length=40, default="Europe/Rome")
    # Four eyes: a second person approves every broadcast (never its author).
    require_broadcast_approval = models.BooleanField(
        _("a second person approves each broadcast"), default=False
    )
    # A scheduled broadcast whose time passed while the service was down still starts
    # within this many minutes of it; later, it is marked missed and the operators told.
    schedule_grace_minutes = models.PositiveIntegerField(
        _("late start allowed for (minutes)"), default=120
    )
    # Normal broadcasts go out only inside this daily window (local time); emergencies
    # always; urgent ones as the comune says.
    send_window_start = models.TimeField(_("sending allowed from"), default=datetime.time(8, 0))
    send_window_end = models.TimeField(_("sending allowed until"), default=datetime.time(21, 0))
    urgent_ignores_window = models.BooleanField(
        _("urgent broadcasts ignore the sending window"), default=True
    )
    # Euros a month for paid messages; empty = no budget. Exceeding it needs an override.
    monthly_budget = models.DecimalField(
        _("monthly budget (EUR)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return self.name

    @property
    def keywords(self):
        from banditore.subscribers.keywords import for_organization

        return for_organization(self)

    @property
    def privacy_notice_version(self) -> str:
        """The privacy notice in force, as public/notices.py published it; before the first
        is published, "1", the number it will get. Read from the table each time: a stale
        copy of the comune must never put an old version into a consent event."""
        latest = self.privacy_notices.order_by("-version").values_list("version", flat=True)
        return str(latest.first() or 1)

    def render(self, template: str, **extra: str) -> str:
        """Fill a reply template with this comune's facts, and the reply's own (`extra`:
        topics=..., zone=...).

        Operators type these texts: only the known placeholders are replaced, and any other
        brace stays as typed (str.format would fail every sign-up over one stray "{").
        """
        facts = {
            "{name}": self.name,
            "{privacy_url}": self.privacy_notice_url or "-",
            "{contacts}": self.contacts or "-",
        }
        facts.update({"{" + key + "}": str(value) for key, value in extra.items()})
        parts, i = [], 0
        # One pass: a name that itself reads "{contacts}" is not substituted again.
        while (start := template.find("{", i)) != -1:
            key = next((k for k in facts if template.startswith(k, start)), None)
            if key is None:
                parts.append(template[i : start + 1])
                i = start + 1
            else:
                parts += [template[i:start], facts[key]]
                i = start + len(key)
        parts.append(template[i:])
        return "".join(parts)


class PeriodicJob(models.Model):
    """When a periodic task next runs. One row per job; whichever worker moves `next_run_at`
    forward first (a single UPDATE) enqueues the run, so many workers never double it."""

    name = models.CharField(max_length=100, unique=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class AuditEvent(models.Model):
    """Append-only record of an operator's or the system's action."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, help_text="'system', 'cli', or the username")
    action = models.CharField(max_length=80)
    target = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target}"


def audit(organization, action: str, target: str = "", *, actor=None, label: str = "", **data):
    """Record an action. `label` says who acted when it is more than the user (an API key
    acting for one: "api:<key name>"); without it the username, or "system"."""
    return AuditEvent.objects.create(
        organization=organization,
        actor=actor,
        actor_label=label or (actor.get_username() if actor else "system"),
        action=action,
        target=target,
        data=data,
    )


class Operator(models.Model):
    """A member of a comune's staff and what the console lets them do there. One comune per
    person: whoever works for two has two accounts, so nothing of one shows in the other."""

    class Role(models.TextChoices):
        EDITOR = "redattore", _("editor")
        APPROVER = "approvatore", _("approver")
        CIVIL_PROTECTION = "protezione_civile", _("civil protection")
        ADMIN = "amministratore", _("administrator")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="operator"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="operators"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    # What citizens wrote is personal data: only those who forward it to a desk read it.
    reads_inbound = models.BooleanField(_("reads what citizens write"), default=False)

    class Meta:
        verbose_name = _("operator")
        verbose_name_plural = _("operators")

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_role_display()}, {self.organization})"
