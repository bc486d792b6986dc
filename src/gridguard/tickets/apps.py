from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "gridguard.tickets"
    label = "tickets"
    verbose_name = _("Citizen tickets")

    def ready(self) -> None:
        from gridguard.tickets import jobs  # noqa: F401 - registers the periodic jobs
