"""Road, rail, air and port checkpoints and the checks made there (A3)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from gridguard.core import clock
from gridguard.core.scoping import AreaScoped


class CheckpointKind(models.TextChoices):
    ROAD = "road", _("Road")
    RAIL = "rail", _("Railway station")
    AIR = "air", _("Airport")
    PORT = "port", _("Port")


class Checkpoint(AreaScoped):
    """What the checks need to know of a checkpoint (道口/卡口): `area` is its place in the
    territory (kind "checkpoint", under the street that runs it), which gives it its code and
    name."""

    kind = models.CharField(_("kind"), max_length=8, choices=CheckpointKind.choices)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")
        constraints = [models.UniqueConstraint(fields=["area"], name="one_checkpoint_per_place")]

    def __str__(self) -> str:
        return str(self.area_id)


class CheckOutcome(models.TextChoices):
    CLEARED = "cleared", _("Cleared")
    REFERRED = "referred", _("Referred to the health centre")
    TURNED_BACK = "turned_back", _("Turned back")


class CheckpointCheck(AreaScoped):
    """One vehicle (or traveller on foot) checked at a checkpoint. `area` is the checkpoint's
    area, copied so that scoping and the per-street counts need no join."""

    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="checks")
    checked_at = models.DateTimeField(_("checked at"), default=clock.now)
    plate = models.CharField(_("plate"), max_length=12, blank=True)
    origin_province = models.CharField(_("origin province"), max_length=40, blank=True)
    origin_city = models.CharField(_("origin city"), max_length=40, blank=True)
    passengers = models.PositiveSmallIntegerField(_("travellers"), default=1)
    # Registration receipts scanned for the travellers of this vehicle.
    registrations = models.ManyToManyField(
        "health.TravellerRegistration", blank=True, related_name="checkpoint_checks"
    )
    fever_count = models.PositiveSmallIntegerField(_("with fever"), default=0)
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=CheckOutcome.choices, default=CheckOutcome.CLEARED
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    recorded_by = models.CharField(max_length=150, blank=True)
    # The device's (or the form's) own id for this submission: a retry reuses it and gets the
    # first check back.
    submission_key = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("checkpoint check")
        verbose_name_plural = _("checkpoint checks")
        indexes = [
            models.Index(fields=["checkpoint", "checked_at"]),
            models.Index(fields=["area", "checked_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.checkpoint_id} {self.plate}"
