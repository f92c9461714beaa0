from django.contrib import admin
from django.urls import include, path

from banditore.subscribers import views as subscriber_views
from banditore.webhooks import views as webhook_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("dati/<str:token>", subscriber_views.data_export, name="data-export"),
    path(
        "webhooks/whatsapp/<int:channel_id>",
        webhook_views.whatsapp_webhook,
        name="whatsapp-webhook",
    ),
    path("", include("banditore.public.urls")),
]
