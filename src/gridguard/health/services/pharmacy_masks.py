"""Mask outlets and reservations (P6).

Masks are never oversold: stock is taken with one guarded UPDATE (`reserved <= quota - q`,
checking the row count), and a person's limit is checked under a lock on their Person row, so
concurrent requests cannot both pass either check. Each write is one transaction, audited.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.db.models import F, Sum, Value
from django.db.models.functions import Greatest
from django.utils.translation import gettext as _

from gridguard.core import audit, clock
from gridguard.core.errors import FieldError, InvalidInput, NotPermitted, OutOfScope
from gridguard.core.scoping import SYSTEM, covers
from gridguard.health.models import MaskOutlet, MaskQuotaDay, MaskReservation, ReservationStatus
from gridguard.health.services.pharmacy_checks import check_key, check_pharmacy, parse_int, require
from gridguard.people.models import Person
from gridguard.territory.models import Area

# How far ahead a resident may reserve.
RESERVE_AHEAD_DAYS = 7
# Pickup codes: 8 characters from an alphabet without look-alikes (0/O, 1/I/L): 31**8 ≈ 10^12.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


def set_outlet(
    actor: Any,
    pharmacy_area: Area,
    *,
    daily_quota: Any,
    per_person_limit: Any = 5,
    period_days: Any = 7,
    active: bool = True,
) -> MaskOutlet:
    """Create or change a pharmacy's mask outlet. A new daily quota applies from today on
    (a day never drops below what is already reserved)."""
    check_pharmacy(pharmacy_area)
    require(actor, "masks.manage", pharmacy_area)
    errors: list[FieldError] = []
    quota, bad = parse_int(
        daily_quota, "daily_quota", 0, 100_000, _("Enter a daily quota from 0 to 100000.")
    )
    errors += bad
    limit, bad = parse_int(
        per_person_limit, "per_person_limit", 1, 1000, _("Enter a limit from 1 to 1000.")
    )
    errors += bad
    period, bad = parse_int(
        period_days, "period_days", 1, 90, _("Enter a period from 1 to 90 days.")
    )
    errors += bad
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        outlet, created = MaskOutlet.objects.select_for_update().get_or_create(
            area=pharmacy_area,
            defaults={
                "daily_quota": quota,
                "per_person_limit": limit,
                "period_days": period,
                "active": bool(active),
            },
        )
        if not created:
            outlet.daily_quota, outlet.per_person_limit = quota, limit
            outlet.period_days, outlet.active = period, bool(active)
            outlet.save(update_fields=["daily_quota", "per_person_limit", "period_days", "active"])
        MaskQuotaDay.objects.filter(outlet=outlet, day__gte=clock.today()).update(
            quota=Greatest(F("reserved"), Value(quota))
        )
        audit.record(
            actor,
            "masks.outlet.create" if created else "masks.outlet.update",
            outlet,
            detail={"daily_quota": quota, "limit": limit, "period": period, "active": bool(active)},
        )
        return outlet


def open_day(outlet: MaskOutlet, day: dt.date) -> MaskQuotaDay:
    """The outlet's stock for `day`, created with the outlet's daily quota the first time."""
    found = MaskQuotaDay.objects.filter(outlet=outlet, day=day).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return MaskQuotaDay.objects.create(
                outlet=outlet, area_id=outlet.area_id, day=day, quota=outlet.daily_quota
            )
    except IntegrityError:
        return MaskQuotaDay.objects.get(outlet=outlet, day=day)


def new_code() -> str:
    """A short, unguessable pickup code (uniqueness is enforced by the database)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _acts_for(actor: Any, person: Person, outlet: MaskOutlet) -> bool:
    """A resident acts for themself; the outlet's staff (and the system) for anyone."""
    if actor is SYSTEM:
        return True
    try:
        own = getattr(actor, "person", None)
    except ObjectDoesNotExist:
        own = None
    if own is not None and own.pk == person.pk:
        return True
    can_at = getattr(actor, "can_at", None)
    return bool(callable(can_at) and can_at("masks.manage", outlet.area.path))


def _free_code() -> str:
    """A new code not in use (a collision is about one in 10^12 per code in use)."""
    code = new_code()
    while MaskReservation.objects.filter(code=code).exists():
        code = new_code()
    return code


