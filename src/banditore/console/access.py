"""Who may open a console page: a logged-in member of a comune's staff whose role grants
what the page does. Every console view is wrapped by `staff()`; the view then reads only
`request.operator.organization`'s data, so nothing of another comune can show."""

import functools

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from banditore.core import roles
from banditore.core.models import Operator


def staff(capability: str | None = None):
    """The view needs a logged-in operator; with `capability`, one whose role grants it."""

    def wrap(view):
        @functools.wraps(view)
        def guarded(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            operator = roles.operator_of(request.user)
            if operator is None:
                raise PermissionDenied(_("This account belongs to no comune's staff."))
            # An amministratore hands out roles and settings: the password alone is not
            # enough, a TOTP code must follow (console/otp.py).
            if operator.role == Operator.Role.ADMIN and not request.user.is_verified():
                target = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('console:otp_verify')}?{target}")
            if capability is not None and not roles.can(request.user, capability):
                raise PermissionDenied(_("Your role does not allow this."))
            request.operator = operator
            return view(request, *args, **kwargs)

        return guarded

    return wrap
