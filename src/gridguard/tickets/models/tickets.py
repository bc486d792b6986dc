"""Tickets, the cases they join, and every step of their handling (C1)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridguard.core import clock
from gridguard.core.scoping import AreaScoped

MAX_TEXT = 2000
MAX_PLACE = 200


class Channel(models.TextChoices):
    CITIZEN_HOTLINE = "12345", _("12345 citizen hotline")
    CONSTRUCTION_HOTLINE = "12319", _("12319 construction hotline")
    HEALTH_HOTLINE = "12320", _("12320 health hotline")
    WEB = "web", _("Web submission")
    OPINION = "opinion", _("Opinion-collection platform")


class Urgency(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    HIGH = "high", _("High")
    NORMAL = "normal", _("Normal")


class CaseStatus(models.TextChoices):
    TRIAGE = "triage", _("Waiting for triage")
    DISPATCHED = "dispatched", _("Dispatched")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


# Cases a new report of the same clue may still join.
OPEN_STATUSES = (CaseStatus.TRIAGE, CaseStatus.DISPATCHED, CaseStatus.ANSWERED)


class Case(AreaScoped):
    """One concrete problem at one place (a clue, 线索): the tickets that report it, through
    whatever channel and in whatever words, are handled once, as this case."""

    number = models.CharField(_("case number"), max_length=20, unique=True)
    subclass = models.CharField(_("subclass"), max_length=3, db_index=True)
    urgency = models.CharField(
        _("urgency"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=12, choices=CaseStatus.choices, default=CaseStatus.TRIAGE
    )
    place_text = models.CharField(_("place"), max_length=MAX_PLACE, blank=True)
    # False when no territory place could be found in what the reporters said.
    place_matched = models.BooleanField(_("place matched"), default=False)
    department = models.ForeignKey(
        "tickets.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("department"),
    )
    opened_at = models.DateTimeField(_("opened at"), default=clock.now)
    last_reported_at = models.DateTimeField(_("last reported at"), default=clock.now)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    # 0 where it was dispatched; each passed deadline moves it one level up.
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    reply = models.TextField(_("reply"), max_length=4000, blank=True)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    replied_by = models.CharField(max_length=150, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    ticket_count = models.PositiveIntegerField(_("tickets"), default=0)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            models.Index(fields=["area", "opened_at"]),
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["department", "status"]),
        ]

    def __str__(self) -> str:
        return self.number


class CaseKey(models.Model):
    """A place key (a compound's name, a road and number, a venue) under which a case can be
    found by a new report of the same clue; blocking for merging, not shown to anyone."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="keys")
    key = models.CharField(max_length=80)
    last_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "case"], name="one_case_key")]
        indexes = [models.Index(fields=["key", "last_at"])]

    def __str__(self) -> str:
        return self.key


class ClassifiedBy(models.TextChoices):
    MODEL = "model", _("Classifier")
    OPERATOR = "operator", _("Operator")


class Ticket(AreaScoped):
    """One report as it arrived through one channel. `channel_ref` is the channel's own
    reference number: the same reference twice is the same ticket."""

    number = models.CharField(_("ticket number"), max_length=24, unique=True)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    channel_ref = models.CharField(_("channel reference"), max_length=64)
    received_at = models.DateTimeField(_("received at"))
    text = models.TextField(_("text"), max_length=MAX_TEXT)
    place_text = models.CharField(_("place"), max_length=MAX_PLACE, blank=True)
    place_matched = models.BooleanField(_("place matched"), default=False)
    reporter_name = models.CharField(_("reporter"), max_length=50, blank=True)
    reporter_phone = models.CharField(_("phone"), max_length=20, blank=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
    )
    subclass = models.CharField(_("subclass"), max_length=3)
    confidence = models.FloatField(_("confidence"))
    classified_by = models.CharField(
        max_length=8, choices=ClassifiedBy.choices, default=ClassifiedBy.MODEL
    )
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="tickets")
    # How alike it was to the case it joined (None: it opened the case).
    merge_score = models.FloatField(null=True, blank=True)
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    rating_comment = models.CharField(_("comment"), max_length=500, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints = [
            models.UniqueConstraint(fields=["channel", "channel_ref"], name="one_ticket_per_ref")
        ]
        indexes = [
            models.Index(fields=["area", "received_at"]),
            models.Index(fields=["received_at"]),
            models.Index(fields=["case", "received_at"]),
        ]

    def __str__(self) -> str:
        return self.number


class TicketEventKind(models.TextChoices):
    RECEIVED = "received", _("Received")
    MERGED = "merged", _("Joined an open case")
    TRIAGED = "triaged", _("Classified by an operator")
    DISPATCHED = "dispatched", _("Dispatched")
    REMINDED = "reminded", _("Reminder sent")
    ESCALATED = "escalated", _("Escalated")
    ANSWERED = "answered", _("Answered")
    NOTIFIED = "notified", _("Reporter notified")
    RATED = "rated", _("Rated by the reporter")
    SPLIT = "split", _("Split into its own case")
    JOINED = "joined", _("Joined to a case by an operator")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")


class TicketEvent(AreaScoped):
    """One step in a case's history, shown in order on the case page."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(_("step"), max_length=12, choices=TicketEventKind.choices)
    at = models.DateTimeField(_("at"), default=clock.now)
    actor = models.CharField(_("by"), max_length=150, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("ticket history step")
        verbose_name_plural = _("ticket history")
        indexes = [models.Index(fields=["case", "at"])]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class Correction(AreaScoped):
    """An operator's subclass for a ticket the classifier got wrong or was unsure of: the
    training data `gridguard tickets train` learns from."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="corrections")
    text = models.TextField(max_length=MAX_TEXT)
    predicted = models.CharField(max_length=3)
    confidence = models.FloatField()
    corrected = models.CharField(max_length=3)
    corrected_by = models.CharField(max_length=150)
    corrected_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("classification correction")
        verbose_name_plural = _("classification corrections")

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.predicted}->{self.corrected}"