def person_used(person: Person, day: dt.date, period_days: int) -> int:
    """Masks this person holds (reserved or collected) within `period_days` of `day`."""
    span = dt.timedelta(days=period_days - 1)
    total = MaskReservation.objects.filter(
        person=person,
        day__gte=day - span,
        day__lte=day + span,
        status__in=(ReservationStatus.RESERVED, ReservationStatus.PICKED_UP),
    ).aggregate(n=Sum("quantity"))["n"]
    return int(total or 0)


def reserve_masks(
    actor: Any,
    person: Person,
    outlet: MaskOutlet,
    day: dt.date,
    quantity: Any,
    submission_key: str,
) -> MaskReservation:
    """Reserve masks for `person` at `outlet` on `day`; returns the reservation with its code.

    Refuses (InvalidInput) a closed outlet, a day in the past or too far ahead, more than the
    person's limit in the outlet's period ("limit") and more than is left ("sold_out").
    """
    if not _acts_for(actor, person, outlet):
        raise NotPermitted(_("You can reserve masks only for yourself."))
    key = check_key(submission_key)
    existing = MaskReservation.objects.filter(submission_key=key).first()
    if existing is not None:
        return _same_person(existing, person)
    q, bad = parse_int(
        quantity,
        "quantity",
        1,
        outlet.per_person_limit,
        _("Enter a quantity from 1 to %(n)s.") % {"n": outlet.per_person_limit},
    )
    if bad:
        raise InvalidInput(bad)
    if not outlet.active:
        raise InvalidInput.one("outlet", "closed", _("This pharmacy is not taking reservations."))
    today = clock.today()
    if not isinstance(day, dt.date) or day < today:
        raise InvalidInput.one("day", "past", _("Choose today or a later day."))
    if day > today + dt.timedelta(days=RESERVE_AHEAD_DAYS):
        raise InvalidInput.one(
            "day",
            "too_far",
            _("Reservations open %(n)s days ahead.") % {"n": RESERVE_AHEAD_DAYS},
        )
    try:
        return _reserve(actor, person, outlet, day, q, key)
    except IntegrityError:
        # The same submission, saved by a concurrent request a moment ago.
        existing = MaskReservation.objects.filter(submission_key=key).first()
        if existing is None:
            raise
        return _same_person(existing, person)


def _same_person(reservation: MaskReservation, person: Person) -> MaskReservation:
    if reservation.person_id != person.pk:
        raise InvalidInput.one(
            "submission_key", "reused", _("This submission key belongs to another reservation.")
        )
    return reservation


def _reserve(
    actor: Any, person: Person, outlet: MaskOutlet, day: dt.date, q: int, key: str
) -> MaskReservation:
    with transaction.atomic():
        # One person's reservations queue here, so two at once cannot both pass the limit.
        Person.objects.select_for_update().filter(pk=person.pk).first()
        # The same submission may have been saved while this one waited for the lock.
        done = MaskReservation.objects.filter(submission_key=key).first()
        if done is not None:
            return _same_person(done, person)
        used = person_used(person, day, outlet.period_days)
        if used + q > outlet.per_person_limit:
            left = max(outlet.per_person_limit - used, 0)
            raise InvalidInput.one(
                "quantity",
                "limit",
                _("You may reserve %(limit)s masks in %(days)s days; %(left)s left for you.")
                % {"limit": outlet.per_person_limit, "days": outlet.period_days, "left": left},
            )
        stock = open_day(outlet, day)
        taken = MaskQuotaDay.objects.filter(pk=stock.pk, reserved__lte=F("quota") - q).update(
            reserved=F("reserved") + q
        )
        if taken != 1:
            stock.refresh_from_db(fields=["quota", "reserved"])
            left = max(stock.quota - stock.reserved, 0)
            raise InvalidInput.one(
                "quantity",
                "sold_out",
                _("Sold out: %(left)s masks left for that day.") % {"left": left}
                if left
                else _("Sold out for that day."),
            )
        reservation = MaskReservation(
            outlet=outlet,
            area_id=outlet.area_id,
            person=person,
            day=day,
            quantity=q,
            code=_free_code(),
            submission_key=key,
        )
        with transaction.atomic():
            reservation.save(force_insert=True)
        audit.record(
            actor, "masks.reserve", reservation, detail={"quantity": q, "day": day.isoformat()}
        )
        return reservation


