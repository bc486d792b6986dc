"""Traveller tests run on 10 February 2020 (Hubei is a key area then) with a clean cache."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from gridguard.core import clock
from gridguard.health.services.registration import Declaration
from tests import factories

NOW = dt.datetime(2020, 2, 10, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


@pytest.fixture(autouse=True)
def _feb_2020() -> Iterator[None]:
    cache.clear()  # the public form's rate limit counts in the cache
    with clock.frozen(NOW):
        yield
    cache.clear()


def declaration(**overrides: Any) -> Declaration:
    """A valid declaration of an arrival from Wuhan to compound A1."""
    fields: dict[str, Any] = {
        "id_type": "resident_id",
        "id_number": factories.id_number(dt.date(1990, 5, 17), "420102"),
        "name": "李娜",
        "phone": "13912345678",
        "origin_province": "湖北省",
        "origin_city": "武汉市",
        "route": "G50沪渝高速",
        "transport": "car",
        "vehicle_number": "鄂A12345",
        "arrival_date": "2020-02-09",
        "destination_address": "上海市黄浦区南京东路街道A1小区1号楼502室",
        "symptoms": [],
        "temperature": "36.6",
    }
    fields.update(overrides)
    return Declaration(**fields)


def form_data(**overrides: Any) -> dict[str, Any]:
    """The public form's POST for the same arrival."""
    key = overrides.pop("submission_key", None)
    d = declaration(**overrides)
    data: dict[str, Any] = {k: v for k, v in d.__dict__.items() if k != "contact_history"}
    data["symptoms"] = list(d.symptoms)
    if d.contact_history:
        data["contact_history"] = "yes"
    data["submission_key"] = key or "k-" + d.id_number
    return data
