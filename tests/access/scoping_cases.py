"""Scoping cases for access control: signing keys, entry passes, gate events."""

from __future__ import annotations

import datetime as dt

from django.db import models

from gridguard.access.models import (
    Checkpoint,
    CheckpointCheck,
    EntryPass,
    GateEvent,
    GateVehicle,
    GateVisitor,
    SigningKey,
    TraceBack,
)
from gridguard.access.services.keys import active_key
from gridguard.access.services.passes import issue_pass
from gridguard.core import clock
from tests import factories
from tests.conftest import City
from tests.scoping_support import ADMIN, Reader, get


def _key(city: City, side: str) -> SigningKey:
    return active_key(city[f"street_{side}"])


def _pass(city: City, side: str) -> EntryPass:
    compound = city[f"compound_{side}1"]
    now = clock.now()
    return issue_pass(
        city.users[f"committee_{side}1"],
        factories.person(compound),
        compound,
        kind="resident",
        valid_from=now,
        valid_until=now + dt.timedelta(days=30),
    )


def _event(city: City, side: str) -> GateEvent:
    entry_pass = _pass(city, side)
    return GateEvent.objects.create(
        area=city[f"gate_{side}1"],
        entry_pass=entry_pass,
        person=entry_pass.person,
        verdict="ok",
        scanned_at=clock.now(),
    )


def _visitor(city: City, side: str) -> GateVisitor:
    return GateVisitor.objects.create(
        area=city[f"gate_{side}1"], name="访客", phone="13800000000", purpose="探亲"
    )


def _vehicle(city: City, side: str) -> GateVehicle:
    return GateVehicle.objects.create(
        area=city[f"gate_{side}1"], plate="沪A12345", driver_name="司机"
    )


def _checkpoint(city: City, side: str) -> Checkpoint:
    return Checkpoint.objects.get_or_create(area=city[f"checkpoint_{side}"], kind="road")[0]


def _check(city: City, side: str) -> CheckpointCheck:
    checkpoint = _checkpoint(city, side)
    return CheckpointCheck.objects.create(
        area=checkpoint.area, checkpoint=checkpoint, plate="沪A12345", passengers=2
    )


def _traceback(city: City, side: str) -> TraceBack:
    compound = city[f"compound_{side}1"]
    return TraceBack.objects.create(
        area=compound,
        person=factories.person(compound),
        window_start=clock.now() - dt.timedelta(days=1),
        window_end=clock.now(),
        reason="test",
    )


ROW_MAKERS: dict[type[models.Model], object] = {
    SigningKey: _key,
    EntryPass: _pass,
    GateEvent: _event,
    GateVisitor: _visitor,
    GateVehicle: _vehicle,
    Checkpoint: _checkpoint,
    CheckpointCheck: _check,
    TraceBack: _traceback,
}

READERS: dict[type[models.Model], list[Reader]] = {
    SigningKey: [ADMIN],
    EntryPass: [
        Reader("page", "operator", get("/passes/?status=active"), lambda _c, r: r.pass_id),
        Reader(
            "api",
            "operator",
            get("/api/v1/access/passes?limit=500"),
            lambda _c, r: f'"pass_id": "{r.pass_id}"',
        ),
        Reader(
            "page",
            "operator",
            lambda c, _city, r: c.get(f"/passes/{r.pass_id}/"),
            lambda _c, r: r.pass_id,
        ),
        ADMIN,
    ],
    GateEvent: [ADMIN],
    GateVisitor: [
        Reader(
            "api", "operator", get("/api/v1/access/gates/visitors"), lambda _c, r: f'"id": {r.pk},'
        ),
        ADMIN,
    ],
    GateVehicle: [
        Reader(
            "api", "operator", get("/api/v1/access/gates/vehicles"), lambda _c, r: f'"id": {r.pk},'
        ),
        ADMIN,
    ],
    Checkpoint: [
        Reader(
            "api", "operator", get("/api/v1/access/checkpoints/"), lambda _c, r: f'"id": {r.pk},'
        ),
        ADMIN,
    ],
    CheckpointCheck: [
        Reader(
            "api",
            "operator",
            lambda c, _city, r: c.get(
                f"/api/v1/access/checkpoints/{r.checkpoint.area.code}/checks"
            ),
            lambda _c, r: f'"id": {r.pk},',
        ),
        ADMIN,
    ],
    TraceBack: [
        Reader(
            "api",
            "operator",
            lambda c, _city, r: c.get(f"/api/v1/access/tracebacks/{r.pk}"),
            lambda _c, r: f'"id": {r.pk},',
        ),
        ADMIN,
    ],
}
