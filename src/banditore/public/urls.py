"""Citizens' pages. Each exists twice: bare for an installation with a single comune, and
under /c/<slug>/ always (a regional provider hosting many comuni links those)."""

from django.urls import path
from django.views.generic import RedirectView

from banditore.public import feeds, views

app_name = "public"

rss = feeds.ArchiveRss()
atom = feeds.ArchiveAtom()

# (route, view, name): mounted bare and under c/<slug>/ (the name prefixed with "org-").
PAGES = [
    ("", views.home, "home"),
    ("iscriviti", views.signup, "signup"),
    ("iscriviti/<str:token>", views.signup_done, "signup-done"),
    ("iscriviti/<str:token>/stato", views.signup_status, "signup-status"),
    ("privacy", views.privacy, "privacy"),
    ("archivio/", views.archive_list, "archive"),
    ("archivio/<int:pk>/", views.archive_message, "archive-message"),
    ("archivio/rss/", rss, "archive-rss"),
    ("archivio/atom/", atom, "archive-atom"),
    ("archivio/argomento/<slug:topic>/rss/", rss, "archive-topic-rss"),
    ("archivio/argomento/<slug:topic>/atom/", atom, "archive-topic-atom"),
]

urlpatterns = [path(route, view, name=name) for route, view, name in PAGES]
urlpatterns += [
    path(f"c/<slug:slug>/{route}", view, name=f"org-{name}") for route, view, name in PAGES
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
