"""Residents, travellers and households (P1): one person per identity document.

A person belongs to the place they live (a compound or building; the street or district while
their address is not matched yet), and is scoped by that area like every other record.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridguard.core import clock
from gridguard.core.scoping import AreaScoped, ScopedQuerySet


class IdType(models.TextChoices):
    """Identity documents: the mainland ID card and what foreigners and HK/Macao/TW residents
    carry instead."""

    RESIDENT_ID = "resident_id", _("Resident identity card")
    HK_MACAO_PERMIT = "hk_macao_permit", _("Mainland travel permit for Hong Kong and Macao")
    TAIWAN_PERMIT = "taiwan_permit", _("Mainland travel permit for Taiwan residents")
    PASSPORT = "passport", _("Passport")
    FOREIGN_PERMANENT = "foreign_permanent", _("Foreigner's permanent residence ID card")
    OTHER = "other", _("Other document")


class Sex(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")
    UNKNOWN = "unknown", _("Unknown")


class KeyCategory(models.TextChoices):
    """Categories of key persons (重点人员) the committees follow."""

    KEY_AREA_RETURNEE = "key_area_returnee", _("Returnee from a key area")
    HOME_OBSERVATION = "home_observation", _("In home observation")
    CLOSE_CONTACT = "close_contact", _("Close contact")
    FEVER = "fever", _("Fever reported")
    FEVER_MEDICINE = "fever_medicine", _("Bought fever medicine")
    SUSPECTED = "suspected", _("Suspected case")
    CONFIRMED = "confirmed", _("Confirmed case")
    ELDERLY_ALONE = "elderly_alone", _("Elderly living alone")
    DISABLED = "disabled", _("Person with a disability")


class Household(AreaScoped):
    """A household at a compound or building (户), with its room and address."""

    room = models.CharField(_("room"), max_length=40, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        indexes = [models.Index(fields=["area", "room"], name="household_area_room")]

    def __str__(self) -> str:
        return f"{self.address or self.area_id} {self.room}".strip()


class Person(AreaScoped):
    """One person per identity document (type + number). `area` is where they live."""

    id_type = models.CharField(
        _("document type"), max_length=20, choices=IdType.choices, default=IdType.RESIDENT_ID
    )
    id_number = models.CharField(_("document number"), max_length=32)
    name = models.CharField(_("name"), max_length=60)
    sex = models.CharField(_("sex"), max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    nationality = models.CharField(_("nationality"), max_length=3, default="CHN")
    phone = models.CharField(_("phone"), max_length=20, blank=True, db_index=True)
    household = models.ForeignKey(
        Household,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("household"),
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    # A resident who logs in to see their own code, pass and reservations.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="person",
    )
    # Set when this record was merged into another (the survivor); undone by unmerge.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
        verbose_name=_("merged into"),
    )
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        constraints = [
            models.UniqueConstraint(fields=["id_type", "id_number"], name="one_person_per_identity")
        ]
        indexes = [
            models.Index(fields=["name", "birth_date"], name="person_name_birth"),
        ]

    def __str__(self) -> str:
        return self.name


class KeyPersonFlagQuerySet(ScopedQuerySet["KeyPersonFlag"]):
    scope_lookup = "person__area__path"


class KeyPersonFlag(models.Model):
    """A person is in a key-person category from `since` (until `until`, when it ends)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="flags")
    category = models.CharField(_("category"), max_length=24, choices=KeyCategory.choices)
    since = models.DateTimeField(_("since"), default=clock.now)
    until = models.DateTimeField(_("until"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=60, blank=True)  # e.g. "registration:12"
    note = models.CharField(_("note"), max_length=255, blank=True)

    objects = models.Manager.from_queryset(KeyPersonFlagQuerySet)()

    class Meta:
        verbose_name = _("key-person flag")
        verbose_name_plural = _("key-person flags")
        indexes = [models.Index(fields=["person", "category"], name="flag_person_category")]

    def __str__(self) -> str:
        return f"{self.person_id} · {self.category}"


class DuplicateReason(models.TextChoices):
    NAME_AND_BIRTH = "name_birth", _("Same name and birth date")
    PHONE = "phone", _("Same phone")


class DuplicateStatus(models.TextChoices):
    OPEN = "open", _("Open")
    NOT_DUPLICATE = "not_duplicate", _("Not a duplicate")
    MERGED = "merged", _("Merged")


class DuplicatePairQuerySet(ScopedQuerySet["DuplicatePair"]):
    scope_lookup = "first__area__path"


class DuplicatePair(models.Model):
    """Two person records that may be the same person, for a worker to decide."""

    first = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=16, choices=DuplicateReason.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN
    )
    found_at = models.DateTimeField(default=clock.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = models.Manager.from_queryset(DuplicatePairQuerySet)()

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        constraints = [
            models.UniqueConstraint(
                fields=["first", "second", "reason"], name="one_pair_per_reason"
            )
        ]

    def __str__(self) -> str:
        return f"{self.first_id} ~ {self.second_id} ({self.reason})"


class PersonMergeQuerySet(ScopedQuerySet["PersonMerge"]):
    scope_lookup = "survivor__area__path"


class PersonMerge(models.Model):
    """A merge of `merged` into `survivor`, with what was moved, so it can be undone."""

    survivor = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    merged = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    pair = models.ForeignKey(
        DuplicatePair, on_delete=models.SET_NULL, null=True, blank=True, related_name="merges"
    )
    # {"app_label.model": {"field": [pk, ...]}}: the rows re-pointed from merged to survivor.
    moved = models.JSONField(default=dict)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    merged_at = models.DateTimeField(default=clock.now)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)

    objects = models.Manager.from_queryset(PersonMergeQuerySet)()

    class Meta:
        verbose_name = _("person merge")
        verbose_name_plural = _("person merges")

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.survivor_id}"
