"""What the console's templates ask about the person looking."""

from django import template

from banditore.core import roles

register = template.Library()


@register.simple_tag(takes_context=True)
def console_can(context, capability: str) -> bool:
    """{% console_can "approve" as may_approve %}: the role's grant, as the views check it."""
    request = context.get("request")
    return request is not None and roles.can(request.user, getattr(roles, capability.upper()))
