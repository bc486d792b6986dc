"""Traveller health registration (P2) and the follow-up tasks it and the pharmacies raise."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridguard.core import clock
from gridguard.core.scoping import AreaScoped
from gridguard.people.models import IdType, Person


class KeyRegion(models.Model):
    """A key area (重点地区) travellers are followed up from: a province, or one city in it,
    over a period. Administrators keep the list; registrations check it at their arrival date."""

    province = models.CharField(_("province"), max_length=30)
    city = models.CharField(_("city"), max_length=30, blank=True)  # blank: the whole province
    since = models.DateField(_("since"))
    until = models.DateField(_("until"), null=True, blank=True)
    observation_days = models.PositiveSmallIntegerField(_("observation days"), default=14)
    note = models.CharField(_("note"), max_length=255, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("key region")
        verbose_name_plural = _("key regions")
        ordering = ["province", "city"]

    def __str__(self) -> str:
        return f"{self.province}{self.city}"


class Transport(models.TextChoices):
    CAR = "car", _("Car")
    TRAIN = "train", _("Train")
    FLIGHT = "flight", _("Flight")
    COACH = "coach", _("Coach")
    SHIP = "ship", _("Ship")
    OTHER = "other", _("Other")


class Channel(models.TextChoices):
    PUBLIC_FORM = "public_form", _("Public form")
    CHECKPOINT_DEVICE = "checkpoint_device", _("Checkpoint device")
    STAFF = "staff", _("Entered by staff")


class MatchStatus(models.TextChoices):
    MATCHED = "matched", _("Matched to a compound")
    UNMATCHED = "unmatched", _("Waiting for the street to assign")
    ASSIGNED = "assigned", _("Assigned by the street")


class RegistrationIntake(models.Model):
    """A checked registration as it arrived, kept durably before it is placed (the intake
    queue). Devices at a busy checkpoint get their receipt as soon as this row is committed;
    `process_intake` turns rows into persons, registrations, flags and follow-up tasks in
    batches. A row is never deleted: `registration` links to what it became, `problem` says
    why it could not be placed yet (it is retried)."""

    receipt_code = models.CharField(max_length=16, unique=True)
    submission_key = models.CharField(max_length=64, unique=True)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    checkpoint = models.ForeignKey(
        "territory.Area", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Who sent it and from where, for the audit rows written when it is placed.
    actor_label = models.CharField(max_length=150)
    actor_id = models.BigIntegerField(null=True, blank=True)
    origin_ip = models.CharField(max_length=45, blank=True)
    origin_channel = models.CharField(max_length=10, blank=True)
    # The checked declaration (JSON-safe: dates as ISO strings, temperature as a string).
    declaration = models.JSONField()
    language = models.CharField(max_length=10, blank=True)
    received_at = models.DateTimeField(default=clock.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    registration = models.OneToOneField(
        "health.TravellerRegistration",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="intake",
    )
    problem = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("registration intake")
        verbose_name_plural = _("registration intake")
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(processed_at__isnull=True),
                name="intake_pending",
            )
        ]

    def __str__(self) -> str:
        return self.receipt_code


class TravellerRegistration(AreaScoped):
    """One arrival declared by a traveller. `area` is the destination compound once matched,
    else the deepest area the address could be placed in (street, district or the city), where
    it waits in the unmatched queue."""

    receipt_code = models.CharField(_("receipt code"), max_length=16, unique=True)
    # The idempotency key of the submission (a form token or the device's own id): the same
    # submission twice is one registration.
    submission_key = models.CharField(max_length=64, unique=True)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="registrations")
    # What was declared, kept as declared (the person record may be corrected later).
    name = models.CharField(_("name"), max_length=60)
    id_type = models.CharField(_("document type"), max_length=20, choices=IdType.choices)
    id_number = models.CharField(_("document number"), max_length=32)
    phone = models.CharField(_("phone"), max_length=20)
    origin_province = models.CharField(_("origin province"), max_length=30)
    origin_city = models.CharField(_("origin city"), max_length=30, blank=True)
    route = models.CharField(_("route"), max_length=255, blank=True)
    transport = models.CharField(_("transport"), max_length=10, choices=Transport.choices)
    vehicle_number = models.CharField(_("plate, train or flight number"), max_length=20, blank=True)
    arrival_date = models.DateField(_("arrival date"))
    checkpoint = models.ForeignKey(
        "territory.Area",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("checkpoint"),
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    destination_address = models.CharField(_("destination address"), max_length=255)
    match_status = models.CharField(
        _("address match"), max_length=10, choices=MatchStatus.choices, db_index=True
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    symptoms = models.JSONField(_("symptoms"), default=list, blank=True)
    temperature = models.DecimalField(
        _("temperature"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    contact_history = models.BooleanField(_("contact with a case or a key area"), default=False)
    contact_detail = models.CharField(_("contact details"), max_length=255, blank=True)
    key_region = models.ForeignKey(
        KeyRegion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_key_area = models.BooleanField(_("from a key area"), default=False, db_index=True)
    language = models.CharField(max_length=10, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), default=clock.now, db_index=True)

    class Meta:
        verbose_name = _("traveller registration")
        verbose_name_plural = _("traveller registrations")
        indexes = [
            models.Index(fields=["area", "submitted_at"], name="registration_area_time"),
        ]

    def __str__(self) -> str:
        return self.receipt_code


class FollowUpKind(models.TextChoices):
    KEY_AREA_ARRIVAL = "key_area_arrival", _("Arrival from a key area")
    FEVER_MEDICINE = "fever_medicine", _("Fever medicine bought")
    SYMPTOMS_DECLARED = "symptoms_declared", _("Symptoms declared at registration")
    TRACE_CONTACT = "trace_contact", _("Contact found by a trace-back")


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class FollowUpTask(AreaScoped):
    """Work pushed to a committee about one person: visit, verify, start an observation…
    `area` is the committee (or the deepest matched area) responsible for it."""

    kind = models.CharField(_("kind"), max_length=24, choices=FollowUpKind.choices)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="followups")
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=FollowUpStatus.choices,
        default=FollowUpStatus.OPEN,
        db_index=True,
    )
    # Where it came from: "registration:<pk>", "purchase:<pk>" (one task per source).
    source = models.CharField(max_length=40, unique=True)
    summary = models.CharField(_("summary"), max_length=255)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("follow-up task")
        verbose_name_plural = _("follow-up tasks")
        indexes = [models.Index(fields=["area", "status"], name="followup_area_status")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.person_id}"
