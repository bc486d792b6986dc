"""Departments that handle tickets (the taxonomy's default departments, per area)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridguard.core.scoping import AreaScoped


class Department(AreaScoped):
    """One department's office serving an area and its subtree, e.g. the market regulator of a
    district or the city-operations centre of a street. `kind` is a taxonomy department code
    ("market", "committee", ...). Tickets of a class go to the nearest office of the class's
    department at or above the ticket's area; handlers are the users who answer for it."""

    kind = models.CharField(_("department"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    handlers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="ticket_departments"
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        constraints = [
            models.UniqueConstraint(fields=["area", "kind"], name="one_department_kind_per_area")
        ]

    def __str__(self) -> str:
        return self.name
