"""Scoping cases for traveller registrations and follow-up tasks."""

from __future__ import annotations

from django.db import models

from gridguard.health.models import FollowUpTask, TravellerRegistration
from tests import factories
from tests.conftest import City
from tests.scoping_support import ADMIN, Reader, area_code_marker, get


def _registration(city: City, side: str) -> TravellerRegistration:
    area = city[f"compound_{side}1"]
    return factories.registration(factories.person(area, name=f"旅客{side.upper()}"), area)


def _followup(city: City, side: str) -> FollowUpTask:
    area = city[f"committee_{side}1"]
    return factories.followup(factories.person(city[f"compound_{side}1"]), area)


ROW_MAKERS: dict[type[models.Model], object] = {
    TravellerRegistration: _registration,
    FollowUpTask: _followup,
}


def _receipt(_city: City, row: TravellerRegistration) -> str:
    return row.receipt_code


def _task_marker(_city: City, row: FollowUpTask) -> str:
    return f'id="task-{row.pk}"'


READERS: dict[type[models.Model], list[Reader]] = {
    TravellerRegistration: [
        Reader("page", "operator", get("/travellers/"), _receipt),
        Reader("page", "operator", lambda c, _city, row: c.get(f"/travellers/{row.pk}/"), _receipt),
        Reader("api", "operator", get("/api/v1/health/registrations?limit=500"), _receipt),
        Reader(
            "api",
            "operator",
            lambda c, _city, row: c.get(f"/api/v1/health/registrations/{row.pk}"),
            _receipt,
        ),
        ADMIN,
    ],
    FollowUpTask: [
        Reader("page", "operator", get("/travellers/followups/"), _task_marker),
        Reader("api", "operator", get("/api/v1/health/followups?limit=500"), area_code_marker),
        ADMIN,
    ],
}
