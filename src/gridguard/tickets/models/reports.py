"""Stored daily ticket reports (C2): the snapshot of a day, kept as it was generated."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from gridguard.core import clock
from gridguard.core.scoping import AreaScoped


class TicketReport(AreaScoped):
    """The daily ticket report of `area` for the Shanghai day `date`, as generated at
    `generated_at` (selectors.report.daily_report's dict). One per area and day."""

    date = models.DateField(_("date"))
    data = models.JSONField(_("report"), default=dict)
    generated_at = models.DateTimeField(_("generated at"), default=clock.now)

    class Meta:
        verbose_name = _("daily ticket report")
        verbose_name_plural = _("daily ticket reports")
        constraints = [
            models.UniqueConstraint(fields=["area", "date"], name="one_ticket_report_per_day")
        ]
        indexes = [models.Index(fields=["date"])]

    def __str__(self) -> str:
        return f"{self.area_id} {self.date}"
