"""What each role of a comune's staff may do. The console asks `can()` before it calls the
broadcast or subscription service; the services themselves keep their own rules (four eyes,
the emergency lane), whoever calls them."""

from banditore.core.models import Operator

R = Operator.Role

# One name a thing the console lets someone do.
DRAFT = "draft"  # compose, edit, test-send and submit broadcasts
APPROVE = "approve"  # approve, schedule and send someone else's broadcast, review
CONTROL = "control"  # pause, resume and cancel a broadcast that is sending
EMERGENCY_ALONE = "emergency_alone"  # send an emergency without a second person
OVER_BUDGET = "over_budget"  # send although the month's budget would be exceeded
SUBSCRIBERS = "subscribers"  # see, import, export and erase subscribers
SETTINGS = "settings"  # channels, texts, rules, budget, users
AUDIT = "audit"  # read the audit log
# Read what citizens wrote (personal data): the amministratore, and whoever forwards it to
# a desk (Operator.reads_inbound), whatever their role.
INBOUND = "inbound"

GRANTS: dict[str, frozenset[str]] = {
    R.EDITOR: frozenset({DRAFT}),
    R.APPROVER: frozenset({DRAFT, APPROVE, CONTROL, SUBSCRIBERS}),
    R.CIVIL_PROTECTION: frozenset({DRAFT, CONTROL, EMERGENCY_ALONE}),
    R.ADMIN: frozenset(
        {DRAFT, APPROVE, CONTROL, OVER_BUDGET, SUBSCRIBERS, SETTINGS, AUDIT, INBOUND}
    ),
}


def operator_of(user) -> Operator | None:
    """The user's place in a comune's staff; None for anyone else (an IT superuser has the
    admin, not the console)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    try:
        return user.operator
    except Operator.DoesNotExist:
        return None


def can(user, what: str) -> bool:
    operator = operator_of(user)
    if operator is None:
        return False
    if what == INBOUND and operator.reads_inbound:
        return True
    return what in GRANTS.get(operator.role, frozenset())
