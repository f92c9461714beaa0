"""Citizens' pages. Each exists twice: bare for an installation with a single comune, and
under /c/<slug>/ always (a regional provider hosting many comuni links those)."""

from django.urls import path

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