def normalise_code(code: Any) -> str:
    return str(code or "").strip().upper().replace(" ", "").replace("-", "")


def pickup(actor: Any, code: str) -> MaskReservation:
    """Hand over a reservation's masks (the outlet's pharmacist, on its day, once)."""
    if not actor.can("masks.pickup"):
        raise NotPermitted()
    code = normalise_code(code)
    not_found = InvalidInput.one("code", "not_found", _("No reservation has this code here."))
    if not code or len(code) > 12:
        raise not_found
    with transaction.atomic():
        reservation = (
            MaskReservation.objects.visible_to(actor)
            .select_for_update()
            .filter(code=code)
            .select_related("area")
            .first()
        )
        if reservation is None or not actor.can_at("masks.pickup", reservation.area.path):
            raise not_found
        if reservation.status == ReservationStatus.PICKED_UP:
            raise InvalidInput.one("code", "picked_up", _("These masks were already collected."))
        if reservation.status == ReservationStatus.CANCELLED:
            raise InvalidInput.one("code", "cancelled", _("This reservation was cancelled."))
        if reservation.status == ReservationStatus.EXPIRED:
            raise InvalidInput.one("code", "expired", _("This reservation has expired."))
        if reservation.day != clock.today():
            raise InvalidInput.one(
                "code",
                "wrong_day",
                _("This reservation is for %(day)s.") % {"day": reservation.day.isoformat()},
            )
        reservation.status = ReservationStatus.PICKED_UP
        reservation.picked_up_at = clock.now()
        reservation.picked_up_by = actor if getattr(actor, "pk", None) else None
        reservation.save(update_fields=["status", "picked_up_at", "picked_up_by"])
        MaskQuotaDay.objects.filter(outlet_id=reservation.outlet_id, day=reservation.day).update(
            picked_up=F("picked_up") + reservation.quantity
        )
        audit.record(actor, "masks.pickup", reservation, detail={"quantity": reservation.quantity})
        return reservation


def cancel(actor: Any, reservation: MaskReservation) -> MaskReservation:
    """Cancel a reservation that is not collected yet; its masks go back on sale."""
    if not _acts_for(actor, reservation.person, reservation.outlet):
        if covers(actor, reservation.area.path):
            raise NotPermitted()
        raise OutOfScope()
    with transaction.atomic():
        locked = MaskReservation.objects.select_for_update().get(pk=reservation.pk)
        if locked.status != ReservationStatus.RESERVED:
            raise InvalidInput.one(
                "status",
                "not_reserved",
                _("Only a reservation not yet collected can be cancelled."),
            )
        locked.status = ReservationStatus.CANCELLED
        locked.save(update_fields=["status"])
        MaskQuotaDay.objects.filter(outlet_id=locked.outlet_id, day=locked.day).update(
            reserved=F("reserved") - locked.quantity
        )
        audit.record(actor, "masks.cancel", locked, detail={"quantity": locked.quantity})
        return locked


def expire_uncollected(day: dt.date, actor: Any = SYSTEM) -> int:
    """Mark reservations for `day` and earlier that nobody collected as expired and give their
    masks back to those days' stock (set-based); returns how many expired."""
    with transaction.atomic():
        rows = list(
            MaskReservation.objects.select_for_update()
            .filter(status=ReservationStatus.RESERVED, day__lte=day)
            .values_list("pk", "outlet_id", "day", "quantity")
        )
        if not rows:
            return 0
        MaskReservation.objects.filter(pk__in=[r[0] for r in rows]).update(
            status=ReservationStatus.EXPIRED
        )
        returned: dict[tuple[int, dt.date], int] = defaultdict(int)
        for _pk, outlet_id, d, q in rows:
            returned[(outlet_id, d)] += q
        for (outlet_id, d), q in returned.items():
            MaskQuotaDay.objects.filter(outlet_id=outlet_id, day=d).update(
                reserved=Greatest(F("reserved") - q, Value(0))
            )
        audit.record(
            actor,
            "masks.expire",
            None,
            detail={"through": day.isoformat(), "count": len(rows)},
            object_type="health.maskreservation",
        )
        return len(rows)
