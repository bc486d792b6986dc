"""Errands (代办) for people in home observation: requested by the person or a worker, assigned
to a volunteer, closed with an outcome."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from gridguard.core import audit, clock
from gridguard.core.errors import InvalidInput, NotPermitted
from gridguard.health.models import Errand, ErrandKind, ErrandStatus, ObservationOrder, OrderStatus
from gridguard.health.services.observation import (
    _require,
    _required_text,
    _user,
    fresh,
    person_id_of,
)


def request_errand(actor: Any, order: ObservationOrder, kind: str, detail: str) -> Errand:
    """The person in observation (or a worker for them) asks for an errand."""
    if person_id_of(actor) != order.person_id:
        _require(actor, order.area, "errands.manage", "observation.manage")
    if kind not in ErrandKind.values:
        raise InvalidInput.one("kind", "invalid", _("Choose what kind of errand."))
    text = _required_text("detail", detail, _("Say what is needed."))
    order = fresh(order)
    if order.status != OrderStatus.ACTIVE:
        raise InvalidInput.one("order", "inactive", _("This observation order is not active."))
    with transaction.atomic():
        errand = Errand.objects.create(
            order=order, area=order.area, kind=kind, detail=text, requested_by=_user(actor)
        )
        audit.record(actor, "errand.request", errand, detail={"kind": kind})
    return errand


def assign_errand(actor: Any, errand: Errand, volunteer: Any) -> Errand:
    """Give an open (or assigned) errand to a volunteer who serves its area."""
    _require(actor, errand.area, "errands.manage")
    if volunteer is None or not volunteer.can_at("errands.run", errand.area.path):
        raise InvalidInput.one(
            "volunteer", "invalid", _("Choose a volunteer who serves this area.")
        )
    with transaction.atomic():
        errand = Errand.objects.select_for_update().get(pk=errand.pk)
        if errand.status not in (ErrandStatus.OPEN, ErrandStatus.ASSIGNED):
            raise InvalidInput.one("status", "closed", _("This errand is already closed."))
        errand.volunteer = volunteer
        errand.status = ErrandStatus.ASSIGNED
        errand.assigned_at = clock.now()
        errand.save(update_fields=["volunteer", "status", "assigned_at"])
        audit.record(actor, "errand.assign", errand, detail={"volunteer": volunteer.pk})
    return errand


def close_errand(actor: Any, errand: Errand, outcome: str, *, cancelled: bool = False) -> Errand:
    """The volunteer (or a worker) closes the errand with what was done."""
    if not (errand.volunteer_id is not None and getattr(actor, "pk", None) == errand.volunteer_id):
        if not actor.can("errands.manage") and not actor.can("errands.run"):
            raise NotPermitted()
        _require(actor, errand.area, "errands.manage")
    text = _required_text("outcome", outcome, _("Say what was done."))
    with transaction.atomic():
        errand = Errand.objects.select_for_update().get(pk=errand.pk)
        if errand.status not in (ErrandStatus.OPEN, ErrandStatus.ASSIGNED):
            raise InvalidInput.one("status", "closed", _("This errand is already closed."))
        errand.status = ErrandStatus.CANCELLED if cancelled else ErrandStatus.DONE
        errand.outcome = text
        errand.closed_at = clock.now()
        errand.closed_by = _user(actor)
        errand.save(update_fields=["status", "outcome", "closed_at", "closed_by"])
        audit.record(actor, "errand.close", errand, detail={"status": errand.status})
    return errand
