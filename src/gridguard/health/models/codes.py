"""Health codes (P4): rules kept as data, and each person's current code with its reasons."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridguard.core import clock
from gridguard.core.scoping import ScopedQuerySet
from gridguard.people.models import Person


class Colour(models.TextChoices):
    GREEN = "green", _("Green")
    YELLOW = "yellow", _("Yellow")
    RED = "red", _("Red")


# Worst first: the code is the colour of the worst rule that holds.
SEVERITY = {Colour.GREEN: 0, Colour.YELLOW: 1, Colour.RED: 2}


class HealthCodeRule(models.Model):
    """One rule: when the fact `condition` holds (with `params`), the code is at least
    `colour`, for the reason `reason`, until `valid_hours` after it was computed (or the fact's
    own end, whichever is sooner). The conditions are a fixed vocabulary of facts
    (gridguard.health.code_facts); which of them count, with what thresholds and colours, is
    data an administrator changes."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    condition = models.CharField(_("condition"), max_length=40)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    colour = models.CharField(_("colour"), max_length=8, choices=Colour.choices)
    reason = models.CharField(_("reason shown"), max_length=120)
    reason_en = models.CharField(_("reason shown (English)"), max_length=120, blank=True)
    priority = models.PositiveSmallIntegerField(_("priority"), default=100)
    valid_hours = models.PositiveSmallIntegerField(_("valid for (hours)"), default=24)
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(default=clock.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("health code rule")
        verbose_name_plural = _("health code rules")
        ordering = ["priority", "code"]

    def __str__(self) -> str:
        return f"{self.code} → {self.colour}"


class HealthCodeQuerySet(ScopedQuerySet["HealthCode"]):
    scope_lookup = "person__area__path"


class HealthCode(models.Model):
    """A person's current code: colour, the reasons, when it was computed and when it expires."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="health_code")
    colour = models.CharField(_("colour"), max_length=8, choices=Colour.choices, db_index=True)
    # [{"rule": code, "reason": text, "reason_en": text, "until": iso or null}]
    reasons = models.JSONField(_("reasons"), default=list)
    computed_at = models.DateTimeField(_("computed at"), default=clock.now)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    objects = models.Manager.from_queryset(HealthCodeQuerySet)()

    class Meta:
        verbose_name = _("health code")
        verbose_name_plural = _("health codes")

    def __str__(self) -> str:
        return f"{self.person_id}: {self.colour}"


class HealthCodeChangeQuerySet(ScopedQuerySet["HealthCodeChange"]):
    scope_lookup = "person__area__path"


class HealthCodeChange(models.Model):
    """Each change of colour, with why: the history a person or a worker can be shown."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="code_changes")
    old_colour = models.CharField(max_length=8, choices=Colour.choices, blank=True)
    new_colour = models.CharField(max_length=8, choices=Colour.choices)
    reasons = models.JSONField(default=list)
    changed_at = models.DateTimeField(default=clock.now, db_index=True)

    objects = models.Manager.from_queryset(HealthCodeChangeQuerySet)()

    class Meta:
        verbose_name = _("health code change")
        verbose_name_plural = _("health code changes")

    def __str__(self) -> str:
        return f"{self.person_id}: {self.old_colour} → {self.new_colour}"
