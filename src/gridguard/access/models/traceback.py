"""A trace-back (A4): who was near a person at the gates, in their building, as visitors."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridguard.core import clock
from gridguard.core.scoping import AreaScoped


class TraceBack(AreaScoped):
    """One trace-back asked for by an official, with its reason (audited). `area` is where the
    subject lives, so the trace-back is seen by those who may see the subject."""

    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="tracebacks")
    entry_pass = models.ForeignKey(
        "access.EntryPass", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    window_start = models.DateTimeField(_("from"))
    window_end = models.DateTimeField(_("until"))
    gap_minutes = models.PositiveIntegerField(_("within (minutes)"), default=15)
    reason = models.CharField(_("reason"), max_length=255)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(default=clock.now)
    # Counts found: {"gate_contacts": n, "same_building": n, "visitors": n, "followups": n}.
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("trace-back")
        verbose_name_plural = _("trace-backs")

    def __str__(self) -> str:
        return f"{self.person_id} {self.window_start:%Y-%m-%d}"
