"""The press office's console, under /console/."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from banditore.console import broadcasts, views

app_name = "console"

urlpatterns = [
    path(
        "accesso/",
        auth_views.LoginView.as_view(
            template_name="console/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("esci/", auth_views.LogoutView.as_view(next_page="console:login"), name="logout"),
    path("", views.dashboard, name="dashboard"),
    path("dati/iscritti.json", views.subscribers_series, name="subscribers_series"),
    path("messaggi/", broadcasts.listing, name="broadcasts"),
    path("messaggi/nuovo/", broadcasts.compose, name="broadcast_new"),
    path("messaggi/anteprima/", broadcasts.preview, name="broadcast_preview"),
    path("messaggi/<int:pk>/", broadcasts.detail, name="broadcast"),
    path("messaggi/<int:pk>/modifica/", broadcasts.edit, name="broadcast_edit"),
    path("messaggi/<int:pk>/avanzamento/", broadcasts.progress_part, name="broadcast_progress"),
    path("messaggi/<int:pk>/prova/", broadcasts.test_send, name="broadcast_test"),
    path("messaggi/<int:pk>/annulla/", broadcasts.cancel, name="broadcast_cancel"),
    path("messaggi/<int:pk>/esiti.csv", broadcasts.outcomes_csv, name="broadcast_outcomes"),
    path("messaggi/<int:pk>/<slug:action>/", broadcasts.act, name="broadcast_act"),
    path("", include("banditore.console.urls_staff")),
    path("", include("banditore.console.urls_otp")),
]
