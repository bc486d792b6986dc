"""Writes for the territory: areas, responsible persons, duty shifts. Each one transaction,
each audited, each refusing bad input with a message naming the field."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from gridguard.core import audit, clock
from gridguard.core.errors import FieldError, InvalidInput, NotPermitted
from gridguard.core.scoping import require_permission_at
from gridguard.territory.kinds import code_problem_field
from gridguard.territory.models import (
    RESPONSIBILITY_AREA_KINDS,
    Area,
    DutyPost,
    DutyShift,
    Responsibility,
    ResponsibilityKind,
)

PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
MAX_SHIFT = dt.timedelta(hours=24)


def validate_geojson_geometry(value: Any) -> str:
    """'' if `value` looks like a GeoJSON Polygon/MultiPolygon geometry, else the problem."""
    if value is None:
        return ""
    if not isinstance(value, dict) or value.get("type") not in {"Polygon", "MultiPolygon"}:
        return _("the boundary must be a GeoJSON Polygon or MultiPolygon geometry")
    coords = value.get("coordinates")
    if not isinstance(coords, list) or not coords:
        return _("the boundary has no coordinates")
    return ""


def create_area(
    actor: Any,
    *,
    code: str,
    name: str,
    kind: str,
    parent: Area | None,
    address: str = "",
    boundary: dict[str, Any] | None = None,
    **extra: Any,
) -> Area:
    """Add one area under `parent` (None only for a city)."""
    errors: list[FieldError] = []
    code, name = code.strip(), name.strip()
    if not name:
        errors.append(FieldError("name", "required", _("A name is required.")))
    field, problem = code_problem_field(
        kind, code, parent.kind if parent else None, parent.code if parent else None
    )
    if problem:
        errors.append(FieldError(field, "invalid", problem))
    if geo := validate_geojson_geometry(boundary):
        errors.append(FieldError("boundary", "invalid", geo))
    if Area.objects.filter(code=code).exists():
        errors.append(
            FieldError("code", "duplicate", _("Code %(code)s exists already.") % {"code": code})
        )
    if errors:
        raise InvalidInput(errors)
    if parent is not None:
        require_permission_at(actor, "territory.edit", parent)
    elif not actor.can_at("territory.edit", "/"):
        raise NotPermitted()
    with transaction.atomic():
        area = Area.objects.create(
            code=code,
            name=name,
            kind=kind,
            parent=parent,
            path=Area.path_for(parent, code),
            depth=(parent.depth + 1) if parent else 0,
            address=address,
            boundary=boundary,
            **extra,
        )
        audit.record(actor, "territory.area.create", area)
    return area


def update_area(actor: Any, area: Area, **changes: Any) -> Area:
    """Change an area's name, address, boundary, coordinates or counts (not its code)."""
    allowed = {
        "name",
        "address",
        "boundary",
        "latitude",
        "longitude",
        "households",
        "population",
        "active",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(
            [
                FieldError(f, "not_editable", _("This field cannot be changed here."))
                for f in sorted(unknown)
            ]
        )
    if "name" in changes and not str(changes["name"]).strip():
        raise InvalidInput.one("name", "required", _("A name is required."))
    if geo := validate_geojson_geometry(changes.get("boundary")):
        raise InvalidInput.one("boundary", "invalid", geo)
    require_permission_at(actor, "territory.edit", area)
    with transaction.atomic():
        for k, v in changes.items():
            setattr(area, k, v)
        area.save()
        audit.record(actor, "territory.area.update", area, detail={"fields": sorted(changes)})
    return area


def set_responsible(
    actor: Any,
    *,
    area: Area,
    kind: str,
    person_name: str,
    phone: str = "",
    user: Any = None,
    since: dt.date | None = None,
) -> Responsibility:
    """Name the person responsible for a unit; the previous holder's term ends the day before."""
    errors: list[FieldError] = []
    if kind not in ResponsibilityKind.values:
        errors.append(
            FieldError("kind", "unknown", _("Unknown responsibility “%(k)s”.") % {"k": kind})
        )
    elif area.kind not in RESPONSIBILITY_AREA_KINDS[kind]:
        errors.append(
            FieldError(
                "area",
                "wrong_kind",
                _("A %(resp)s is responsible for a %(want)s, not a %(got)s.")
                % {
                    "resp": ResponsibilityKind(kind).label,
                    "want": "/".join(sorted(RESPONSIBILITY_AREA_KINDS[kind])),
                    "got": area.kind,
                },
            )
        )
    if not person_name.strip():
        errors.append(FieldError("person_name", "required", _("A name is required.")))
    if phone and not PHONE_RE.match(phone):
        errors.append(
            FieldError("phone", "invalid", _("“%(p)s” is not a phone number.") % {"p": phone})
        )
    if errors:
        raise InvalidInput(errors)
    require_permission_at(actor, "responsibility.edit", area)
    start = since or clock.today()
    with transaction.atomic():
        current = Responsibility.objects.select_for_update().filter(
            area=area, kind=kind, until__isnull=True
        )
        for old in current:
            old.until = max(old.since, start - dt.timedelta(days=1))
            old.save(update_fields=["until"])
        row = Responsibility.objects.create(
            area=area,
            kind=kind,
            person_name=person_name.strip(),
            phone=phone,
            user=user,
            since=start,
        )
        audit.record(actor, "territory.responsibility.set", row, detail={"kind": kind})
    return row


def plan_shift(
    actor: Any,
    *,
    area: Area,
    user: Any,
    post: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    note: str = "",
) -> DutyShift:
    """Put a person on a gate or checkpoint shift."""
    from gridguard.territory.kinds import AreaKind

    errors: list[FieldError] = []
    if area.kind not in {AreaKind.GATE, AreaKind.CHECKPOINT}:
        errors.append(
            FieldError("area", "wrong_kind", _("Shifts are planned at gates and checkpoints."))
        )
    if post not in DutyPost.values:
        errors.append(FieldError("post", "unknown", _("Unknown post “%(p)s”.") % {"p": post}))
    if ends_at <= starts_at:
        errors.append(
            FieldError("ends_at", "before_start", _("The shift must end after it starts."))
        )
    elif ends_at - starts_at > MAX_SHIFT:
        errors.append(FieldError("ends_at", "too_long", _("A shift is at most 24 hours.")))
    if errors:
        raise InvalidInput(errors)
    require_permission_at(actor, "duty.plan", area)
    if not user.can_at("duty.clock", area.path):
        raise InvalidInput.one(
            "user", "not_on_duty_role", _("This person has no duty role at this place.")
        )
    with transaction.atomic():
        overlap = DutyShift.objects.filter(user=user, starts_at__lt=ends_at, ends_at__gt=starts_at)
        if overlap.exists():
            raise InvalidInput.one(
                "starts_at", "overlap", _("This person already has a shift then.")
            )
        shift = DutyShift.objects.create(
            area=area, user=user, post=post, starts_at=starts_at, ends_at=ends_at, note=note
        )
        audit.record(actor, "duty.plan", shift)
    return shift


# Clocking in is allowed from an hour before the shift; clocking out up to 6 hours after it.
EARLY = dt.timedelta(hours=1)
LATE = dt.timedelta(hours=6)


def clock_in(actor: Any, shift: DutyShift) -> DutyShift:
    """The person on the shift arrives (on their phone)."""
    now = clock.now()
    if shift.user_id != getattr(actor, "pk", None):
        raise NotPermitted(_("Only the person on the shift can clock in."))
    with transaction.atomic():
        shift = DutyShift.objects.select_for_update().get(pk=shift.pk)
        if shift.clocked_in_at is not None:
            raise InvalidInput.one("shift", "already_in", _("You have already clocked in."))
        if not (shift.starts_at - EARLY <= now <= shift.ends_at):
            raise InvalidInput.one("shift", "not_now", _("This shift is not on now."))
        shift.clocked_in_at = now
        shift.save(update_fields=["clocked_in_at"])
        audit.record(actor, "duty.clock_in", shift)
    return shift


def clock_out(actor: Any, shift: DutyShift) -> DutyShift:
    """The person on the shift leaves; hours served count from here."""
    now = clock.now()
    if shift.user_id != getattr(actor, "pk", None):
        raise NotPermitted(_("Only the person on the shift can clock out."))
    with transaction.atomic():
        shift = DutyShift.objects.select_for_update().get(pk=shift.pk)
        if shift.clocked_in_at is None:
            raise InvalidInput.one("shift", "not_in", _("You have not clocked in."))
        if shift.clocked_out_at is not None:
            raise InvalidInput.one("shift", "already_out", _("You have already clocked out."))
        shift.clocked_out_at = min(now, shift.ends_at + LATE)
        shift.save(update_fields=["clocked_out_at"])
        audit.record(actor, "duty.clock_out", shift)
    return shift
