"""The territory tree (T1), responsibility (T2) and duty rosters (T3)."""

from __future__ import annotations

import datetime as dt
from typing import Self

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridguard.core.scoping import AreaScoped, ScopedQuerySet
from gridguard.territory.kinds import AreaKind


class AreaQuerySet(ScopedQuerySet["Area"]):
    scope_lookup = "path"

    def subtree(self, area: Area) -> Self:
        return self.filter(path__startswith=area.path)


class Area(models.Model):
    """A node of the territory tree: an administrative level or a place (compound, gate, …).

    `path` is the chain of codes from the city down ("/3101/310106/310106001/"), so a subtree
    is one indexed prefix match.
    """

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=AreaKind.choices, db_index=True)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    path = models.CharField(max_length=400, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    address = models.CharField(_("address"), max_length=255, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    boundary = models.JSONField(_("boundary (GeoJSON geometry)"), null=True, blank=True)
    households = models.PositiveIntegerField(_("households"), null=True, blank=True)
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = models.Manager.from_queryset(AreaQuerySet)()

    class Meta:
        ordering = ["path"]
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        indexes = [models.Index(fields=["kind", "path"], name="area_kind_path")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def codes(self) -> list[str]:
        """The codes from the city down to this area."""
        return [c for c in self.path.split("/") if c]

    @staticmethod
    def path_for(parent: Area | None, code: str) -> str:
        return (parent.path if parent else "/") + code + "/"

    @staticmethod
    def paths_above(path: str) -> list[str]:
        """The path itself and the path of every area above it, nearest first."""
        parts = [p for p in path.split("/") if p]
        return ["/" + "/".join(parts[:n]) + "/" for n in range(len(parts), 0, -1)]


class GridCell(AreaScoped):
    """A grid cell (网格): a patch of a committee or street, the places in it, its workers."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    places = models.ManyToManyField(Area, blank=True, related_name="grid_cells")
    workers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="grid_cells"
    )
    boundary = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("grid cell")
        verbose_name_plural = _("grid cells")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class ResponsibilityKind(models.TextChoices):
    # The five contracted units (五个包干)
    CONTRACT_BLOCK = "contract_block", _("Street block contractor (街区包干)")
    CONTRACT_OFFICE_BUILDING = (
        "contract_office_building",
        _("Office building contractor (楼宇包干)"),
    )
    CONTRACT_BUILDING_GROUP = "contract_building_group", _("Building group contractor (楼组包干)")
    CONTRACT_VILLAGE_GROUP = "contract_village_group", _("Village group contractor (村组包干)")
    CONTRACT_MARKET = "contract_market", _("Market contractor (市场包干)")
    # The three chiefs (三长联动)
    GATE_CHIEF = "gate_chief", _("Gate chief (门长)")
    ROAD_CHIEF = "road_chief", _("Road chief (路长)")
    BUILDING_CHIEF = "building_chief", _("Building chief (楼长)")
    # City leaders paired with districts
    CITY_LEADER = "city_leader", _("City leader paired with the district")


# Which kind of unit each responsibility belongs to.
RESPONSIBILITY_AREA_KINDS: dict[str, set[str]] = {
    ResponsibilityKind.CONTRACT_BLOCK: {AreaKind.BLOCK},
    ResponsibilityKind.CONTRACT_OFFICE_BUILDING: {AreaKind.OFFICE_BUILDING},
    ResponsibilityKind.CONTRACT_BUILDING_GROUP: {AreaKind.BUILDING_GROUP, AreaKind.BUILDING},
    ResponsibilityKind.CONTRACT_VILLAGE_GROUP: {AreaKind.VILLAGE_GROUP},
    ResponsibilityKind.CONTRACT_MARKET: {AreaKind.MARKET},
    ResponsibilityKind.GATE_CHIEF: {AreaKind.GATE},
    ResponsibilityKind.ROAD_CHIEF: {AreaKind.ROAD},
    ResponsibilityKind.BUILDING_CHIEF: {AreaKind.BUILDING},
    ResponsibilityKind.CITY_LEADER: {AreaKind.DISTRICT},
}


class Responsibility(AreaScoped):
    """A named person responsible for a unit (门长, 楼长, 包干 …)."""

    kind = models.CharField(_("responsibility"), max_length=32, choices=ResponsibilityKind.choices)
    person_name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    since = models.DateField(_("since"))
    until = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        ordering = ["area__path", "kind"]
        verbose_name = _("responsible person")
        verbose_name_plural = _("responsible persons")
        constraints = [
            # One current holder per unit and kind; a handover ends the old row first.
            models.UniqueConstraint(
                fields=["area", "kind"],
                condition=models.Q(until__isnull=True),
                name="one_current_responsible_per_unit",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.person_name}"


class DutyPost(models.TextChoices):
    OFFICIAL = "official", _("Official")
    VOLUNTEER = "volunteer", _("Volunteer")
    POLICE = "police", _("Police")
    MEDICAL = "medical", _("Medical staff")


class DutyShiftQuerySet(ScopedQuerySet["DutyShift"]):
    def served(self) -> Self:
        return self.filter(clocked_in_at__isnull=False, clocked_out_at__isnull=False)


class DutyShift(AreaScoped):
    """One planned shift at a gate or checkpoint, and when the person really clocked in/out."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="duty_shifts"
    )
    post = models.CharField(_("post"), max_length=16, choices=DutyPost.choices)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    clocked_in_at = models.DateTimeField(null=True, blank=True)
    clocked_out_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = models.Manager.from_queryset(DutyShiftQuerySet)()  # type: ignore[misc]

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("duty shift")
        verbose_name_plural = _("duty shifts")
        indexes = [models.Index(fields=["user", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="shift_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.area_id} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def served(self) -> dt.timedelta:
        """Time actually served (zero until clocked out)."""
        if self.clocked_in_at and self.clocked_out_at:
            return self.clocked_out_at - self.clocked_in_at
        return dt.timedelta(0)
