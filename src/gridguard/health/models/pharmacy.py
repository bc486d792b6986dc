"""Pharmacies: fever-medicine purchase registration (P5) and mask reservations (P6)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridguard.core import clock
from gridguard.core.scoping import AreaScoped
from gridguard.people.models import IdType, Person


class FeverMedicinePurchase(AreaScoped):
    """A purchase of fever medicine, registered at the pharmacy (`area`) and pushed to the
    buyer's committee as a follow-up task."""

    buyer = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="medicine_purchases")
    name = models.CharField(_("name"), max_length=60)
    id_type = models.CharField(_("document type"), max_length=20, choices=IdType.choices)
    id_number = models.CharField(_("document number"), max_length=32)
    phone = models.CharField(_("phone"), max_length=20)
    medicine = models.CharField(_("medicine"), max_length=100)
    quantity = models.PositiveSmallIntegerField(_("quantity"), default=1)
    temperature = models.DecimalField(
        _("temperature"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    buyer_address = models.CharField(_("buyer's address"), max_length=255, blank=True)
    bought_at = models.DateTimeField(_("bought at"), default=clock.now, db_index=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submission_key = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("fever-medicine purchase")
        verbose_name_plural = _("fever-medicine purchases")

    def __str__(self) -> str:
        return f"{self.medicine} · {self.buyer_id}"


class MaskOutlet(AreaScoped):
    """A designated mask pharmacy (`area` is the pharmacy) and its reservation rules."""

    daily_quota = models.PositiveIntegerField(_("masks per day"))
    per_person_limit = models.PositiveSmallIntegerField(_("masks per person per period"), default=5)
    period_days = models.PositiveSmallIntegerField(_("period (days)"), default=7)
    active = models.BooleanField(_("taking reservations"), default=True)

    class Meta:
        verbose_name = _("mask outlet")
        verbose_name_plural = _("mask outlets")
        constraints = [models.UniqueConstraint(fields=["area"], name="one_outlet_per_pharmacy")]

    def __str__(self) -> str:
        return str(self.area_id)


class MaskQuotaDay(AreaScoped):
    """The masks of one outlet on one day: reservations take from `quota` with a guarded
    UPDATE, so concurrent reservations can never take more than there is."""

    outlet = models.ForeignKey(MaskOutlet, on_delete=models.CASCADE, related_name="days")
    day = models.DateField(_("day"))
    quota = models.PositiveIntegerField(_("quota"))
    reserved = models.PositiveIntegerField(_("reserved"), default=0)
    picked_up = models.PositiveIntegerField(_("picked up"), default=0)

    class Meta:
        verbose_name = _("mask quota")
        verbose_name_plural = _("mask quotas")
        constraints = [
            models.UniqueConstraint(fields=["outlet", "day"], name="one_quota_per_outlet_day"),
            models.CheckConstraint(
                condition=models.Q(reserved__lte=models.F("quota")), name="never_oversold"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.outlet_id} {self.day}: {self.reserved}/{self.quota}"


class ReservationStatus(models.TextChoices):
    RESERVED = "reserved", _("Reserved")
    PICKED_UP = "picked_up", _("Picked up")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Not collected")


class MaskReservation(AreaScoped):
    """A resident's reservation of masks at an outlet for a day, collected with its code."""

    outlet = models.ForeignKey(MaskOutlet, on_delete=models.PROTECT, related_name="reservations")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="mask_reservations")
    day = models.DateField(_("pickup day"))
    quantity = models.PositiveSmallIntegerField(_("quantity"))
    code = models.CharField(_("pickup code"), max_length=12, unique=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ReservationStatus.choices,
        default=ReservationStatus.RESERVED,
    )
    reserved_at = models.DateTimeField(default=clock.now)
    picked_up_at = models.DateTimeField(null=True, blank=True)
    picked_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submission_key = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("mask reservation")
        verbose_name_plural = _("mask reservations")
        indexes = [models.Index(fields=["person", "day"], name="reservation_person_day")]

    def __str__(self) -> str:
        return self.code
