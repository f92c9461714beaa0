"""The second factor's pages, under /console/ (included by console/urls.py)."""

from django.urls import path

from banditore.console import otp

urlpatterns = [
    path("verifica/", otp.verify, name="otp_verify"),
    path("verifica/attiva/", otp.enrol, name="otp_enrol"),
]
