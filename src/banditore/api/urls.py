import functools

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from banditore.api.errors import HTTP_ERRORS, error_response, not_found
from banditore.api.root import api


def _json_405(view):
    """ninja answers a method it doesn't route with Django's empty HTML 405."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and "json" not in response.get("Content-Type", ""):
            allowed = response.get("Allow", "")
            response = error_response(405, *HTTP_ERRORS[405])
            response["Allow"] = allowed
        return response

    return wrapper


ninja_patterns, ninja_app, ninja_namespace = api.urls
for pattern in ninja_patterns:
    pattern.callback = _json_405(pattern.callback)

urlpatterns = [
    path("", (ninja_patterns, ninja_app, ninja_namespace)),
    # Anything else under /api/ is a JSON 404 too, not the site's HTML page. Exempt from
    # CSRF like ninja's views: else a POST there got the HTML 403 of the CSRF check.
    re_path(r"^.*$", csrf_exempt(not_found)),
]
