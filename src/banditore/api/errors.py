"""Every 4xx as `{"error": {"code", "message" (Italian), "message_en"}}`, ninja's own included."""

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpResponse, JsonResponse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override
from ninja.errors import AuthenticationError, HttpError, ValidationError

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message, params=None, *, english=None, **details):
        super().__init__(code)
        self.status, self.code, self.message = status, code, message
        self.params, self.english, self.details = params, english, details


def _in(language: str, message, params) -> str:
    with override(language):
        text = str(message)
        return text % params if params else text


def error_response(
    status: int, code: str, message, params=None, *, english=None, **details
) -> HttpResponse:
    """`message` is lazy, with its %-params apart so that it is rendered in both languages;
    a plain string (a service's message, already Italian) needs its `english` beside it."""
    if isinstance(message, Promise):
        italian, english = _in("it", message, params), _in("en", message, params)
    else:
        italian, english = str(message), str(english or message)
    body = {"code": code, "message": italian, "message_en": english, **details}
    return JsonResponse({"error": body}, status=status, json_dumps_params={"ensure_ascii": False})


def not_found(request=None, *args, **kwargs) -> HttpResponse:
    return error_response(404, "not_found", _("Not found."))


# ninja's HttpError carries only a status: each status gets its own code and text.
HTTP_ERRORS = {
    400: ("bad_request", _("The request body is not valid JSON.")),
    401: ("unauthorized", _("A valid API key is needed: Authorization: Bearer <key>.")),
    403: ("forbidden", _("This API key may not do this.")),
    404: ("not_found", _("Not found.")),
    405: ("method_not_allowed", _("This method is not allowed here.")),
    413: ("too_large", _("The request body is too large.")),
    429: ("throttled", _("Too many requests: try again later.")),
}


def _validation(request, exc: ValidationError):
    fields = [
        {"field": ".".join(str(p) for p in e.get("loc", ())), "type": e.get("type", "")}
        for e in exc.errors
    ]
    names = ", ".join(f["field"] for f in fields) or "-"
    message = _("The request is not valid: check %(fields)s.")
    return error_response(422, "invalid", message, {"fields": names}, fields=fields)


def _http(request, exc: HttpError):
    code, message = HTTP_ERRORS.get(exc.status_code, ("error", _("The request can't be served.")))
    return error_response(exc.status_code, code, message)


def _unexpected(request, exc: Exception):
    if isinstance(exc, RequestDataTooBig):
        return error_response(413, *HTTP_ERRORS[413])
    log.exception("API request failed: %s %s", request.method, request.path)
    return error_response(500, "internal", _("Something went wrong on our side; try again."))


def install(api) -> None:
    api.add_exception_handler(
        ApiError,
        lambda r, e: error_response(
            e.status, e.code, e.message, e.params, english=e.english, **e.details
        ),
    )
    api.add_exception_handler(ValidationError, _validation)
    api.add_exception_handler(
        AuthenticationError, lambda r, e: error_response(401, *HTTP_ERRORS[401])
    )
    api.add_exception_handler(HttpError, _http)
    api.add_exception_handler(Http404, lambda r, e: not_found())
    api.add_exception_handler(Exception, _unexpected)
