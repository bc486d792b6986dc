"""Home observation (P3): orders, check-ins, alerts, errands and the daily counts."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridguard.core import clock
from gridguard.core.scoping import AreaScoped
from gridguard.people.models import Person


def _default_slots() -> list[str]:
    return ["08:00", "14:00"]


class ObservationType(models.Model):
    """A kind of observation order and its schedule: days, check-in slots, fever threshold.

    `slots` are Shanghai wall-clock times; a slot is missed when nothing was reported by
    `grace_minutes` after the next slot starts (or after the last slot of the day, by its
    own start plus `last_slot_grace_minutes`).
    """

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=60)
    days = models.PositiveSmallIntegerField(_("days"), default=14)
    slots = models.JSONField(_("check-in times"), default=_default_slots)
    grace_minutes = models.PositiveSmallIntegerField(_("grace (minutes)"), default=120)
    fever_threshold = models.DecimalField(
        _("fever from (°C)"), max_digits=3, decimal_places=1, default=Decimal("37.3")
    )
    # Unacknowledged alerts move up one level after this long.
    escalate_after_minutes = models.PositiveSmallIntegerField(
        _("escalate after (minutes)"), default=60
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("observation type")
        verbose_name_plural = _("observation types")

    def __str__(self) -> str:
        return self.name


class OrderStatus(models.TextChoices):
    ACTIVE = "active", _("In observation")
    RELEASED = "released", _("Released")
    CANCELLED = "cancelled", _("Cancelled")


class ObservationOrder(AreaScoped):
    """One person observed at home from `starts_on` to `ends_on` (inclusive), at `area`."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="observations")
    order_type = models.ForeignKey(ObservationType, on_delete=models.PROTECT, related_name="+")
    place_address = models.CharField(_("place"), max_length=255)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), db_index=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=OrderStatus.choices,
        default=OrderStatus.ACTIVE,
        db_index=True,
    )
    health_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("health worker"),
    )
    committee_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("committee worker"),
    )
    registration = models.ForeignKey(
        "health.TravellerRegistration",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="observations",
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    notice_served_at = models.DateTimeField(_("notice served at"), null=True, blank=True)
    notice_served_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    commitment_signed_at = models.DateTimeField(_("commitment signed at"), null=True, blank=True)
    commitment_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    release_note = models.CharField(_("release note"), max_length=255, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("observation order")
        verbose_name_plural = _("observation orders")
        indexes = [models.Index(fields=["status", "ends_on"], name="order_status_end")]
        constraints = [
            # One running order per person; a second would double every alert.
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(status="active"),
                name="one_active_order_per_person",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.starts_on}..{self.ends_on}"


class CheckInSource(models.TextChoices):
    SELF = "self", _("Reported by the person")
    VISIT = "visit", _("Taken by a worker on a visit")
    DEVICE = "device", _("Wristband or device")


class CheckIn(AreaScoped):
    """One reported temperature for one slot of an order (one report per slot)."""

    order = models.ForeignKey(ObservationOrder, on_delete=models.CASCADE, related_name="checkins")
    slot_date = models.DateField(_("day"))
    slot_index = models.PositiveSmallIntegerField(_("slot"))
    temperature = models.DecimalField(_("temperature"), max_digits=4, decimal_places=1)
    symptoms = models.JSONField(_("symptoms"), default=list, blank=True)
    source = models.CharField(_("source"), max_length=8, choices=CheckInSource.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    device = models.CharField(_("device"), max_length=40, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    reported_at = models.DateTimeField(_("reported at"), default=clock.now)

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        constraints = [
            models.UniqueConstraint(
                fields=["order", "slot_date", "slot_index"], name="one_checkin_per_slot"
            )
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.slot_date}#{self.slot_index} {self.temperature}"


class AlertKind(models.TextChoices):
    FEVER = "fever", _("Fever")
    MISSED = "missed", _("Missed check-in")
    BREACH = "breach", _("Breach of observation")


class AlertLevel(models.IntegerChoices):
    COMMUNITY = 0, _("Committee and health centre")
    STREET = 1, _("Street")
    DISTRICT = 2, _("District")


class ObservationAlert(AreaScoped):
    """A fever, a missed slot or a reported breach: to the health centre and the committee,
    acknowledged by one of them, escalated a level while nobody does."""

    order = models.ForeignKey(ObservationOrder, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(_("kind"), max_length=8, choices=AlertKind.choices)
    # The slot a fever or missed alert is about ("" for a breach): one alert per slot and kind.
    slot_key = models.CharField(max_length=20, blank=True)
    temperature = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    raised_at = models.DateTimeField(_("raised at"), default=clock.now)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    level = models.PositiveSmallIntegerField(
        _("level"), choices=AlertLevel.choices, default=AlertLevel.COMMUNITY
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ack_note = models.CharField(_("what was done"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("observation alert")
        verbose_name_plural = _("observation alerts")
        indexes = [models.Index(fields=["acknowledged_at", "raised_at"], name="alert_open")]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind", "slot_key"],
                condition=~models.Q(slot_key=""),
                name="one_alert_per_slot",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.order_id}"


class ErrandKind(models.TextChoices):
    GROCERIES = "groceries", _("Groceries")
    MEDICINE = "medicine", _("Medicine")
    DELIVERY = "delivery", _("Parcel delivery")
    RUBBISH = "rubbish", _("Rubbish removal")
    OTHER = "other", _("Other")


class ErrandStatus(models.TextChoices):
    OPEN = "open", _("Waiting for a volunteer")
    ASSIGNED = "assigned", _("Assigned")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Errand(AreaScoped):
    """An errand for a person in observation (代办), done by a volunteer."""

    order = models.ForeignKey(ObservationOrder, on_delete=models.CASCADE, related_name="errands")
    kind = models.CharField(_("kind"), max_length=10, choices=ErrandKind.choices)
    detail = models.CharField(_("what is needed"), max_length=255)
    status = models.CharField(
        _("status"), max_length=10, choices=ErrandStatus.choices, default=ErrandStatus.OPEN
    )
    requested_at = models.DateTimeField(default=clock.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    volunteer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("volunteer"),
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(_("outcome"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("errand")
        verbose_name_plural = _("errands")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.order_id}"


class ObservationDailyCount(AreaScoped):
    """Counts per committee and day, kept current by the services (so a purge of old orders
    and check-ins leaves them as they were). `area` is the committee."""

    day = models.DateField(_("day"))
    in_observation = models.PositiveIntegerField(_("in observation"), default=0)
    started = models.PositiveIntegerField(_("started"), default=0)
    released = models.PositiveIntegerField(_("released"), default=0)
    fevers = models.PositiveIntegerField(_("fevers"), default=0)
    missed = models.PositiveIntegerField(_("missed check-ins"), default=0)

    class Meta:
        verbose_name = _("daily observation count")
        verbose_name_plural = _("daily observation counts")
        constraints = [
            models.UniqueConstraint(fields=["area", "day"], name="one_count_per_committee_day")
        ]

    def __str__(self) -> str:
        return f"{self.area_id} {self.day}"
