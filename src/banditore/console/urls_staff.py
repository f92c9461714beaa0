"""The subscribers, inbound, settings, users and audit pages of the console."""

from django.urls import path

from banditore.console import audit, inbound, settings_views, subscribers, users

urlpatterns = [
    path("iscritti/", subscribers.listing, name="subscribers"),
    path("iscritti/esporta.csv", subscribers.export, name="subscribers_export"),
    path("iscritti/importa/", subscribers.import_upload, name="subscribers_import"),
    path("iscritti/importa/conferma/", subscribers.import_apply, name="subscribers_import_apply"),
    path("iscritti/<int:pk>/", subscribers.detail, name="subscriber"),
    path("iscritti/<int:pk>/cancella/", subscribers.erase, name="subscriber_erase"),
    path("messaggi-ricevuti/", inbound.listing, name="inbound"),
    path("impostazioni/", settings_views.page, name="settings"),
    path("impostazioni/anteprima/", settings_views.preview, name="settings_preview"),
    path(
        "impostazioni/canale/<int:pk>/",
        settings_views.channel_credentials,
        name="settings_channel",
    ),
    path("impostazioni/fasce/", settings_views.slot_add, name="settings_slot_add"),
    path("impostazioni/fasce/<int:pk>/", settings_views.slot_toggle, name="settings_slot_toggle"),
    path("utenti/", users.listing, name="users"),
    path("utenti/nuovo/", users.add, name="users_add"),
    path("utenti/<int:pk>/", users.change, name="user_change"),
    path("utenti/<int:pk>/disattiva/", users.deactivate, name="user_deactivate"),
    path("registro/", audit.listing, name="audit"),
]
