"""Home observation (P3): start an order, notice and commitment, check-ins, alerts, release.

Slots. An order type's `slots` are Shanghai wall-clock times ("08:00", "14:00"). A report
belongs to the latest slot of its day that has started; a report made before the first slot
of the day counts as that day's first slot (people who take their temperature on waking are
not turned away). A slot is missed when nothing was reported for it by its deadline: the next
slot's start plus `grace_minutes`, or for the last slot of the day its own start plus
`grace_minutes`. Only slots that opened after the order was created are owed.

`sweep_missed` and `escalate_overdue` are set-based (a few SQL statements whatever the number
of orders); the daily counts are bumped with F() increments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from gridguard.core import audit, clock
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.core.scoping import covers
from gridguard.health.models import (
    AlertKind,
    CheckIn,
    CheckInSource,
    ObservationAlert,
    ObservationDailyCount,
    ObservationOrder,
    ObservationType,
    OrderStatus,
    TravellerRegistration,
)
from gridguard.health.services.followups import responsible_committee
from gridguard.people import services as people
from gridguard.people.models import KeyCategory, Person
from gridguard.people.signals import announce
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area

MIN_TEMPERATURE = Decimal("34.0")
MAX_TEMPERATURE = Decimal("42.5")
MAX_DAYS_AHEAD = 30
COUNT_FIELDS = ("started", "released", "fevers", "missed")


# --- slots -----------------------------------------------------------------------------------


def slot_times(kind: ObservationType) -> list[dt.time]:
    """The type's check-in times, sorted."""
    return sorted(dt.time.fromisoformat(s) for s in kind.slots)


def slot_for(kind: ObservationType, at: dt.datetime) -> tuple[dt.date, int]:
    """(day, slot index) a report made at `at` belongs to (see the module docstring)."""
    local = clock.local(at)
    index = 0
    for i, t in enumerate(slot_times(kind)):
        if t <= local.time():
            index = i
    return local.date(), index


def slot_start(kind: ObservationType, day: dt.date, index: int) -> dt.datetime:
    return dt.datetime.combine(day, slot_times(kind)[index], tzinfo=clock.SHANGHAI)


def slot_deadline(kind: ObservationType, day: dt.date, index: int) -> dt.datetime:
    """When slot `index` of `day` counts as missed."""
    times = slot_times(kind)
    grace = dt.timedelta(minutes=kind.grace_minutes)
    if index + 1 < len(times):
        return slot_start(kind, day, index + 1) + grace
    return slot_start(kind, day, index) + grace


def slot_key(day: dt.date, index: int) -> str:
    return f"{day.isoformat()}#{index}"


# --- helpers ---------------------------------------------------------------------------------


def _user(actor: Any) -> Any:
    """The actor as a user foreign key (None for the system and device tokens)."""
    from gridguard.accounts.models import User

    return actor if isinstance(actor, User) else None


def person_id_of(actor: Any) -> int | None:
    """The person record a logged-in resident is (None for everyone else)."""
    # A user without a person record raises RelatedObjectDoesNotExist, an AttributeError.
    person = getattr(actor, "person", None)
    return getattr(person, "pk", None)


def _require(actor: Any, area: Area, *permissions: str) -> None:
    """NotPermitted unless one of `permissions` is granted; OutOfScope unless it covers area."""
    if not any(actor.can(p) for p in permissions):
        raise NotPermitted()
    if not covers(actor, area.path) or not any(
        getattr(actor, "can_at", lambda *_: True)(p, area.path) for p in permissions
    ):
        raise OutOfScope()


def _required_text(field: str, value: str | None, message: str, limit: int = 255) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput.one(field, "required", message)
    if len(text) > limit:
        raise InvalidInput.one(
            field, "too_long", _("At most %(n)d characters, please.") % {"n": limit}
        )
    return text


def committees_of(area_ids: Iterable[int]) -> dict[int, int]:
    """area id → id of its responsible committee, in two queries for any number of areas."""
    areas = list(Area.objects.filter(pk__in=set(area_ids)).only("id", "path", "kind"))
    codes = {c for a in areas for c in a.codes}
    committees = dict(
        Area.objects.filter(
            code__in=codes, kind__in=[AreaKind.COMMITTEE, AreaKind.VILLAGE]
        ).values_list("code", "id")
    )
    result: dict[int, int] = {}
    for a in areas:
        found = a.pk
        for code in reversed(a.codes):
            if code in committees:
                found = committees[code]
                break
        result[a.pk] = found
    return result


