"""The built-in reply texts, and a comune's own in their place.

Each reply is an Organization field: blank means the built-in text below, in the language
the chat runs under, so the field's default never changes when a wording does. The texts
are rendered by Organization.render(): only the known placeholders are filled, a stray
brace stays as typed.
"""

from django.utils.translation import gettext, gettext_lazy

# The words citizens are told to write: the same in every language, as on the posters.
JOIN_WORD = "ISCRIVIMI"
LEAVE_WORD = "CANCELLAMI"

BUILT_IN = {
    "welcome_text": gettext_lazy(
        "Welcome to the WhatsApp service of the {name}! Privacy notice: {privacy_url}"
    ),
    "already_text": gettext_lazy(
        "You are already subscribed to the WhatsApp service of the {name}."
    ),
    "goodbye_text": gettext_lazy(
        "You will no longer receive messages from the {name}. Your contact details have been "
        "deactivated. To subscribe again write ISCRIVIMI."
    ),
    "pointer_text": gettext_lazy(
        "This number of the {name} only sends news and does not read messages. "
        "For reports and requests: {contacts}"
    ),
    "pending_text": gettext_lazy(
        "Request received: the {name} will confirm your subscription soon."
    ),
    "nothing_to_cancel_text": gettext_lazy(
        "This number is not subscribed: there is nothing to cancel."
    ),
    "ambiguous_text": gettext_lazy("What would you like to do? Write {choices}."),
    "chosen_text": gettext_lazy("You will receive: {topics}."),
    "zone_text": gettext_lazy("Zone: {zone}."),
    "unknown_zone_text": gettext_lazy(
        "{words} is not a zone: the zones are {zones}. I subscribed you without a zone."
    ),
    "unknown_topic_text": gettext_lazy("{words} is not a topic: the topics are {topics}."),
    "unknown_code_text": gettext_lazy(
        "The code {code} does not match a sign-up from the web page: it was ignored."
    ),
    "waiting_text": gettext_lazy("Your sign-up is waiting for the approval of the {name}."),
    "join_text": gettext_lazy("To subscribe write ISCRIVIMI."),
    "leave_text": gettext_lazy("To leave write CANCELLAMI."),
    "info_text": gettext_lazy(
        "{name} on WhatsApp: {description}. This number only sends news and does not read "
        "messages.\n\nTopics:\n{topics}\n\nCommands: ISCRIVIMI to subscribe, CANCELLAMI "
        "to leave, TEMI to choose topics, I MIEI DATI for your data.\n"
        "Privacy notice: {privacy_url}"
    ),
    "topics_help_text": gettext_lazy(
        "To choose write e.g. TEMI 1 3 (only those), TEMI TUTTI (all), or +VIABILITA -EVENTI."
    ),
}

FIELDS = tuple(BUILT_IN)


def built_in(field: str) -> str:
    """The built-in text in the active language (Italian from the catalogue)."""
    return gettext(str(BUILT_IN[field]))


def template(org, field: str) -> str:
    """The comune's text for this reply, or the built-in one when the field is blank."""
    own = getattr(org, field, "") or ""
    return own if own.strip() else built_in(field)


def text(org, field: str, **facts: str) -> str:
    return org.render(template(org, field), **facts)


def mentions_leaving(text: str) -> bool:
    return LEAVE_WORD.lower() in (text or "").lower()


def join(*parts: str) -> str:
    return "\n".join(p for p in parts if p)
