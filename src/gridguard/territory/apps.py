from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TerritoryConfig(AppConfig):
    name = "gridguard.territory"
    label = "territory"
    verbose_name = _("Territory")

    def ready(self) -> None:
        from gridguard.core import retention
        from gridguard.territory.models import DutyShift

        retention.register(
            "duty_shifts",
            DutyShift,
            "ends_at",
            730,
            "Gate and checkpoint shifts (who was on duty when); hours totals are reported "
            "before they go.",
        )