def bump(committee_id: int, day: dt.date, field: str, n: int = 1) -> None:
    """Add `n` to one daily count of a committee (row created on first use)."""
    if n == 0:
        return
    row, _created = ObservationDailyCount.objects.get_or_create(area_id=committee_id, day=day)
    ObservationDailyCount.objects.filter(pk=row.pk).update(**{field: F(field) + n})


def _bump_order(order: ObservationOrder, field: str, day: dt.date | None = None) -> None:
    bump(responsible_committee(order.area).pk, day or clock.today(), field)


def _active(order: ObservationOrder) -> None:
    if order.status != OrderStatus.ACTIVE:
        raise InvalidInput.one("order", "inactive", _("This observation order is not active."))


def fresh(order: ObservationOrder) -> ObservationOrder:
    """The order as stored now (a caller's copy may be stale)."""
    return ObservationOrder.objects.select_related("order_type", "area", "person").get(pk=order.pk)


def _lock(order: ObservationOrder) -> ObservationOrder:
    return (
        ObservationOrder.objects.select_for_update()
        .select_related("order_type", "area")
        .get(pk=order.pk)
    )


# --- orders ----------------------------------------------------------------------------------


def start_order(
    actor: Any,
    person: Person,
    order_type_code: str,
    starts_on: dt.date | None,
    place_address: str,
    health_worker: Any = None,
    committee_worker: Any = None,
    reason: str = "",
    registration: TravellerRegistration | None = None,
) -> ObservationOrder:
    """Put `person` in home observation at their area from `starts_on` for the type's days."""
    _require(actor, person.area, "observation.manage")
    kind = ObservationType.objects.filter(code=order_type_code, active=True).first()
    if kind is None:
        raise InvalidInput.one("order_type", "invalid", _("Choose a kind of observation."))
    if starts_on is None:
        raise InvalidInput.one("starts_on", "required", _("Give the first day of observation."))
    today = clock.today()
    ends_on = starts_on + dt.timedelta(days=kind.days - 1)
    if ends_on < today:
        raise InvalidInput.one(
            "starts_on", "past", _("An observation starting then would already have ended.")
        )
    if starts_on > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput.one(
            "starts_on", "too_far", _("Start the observation within the next 30 days.")
        )
    place = _required_text(
        "place_address", place_address or person.address, _("Say where the person stays.")
    )
    reason = (reason or "").strip()[:255]
    for field, worker, perm in (
        ("health_worker", health_worker, "observation.manage"),
        ("committee_worker", committee_worker, "observation.manage"),
    ):
        if worker is not None and not worker.can_at(perm, person.area.path):
            raise InvalidInput.one(
                field, "invalid", _("This worker does not serve the person's area.")
            )
    duplicate = InvalidInput.one(
        "person", "active_order", _("This person is already in an active observation.")
    )
    if ObservationOrder.objects.filter(person=person, status=OrderStatus.ACTIVE).exists():
        raise duplicate
    try:
        with transaction.atomic():
            order = ObservationOrder.objects.create(
                person=person,
                order_type=kind,
                area=person.area,
                place_address=place,
                starts_on=starts_on,
                ends_on=ends_on,
                health_worker=health_worker,
                committee_worker=committee_worker,
                registration=registration,
                reason=reason,
                created_by=_user(actor),
            )
            people.add_flag(
                actor,
                person,
                KeyCategory.HOME_OBSERVATION,
                source=f"observation:{order.pk}",
                note=reason,
            )
            _bump_order(order, "started")
            audit.record(
                actor,
                "observation.start",
                order,
                detail={"type": kind.code, "starts_on": str(starts_on), "ends_on": str(ends_on)},
            )
            announce(Person, person.pk)
    except IntegrityError:
        raise duplicate from None
    return order


