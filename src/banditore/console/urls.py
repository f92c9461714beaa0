"""The press office's console, under /console/."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from banditore.console import views

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
    path("", include("banditore.console.urls_otp")),
]
