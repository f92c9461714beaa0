from django.contrib import admin
from django.urls import path

from banditore.webhooks import views as webhook_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "webhooks/whatsapp/<int:channel_id>",
        webhook_views.whatsapp_webhook,
        name="whatsapp-webhook",
    ),
]