def serve_notice(actor: Any, order: ObservationOrder) -> ObservationOrder:
    """Record that the written notice was handed to the person (once)."""
    _require(actor, order.area, "observation.manage")
    with transaction.atomic():
        order = _lock(order)
        _active(order)
        if order.notice_served_at is not None:
            raise InvalidInput.one("notice", "already", _("The notice was already served."))
        order.notice_served_at = clock.now()
        order.notice_served_by = _user(actor)
        order.save(update_fields=["notice_served_at", "notice_served_by"])
        audit.record(actor, "observation.notice", order)
    return order


def record_commitment(
    actor: Any, order: ObservationOrder, signed_at: dt.datetime | None = None
) -> ObservationOrder:
    """Record that the person signed the commitment (once, after the notice)."""
    _require(actor, order.area, "observation.manage")
    with transaction.atomic():
        order = _lock(order)
        _active(order)
        if order.notice_served_at is None:
            raise InvalidInput.one("notice", "required", _("Serve the notice first."))
        if order.commitment_signed_at is not None:
            raise InvalidInput.one(
                "commitment", "already", _("The commitment was already recorded.")
            )
        when = signed_at or clock.now()
        if when > clock.now():
            raise InvalidInput.one("signed_at", "future", _("That time is in the future."))
        order.commitment_signed_at = when
        order.commitment_recorded_by = _user(actor)
        order.save(update_fields=["commitment_signed_at", "commitment_recorded_by"])
        audit.record(actor, "observation.commitment", order)
    return order


def release(
    actor: Any, order: ObservationOrder, note: str, *, early: bool = False, reason: str = ""
) -> ObservationOrder:
    """End the observation: on or after `ends_on`, or earlier with `early=True` and a reason."""
    _require(actor, order.area, "observation.manage")
    note = _required_text("note", note, _("Say how the observation ended."))
    reason = (reason or "").strip()
    with transaction.atomic():
        order = _lock(order)
        _active(order)
        if clock.today() < order.ends_on:
            if not early:
                raise InvalidInput.one(
                    "ends_on",
                    "too_early",
                    _("The observation runs until %(day)s; release early only with a reason.")
                    % {"day": order.ends_on.isoformat()},
                )
            if not reason:
                raise InvalidInput.one(
                    "reason", "required", _("Give the reason for an early release.")
                )
        order.status = OrderStatus.RELEASED
        order.released_at = clock.now()
        order.released_by = _user(actor)
        order.release_note = (f"{note} — {reason}" if reason else note)[:255]
        order.save(update_fields=["status", "released_at", "released_by", "release_note"])
        people.end_flag(actor, order.person, KeyCategory.HOME_OBSERVATION)
        _bump_order(order, "released")
        audit.record(actor, "observation.release", order, detail={"early": bool(early and reason)})
        announce(Person, order.person_id)
    return order


# --- check-ins -------------------------------------------------------------------------------


def parse_temperature(value: Any) -> Decimal:
    """A temperature in °C between 34.0 and 42.5, to one decimal; InvalidInput otherwise."""
    try:
        raw = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raw = Decimal("NaN")
    if not raw.is_finite():
        raise InvalidInput.one("temperature", "invalid", _("Enter a temperature such as 36.5."))
    if raw < MIN_TEMPERATURE or raw > MAX_TEMPERATURE:
        raise InvalidInput.one(
            "temperature",
            "out_of_range",
            _("A body temperature is between 34.0 and 42.5 °C; check the reading."),
        )
    return raw.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _symptoms(values: Iterable[str]) -> list[str]:
    items = [str(s).strip() for s in values if str(s).strip()]
    if len(items) > 10 or any(len(s) > 40 for s in items):
        raise InvalidInput.one("symptoms", "invalid", _("At most 10 short symptoms, please."))
    return items


def _may_check_in(actor: Any, order: ObservationOrder, source: str) -> None:
    if source == CheckInSource.SELF and person_id_of(actor) == order.person_id:
        return
    if source == CheckInSource.DEVICE:
        _require(actor, order.area, "observation.device_checkin", "observation.checkin")
    else:
        _require(actor, order.area, "observation.checkin")


