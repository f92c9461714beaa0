"""Citizens' pages. Each exists twice: bare for an installation with a single comune, and
under /c/<slug>/ always (a regional provider hosting many comuni links those)."""

from django.urls import path
from django.views.generic import RedirectView

from banditore.public import views

app_name = "public"

urlpatterns = [
    path("iscriviti", views.signup, name="signup"),
    path("iscriviti/<str:token>", views.signup_done, name="signup-done"),
    path("privacy", views.privacy, name="privacy"),
    path("c/<slug:slug>/iscriviti", views.signup, name="org-signup"),
    path("c/<slug:slug>/iscriviti/<str:token>", views.signup_done, name="org-signup-done"),
    path("c/<slug:slug>/privacy", views.privacy, name="org-privacy"),
]


def _slash(route: str, name: str):
    """People type and print links with a trailing slash: send them to the page."""
    return path(route + "/", RedirectView.as_view(pattern_name=f"public:{name}", permanent=True))


urlpatterns += [
    _slash("iscriviti", "signup"),
    _slash("privacy", "privacy"),
    _slash("c/<slug:slug>/iscriviti", "org-signup"),
    _slash("c/<slug:slug>/privacy", "org-privacy"),
]
