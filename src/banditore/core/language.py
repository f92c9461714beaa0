"""Italian for everyone, whatever the browser asks; English only for whoever chose it.

Django's LocaleMiddleware follows Accept-Language, so a browser set to English got English
pages with Italian fragments (the comune's own texts). Here the language comes from the
cookie Django's set_language view writes (the switch in every page's header) and nothing
else; the API, whose errors carry both languages, is left as it is."""

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers


def chosen_language(request) -> str:
    choice = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    known = {code for code, _name in settings.LANGUAGES}
    return choice if choice in known else settings.LANGUAGE_CODE


class LanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = chosen_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", language)
        return response