def check_in(
    actor: Any,
    order: ObservationOrder,
    temperature: Any,
    source: str,
    at: dt.datetime | None = None,
    symptoms: Iterable[str] = (),
    *,
    device: str = "",
    note: str = "",
    repeat_ok: bool = False,
) -> CheckIn:
    """Record one temperature for the slot `at` falls in. With `repeat_ok`, the same reading
    from the same device for an already reported slot returns the existing check-in."""
    if source not in CheckInSource.values:
        raise InvalidInput.one("source", "invalid", _("Unknown source of the reading."))
    _may_check_in(actor, order, source)
    order = fresh(order)
    value = parse_temperature(temperature)
    items = _symptoms(symptoms)
    now = clock.now()
    when = at or now
    if when.tzinfo is None:
        raise InvalidInput.one("at", "invalid", _("Give the time with its time zone."))
    if when > now + dt.timedelta(minutes=5):
        raise InvalidInput.one("at", "future", _("That time is in the future."))
    _active(order)
    kind = order.order_type
    day, index = slot_for(kind, when)
    if not order.starts_on <= day <= order.ends_on:
        raise InvalidInput.one("at", "outside", _("That day is outside the observation period."))
    duplicate = InvalidInput.one("slot", "duplicate", _("This check-in time was already reported."))
    existing = CheckIn.objects.filter(order=order, slot_date=day, slot_index=index).first()
    if existing is not None:
        if repeat_ok and existing.temperature == value and existing.device == device:
            return existing
        raise duplicate
    try:
        with transaction.atomic():
            row = CheckIn.objects.create(
                order=order,
                area=order.area,
                slot_date=day,
                slot_index=index,
                temperature=value,
                symptoms=items,
                source=source,
                recorded_by=_user(actor),
                device=(device or "")[:40],
                note=(note or "").strip()[:255],
                reported_at=when,
            )
            audit.record(
                actor,
                "observation.checkin",
                row,
                detail={"slot": slot_key(day, index), "temperature": str(value), "source": source},
            )
            if value >= kind.fever_threshold:
                _raise_fever(actor, order, day, index, value)
    except IntegrityError:
        raise duplicate from None
    return row


def _raise_fever(
    actor: Any, order: ObservationOrder, day: dt.date, index: int, value: Decimal
) -> None:
    alert = ObservationAlert.objects.create(
        order=order,
        area=order.area,
        kind=AlertKind.FEVER,
        slot_key=slot_key(day, index),
        temperature=value,
        detail=_("Temperature %(t)s °C") % {"t": value},
        raised_by=_user(actor),
    )
    people.add_flag(actor, order.person, KeyCategory.FEVER, source=f"observation:{order.pk}")
    _bump_order(order, "fevers", day)
    audit.record(actor, "observation.alert", alert, detail={"kind": "fever"})
    announce(Person, order.person_id)


# --- alerts ----------------------------------------------------------------------------------


def report_breach(actor: Any, order: ObservationOrder, detail: str) -> ObservationAlert:
    """Someone saw the person leave the place of observation: raise a breach alert."""
    _require(actor, order.area, "observation.checkin", "observation.manage")
    text = _required_text("detail", detail, _("Say what was seen."))
    order = fresh(order)
    _active(order)
    with transaction.atomic():
        alert = ObservationAlert.objects.create(
            order=order,
            area=order.area,
            kind=AlertKind.BREACH,
            slot_key="",
            detail=text,
            raised_by=_user(actor),
        )
        audit.record(actor, "observation.alert", alert, detail={"kind": "breach"})
        announce(Person, order.person_id)
    return alert


def acknowledge(actor: Any, alert: ObservationAlert, note: str) -> ObservationAlert:
    """Someone took the alert in hand and says what was done."""
    _require(actor, alert.area, "observation.alerts")
    text = _required_text("note", note, _("Say what was done about the alert."))
    with transaction.atomic():
        alert = ObservationAlert.objects.select_for_update().get(pk=alert.pk)
        if alert.acknowledged_at is not None:
            raise InvalidInput.one(
                "alert", "acknowledged", _("This alert was already acknowledged.")
            )
        alert.acknowledged_at = clock.now()
        alert.acknowledged_by = _user(actor)
        alert.ack_note = text
        alert.save(update_fields=["acknowledged_at", "acknowledged_by", "ack_note"])
        audit.record(actor, "observation.ack", alert, detail={"level": alert.level})
    return alert
