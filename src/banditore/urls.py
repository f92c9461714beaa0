from django.contrib import admin
from django.urls import include, path

from banditore.ops import views as ops_views
from banditore.subscribers import views as subscriber_views

urlpatterns = [
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/", include("banditore.api.urls")),
    path("console/", include("banditore.console.urls")),
    # The language switch in every page's header (Django's set_language: a cookie).
    path("lingua/", include("django.conf.urls.i18n")),
    path("dati/<str:token>", subscriber_views.data_export, name="data-export"),
    path("", include("banditore.public.urls")),
]
