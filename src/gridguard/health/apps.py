from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HealthConfig(AppConfig):
    name = "gridguard.health"
    label = "health"
    verbose_name = _("Health")

    def ready(self) -> None:
        from gridguard.health import jobs, receivers, retention_rules  # noqa: F401 - connects

        retention_rules.register_all()
