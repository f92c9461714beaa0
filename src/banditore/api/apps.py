from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "banditore.api"
    label = "api"
    verbose_name = _("REST API")

    def ready(self):
        from django.db.models.signals import pre_save

        from banditore.api import testkeys
        from banditore.broadcasts.models import Broadcast

        pre_save.connect(testkeys.refuse_starting, sender=Broadcast, dispatch_uid="api-test")
