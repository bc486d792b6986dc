"""Reads for pharmacies: purchases, outlets, stock and reservations, always scoped.

The one public read is `open_outlets`: which pharmacies take mask reservations and how many
masks they have left is what residents need to find them, so it is shown to any logged-in user
(no personal data in it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet

from gridguard.core import clock
from gridguard.core.errors import OutOfScope
from gridguard.core.scoping import SYSTEM, require_permission
from gridguard.health.models import (
    FeverMedicinePurchase,
    MaskOutlet,
    MaskQuotaDay,
    MaskReservation,
)
from gridguard.people.models import Person
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area


def purchases_visible_to(
    actor: Any, *, day: dt.date | None = None, pharmacy: Area | None = None
) -> QuerySet[FeverMedicinePurchase]:
    """Purchases registered at pharmacies the actor covers, newest first."""
    require_permission(actor, "pharmacy.view")
    qs = FeverMedicinePurchase.objects.visible_to(actor).select_related("area", "buyer")
    if pharmacy is not None:
        qs = qs.within(pharmacy)
    if day is not None:
        start = dt.datetime.combine(day, dt.time.min, tzinfo=clock.SHANGHAI)
        qs = qs.filter(bought_at__gte=start, bought_at__lt=start + dt.timedelta(days=1))
    return qs.order_by("-bought_at", "-pk")


def purchase_for(actor: Any, pk: int) -> FeverMedicinePurchase:
    """One purchase, or OutOfScope when the actor does not cover it."""
    require_permission(actor, "pharmacy.view")
    found = (
        FeverMedicinePurchase.objects.visible_to(actor)
        .select_related("area", "buyer")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise OutOfScope()
    return found


def pharmacies_for(actor: Any, permission: str) -> list[Area]:
    """The pharmacies where the actor holds `permission` (for the pharmacist's page)."""
    if not actor.can(permission):
        return []
    qs = Area.objects.filter(kind=AreaKind.PHARMACY).order_by("path")
    from gridguard.core.scoping import scope_q

    q = scope_q(actor, "path")
    if q is not None:
        qs = qs.filter(q)
    return [a for a in qs[:200] if actor.can_at(permission, a.path)]


def pharmacy_by_code(actor: Any, code: str, permission: str) -> Area:
    for area in pharmacies_for(actor, permission):
        if area.code == code:
            return area
    raise OutOfScope()


def outlets_visible_to(actor: Any) -> QuerySet[MaskOutlet]:
    """Outlets (active or not) in the actor's territory, for staff."""
    require_permission(actor, "pharmacy.view")
    return MaskOutlet.objects.visible_to(actor).select_related("area").order_by("area__path")


def outlet_for(actor: Any, pk: int) -> MaskOutlet:
    found = MaskOutlet.objects.visible_to(actor).select_related("area").filter(pk=pk).first()
    if found is None:
        raise OutOfScope()
    return found


def outlet_of(pharmacy: Area) -> MaskOutlet | None:
    return MaskOutlet.objects.filter(area=pharmacy).select_related("area").first()


def quota_days_visible_to(actor: Any, day: dt.date | None = None) -> QuerySet[MaskQuotaDay]:
    """Stock per outlet and day in the actor's territory."""
    require_permission(actor, "pharmacy.view")
    qs = MaskQuotaDay.objects.visible_to(actor).select_related("area")
    if day is not None:
        qs = qs.filter(day=day)
    return qs.order_by("day", "area__path")


def remaining(outlet: MaskOutlet, day: dt.date) -> int:
    """Masks still free at `outlet` on `day` (the daily quota when nobody reserved yet)."""
    stock = MaskQuotaDay.objects.filter(outlet=outlet, day=day).first()
    if stock is None:
        return int(outlet.daily_quota)
    return max(int(stock.quota) - int(stock.reserved), 0)


def open_outlets(day: dt.date | None = None) -> list[MaskOutlet]:
    """Active outlets with what is left on `day` (public: see the module's note)."""
    when = day or clock.today()
    outlets = list(
        MaskOutlet.objects.visible_to(SYSTEM)
        .filter(active=True)
        .select_related("area")
        .order_by("area__path")[:500]
    )
    stocks = {
        s.outlet_id: s
        for s in MaskQuotaDay.objects.visible_to(SYSTEM).filter(outlet__in=outlets, day=when)
    }
    for o in outlets:
        s = stocks.get(o.pk)
        o.remaining = (  # type: ignore[attr-defined]
            o.daily_quota if s is None else max(s.quota - s.reserved, 0)
        )
        o.day = when  # type: ignore[attr-defined]
    return outlets


def open_outlet(pk: int) -> MaskOutlet:
    found = (
        MaskOutlet.objects.visible_to(SYSTEM).filter(pk=pk, active=True).select_related("area")
    ).first()
    if found is None:
        raise OutOfScope()
    return found


def reservations_visible_to(actor: Any, *, day: dt.date | None = None) -> QuerySet[MaskReservation]:
    """Reservations at outlets the actor covers (staff)."""
    require_permission(actor, "pharmacy.view")
    qs = MaskReservation.objects.visible_to(actor).select_related("area", "person")
    if day is not None:
        qs = qs.filter(day=day)
    return qs.order_by("-reserved_at", "-pk")


def person_of(user: Any) -> Person | None:
    """The registry record linked to a logged-in resident, if any."""
    if user is None or not getattr(user, "pk", None):
        return None
    return Person.objects.visible_to(SYSTEM).filter(user_id=user.pk).first()


def own_reservations(user: Any) -> QuerySet[MaskReservation]:
    """A resident's own reservations (their person's), newest first."""
    person = person_of(user)
    if person is None:
        return MaskReservation.objects.none()
    return (
        MaskReservation.objects.visible_to(SYSTEM)
        .filter(person=person)
        .select_related("area")
        .order_by("-day", "-pk")
    )


def own_reservation(user: Any, code: str) -> MaskReservation:
    found = own_reservations(user).filter(code=code).first()
    if found is None:
        raise OutOfScope()
    return found
