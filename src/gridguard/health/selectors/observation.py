"""Reads of observation orders, check-ins, alerts and errands, always scoped to the reader."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet

from gridguard.accounts.models import RoleBinding, User
from gridguard.accounts.roles import roles_with
from gridguard.core import clock
from gridguard.core.errors import NotPermitted, OutOfScope
from gridguard.core.scoping import ScopedQuerySet, require_permission
from gridguard.health.models import (
    CheckIn,
    Errand,
    ErrandStatus,
    ObservationAlert,
    ObservationOrder,
    ObservationType,
    OrderStatus,
)
from gridguard.health.services.observation import slot_for, slot_key, slot_start, slot_times
from gridguard.people.models import Person
from gridguard.territory.models import Area


def orders_visible_to(
    actor: Any, *, status: str | None = None, area_code: str | None = None, q: str = ""
) -> ScopedQuerySet[ObservationOrder]:
    """Orders in the reader's territory, newest first, optionally by status, area or an exact
    identity number."""
    require_permission(actor, "observation.view")
    qs = ObservationOrder.objects.visible_to(actor).select_related("person", "order_type", "area")
    if status:
        qs = qs.filter(status=status)
    if area_code:
        area = Area.objects.filter(code=area_code).first()
        qs = qs.within(area) if area is not None else qs.none()
    q = (q or "").strip()
    if q:
        qs = qs.filter(person__id_number=q.upper())
    return qs.order_by("-starts_on", "-id")


def order_for(actor: Any, pk: int) -> ObservationOrder:
    """One order the reader may see (OutOfScope, i.e. 404, for any other)."""
    require_permission(actor, "observation.view")
    order = (
        ObservationOrder.objects.visible_to(actor)
        .select_related("person", "order_type", "area", "health_worker", "committee_worker")
        .filter(pk=pk)
        .first()
    )
    if order is None:
        raise OutOfScope()
    return order


def order_by_id_number(actor: Any, id_number: str) -> ObservationOrder:
    """The active order of the person with this identity number, inside the actor's area."""
    order = (
        ObservationOrder.objects.visible_to(actor)
        .select_related("order_type", "area", "person")
        .filter(status=OrderStatus.ACTIVE, person__id_number=(id_number or "").strip().upper())
        .first()
    )
    if order is None:
        raise OutOfScope()
    return order


def checkin_order(actor: Any, pk: int) -> ObservationOrder:
    """An order a device or a worker reports for (scope only; the service checks the rest)."""
    order = (
        ObservationOrder.objects.visible_to(actor)
        .select_related("order_type", "area", "person")
        .filter(pk=pk)
        .first()
    )
    if order is None:
        raise OutOfScope()
    return order


def own_order(person_id: int | None) -> ObservationOrder | None:
    """A resident's current order (active first, else the latest)."""
    if person_id is None:
        return None
    mine = ObservationOrder.objects.filter(person_id=person_id).select_related(
        "order_type", "area", "person"
    )
    active = mine.filter(status=OrderStatus.ACTIVE).first()
    return active or mine.order_by("-starts_on", "-id").first()


def checkins_of(order: ObservationOrder) -> QuerySet[CheckIn]:
    return order.checkins.order_by("slot_date", "slot_index")


def alerts_of(order: ObservationOrder) -> QuerySet[ObservationAlert]:
    return order.alerts.order_by("-raised_at")


def errands_of(order: ObservationOrder) -> QuerySet[Errand]:
    return order.errands.select_related("volunteer").order_by("-requested_at")


def alerts_visible_to(
    actor: Any, *, open_only: bool = True, kind: str | None = None
) -> ScopedQuerySet[ObservationAlert]:
    """Alerts in the reader's territory, highest level and oldest first."""
    require_permission(actor, "observation.view")
    qs = ObservationAlert.objects.visible_to(actor).select_related("order__person", "area")
    if open_only:
        qs = qs.filter(acknowledged_at__isnull=True)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-level", "raised_at", "id")


def alert_for(actor: Any, pk: int) -> ObservationAlert:
    require_permission(actor, "observation.view")
    alert = ObservationAlert.objects.visible_to(actor).select_related("area").filter(pk=pk).first()
    if alert is None:
        raise OutOfScope()
    return alert


def errands_visible_to(actor: Any, *, status: str | None = None) -> ScopedQuerySet[Errand]:
    """Errands in the reader's territory (open ones first)."""
    if not (
        actor.can("errands.manage") or actor.can("errands.run") or actor.can("observation.view")
    ):
        raise NotPermitted()
    qs = Errand.objects.visible_to(actor).select_related("order__person", "volunteer", "area")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("status", "-requested_at", "-id")


def errand_for(actor: Any, pk: int) -> Errand:
    errand = Errand.objects.visible_to(actor).select_related("area").filter(pk=pk).first()
    if errand is None:
        raise OutOfScope()
    return errand


def own_errands(order: ObservationOrder) -> QuerySet[Errand]:
    return order.errands.order_by("-requested_at")[:20]


def volunteers_for(area: Area, permission: str = "errands.run") -> QuerySet[User]:
    """Users whose role grants `permission` in `area` (bound to it or an area above)."""
    prefixes = ["/" + "/".join(area.codes[: i + 1]) + "/" for i in range(len(area.codes))]
    ids = RoleBinding.objects.filter(
        role__in=roles_with(permission), area__path__in=prefixes, active=True
    ).values("user_id")
    return User.objects.filter(pk__in=ids, is_active=True).order_by("username")


def person_for(actor: Any, pk: int) -> Person:
    """A person the actor may start an order for (OutOfScope otherwise)."""
    person = Person.objects.visible_to(actor).select_related("area").filter(pk=pk).first()
    if person is None:
        raise OutOfScope()
    return person


def user_by_pk(pk: Any) -> User | None:
    try:
        return User.objects.filter(pk=int(pk), is_active=True).first()
    except (TypeError, ValueError):
        return None


def order_types() -> QuerySet[ObservationType]:
    return ObservationType.objects.filter(active=True).order_by("id")


def slot_board(order: ObservationOrder, days: int = 3) -> list[dict[str, Any]]:
    """The order's slots of the last `days` days up to now, newest first, each with its
    check-in (or None): what the resident's page and the detail page show."""
    kind = order.order_type
    now = clock.now()
    today = clock.local(now).date()
    done = {
        (c.slot_date, c.slot_index): c
        for c in order.checkins.filter(slot_date__gte=today - dt.timedelta(days=days))
    }
    board: list[dict[str, Any]] = []
    for back in range(days):
        day = today - dt.timedelta(days=back)
        if not order.starts_on <= day <= order.ends_on:
            continue
        for index, t in reversed(list(enumerate(slot_times(kind)))):
            if day == today and slot_start(kind, day, index) > now and index > 0:
                continue
            board.append(
                {
                    "key": slot_key(day, index),
                    "day": day,
                    "time": t,
                    "checkin": done.get((day, index)),
                }
            )
    return board


def current_slot(order: ObservationOrder) -> tuple[dt.date, int, CheckIn | None]:
    """The slot a report made now would fill, and its check-in if already reported."""
    day, index = slot_for(order.order_type, clock.now())
    return day, index, order.checkins.filter(slot_date=day, slot_index=index).first()


OPEN_ERRANDS = (ErrandStatus.OPEN, ErrandStatus.ASSIGNED)
