"""What happens at a compound gate: scans, visitors, vehicles (A2)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from gridguard.access.models.passes import EntryPass
from gridguard.core import clock
from gridguard.core.scoping import AreaScoped


class Verdict(models.TextChoices):
    OK = "ok", _("Pass")
    MALFORMED = "malformed", _("Not a GridGuard pass")
    UNKNOWN_KEY = "unknown_key", _("Unknown signing key")
    FORGED = "forged", _("Forged")
    WRONG_ISSUER = "wrong_issuer", _("Signed by another street")
    NOT_YET_VALID = "not_yet_valid", _("Not yet valid")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")
    WRONG_COMPOUND = "wrong_compound", _("Another compound")
    WRONG_GATE = "wrong_gate", _("Not valid at this gate")
    CODE_YELLOW = "code_yellow", _("Health code yellow")
    CODE_RED = "code_red", _("Health code red")
    FEVER = "fever", _("Fever")


class GateEvent(AreaScoped):
    """One scan at a gate (`area`): its verdict, the temperature taken, and when.

    `event_id` is chosen by the scanner, so an upload sent twice is one event. `person` is
    copied in from the pass for trace-back over millions of rows without joins.
    """

    # The composite indexes below lead with area, person and pass, so the single-column
    # foreign-key indexes would only slow the busiest insert of the city (scans and uploads).
    # Nor does the database check the three references row by row (decision 0011): the
    # writer resolves each one in the same request, PROTECT still holds through the ORM, and
    # the checks were two thirds of an upload's COPY (bench/gate_scan.py).
    area = models.ForeignKey(
        "territory.Area",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    event_id = models.UUIDField(unique=True, default=uuid.uuid4)
    entry_pass = models.ForeignKey(
        EntryPass,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    person = models.ForeignKey(
        "people.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="gate_events",
        db_index=False,
        db_constraint=False,
    )
    verdict = models.CharField(_("verdict"), max_length=16, choices=Verdict.choices)
    temperature = models.DecimalField(
        _("temperature"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    scanned_at = models.DateTimeField(_("scanned at"))
    received_at = models.DateTimeField(default=clock.now)
    offline = models.BooleanField(default=False)
    recorded_by = models.CharField(max_length=150, blank=True)
    flagged = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("gate event")
        verbose_name_plural = _("gate events")
        indexes = [
            models.Index(fields=["area", "scanned_at"]),
            models.Index(fields=["person", "scanned_at"]),
            models.Index(fields=["entry_pass", "scanned_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}"


class GateVisitor(AreaScoped):
    """A visitor registered at a gate (`area`): who, whom they visit, why, in and out.

    The host household is what trace-back follows ("the visitors of their household").
    """

    name = models.CharField(_("name"), max_length=60)
    phone = models.CharField(_("phone"), max_length=20)
    host_household = models.ForeignKey(
        "people.Household",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="visitors",
        verbose_name=_("host household"),
    )
    host_person = models.ForeignKey(
        "people.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hosted_visitors",
        verbose_name=_("host"),
    )
    # Set when the visitor showed an identity document or a temporary pass.
    person = models.ForeignKey(
        "people.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="gate_visits",
    )
    purpose = models.CharField(_("purpose"), max_length=120)
    time_in = models.DateTimeField(_("time in"), default=clock.now)
    time_out = models.DateTimeField(_("time out"), null=True, blank=True)
    temperature = models.DecimalField(
        _("temperature"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    admitted = models.BooleanField(_("admitted"), default=True)
    recorded_by = models.CharField(max_length=150, blank=True)
    # The device's (or the form's) own id for this submission: a retry reuses it and gets the
    # first row back.
    submission_key = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("visitor")
        verbose_name_plural = _("visitors")
        indexes = [
            models.Index(fields=["area", "time_in"]),
            models.Index(fields=["host_household", "time_in"]),
        ]

    def __str__(self) -> str:
        return self.name


class VehicleDirection(models.TextChoices):
    IN = "in", _("In")
    OUT = "out", _("Out")


class GateVehicle(AreaScoped):
    """A vehicle registered at a gate (`area`): plate, driver, passengers."""

    plate = models.CharField(_("plate"), max_length=12)
    direction = models.CharField(
        _("direction"), max_length=3, choices=VehicleDirection.choices, default="in"
    )
    driver_name = models.CharField(_("driver"), max_length=60)
    driver_phone = models.CharField(_("driver's phone"), max_length=20, blank=True)
    passengers = models.PositiveSmallIntegerField(_("passengers"), default=0)
    # Names (and temperatures) of the passengers, when taken: [{"name": …, "temperature": …}].
    passenger_list = models.JSONField(default=list, blank=True)
    purpose = models.CharField(_("purpose"), max_length=120, blank=True)
    temperature = models.DecimalField(
        _("driver's temperature"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    at = models.DateTimeField(_("time"), default=clock.now)
    admitted = models.BooleanField(_("admitted"), default=True)
    recorded_by = models.CharField(max_length=150, blank=True)
    # As for visitors: a resent submission is one vehicle.
    submission_key = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        indexes = [models.Index(fields=["area", "at"]), models.Index(fields=["plate", "at"])]

    def __str__(self) -> str:
        return self.plate
