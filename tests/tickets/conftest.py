"""A city with ticket departments and the users who take, triage and answer tickets."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from gridguard.accounts import services as accounts
from gridguard.core.scoping import SYSTEM
from gridguard.tickets.models import Department, Ticket
from gridguard.tickets.services.intake import receive
from tests.conftest import PASSWORD, City

_refs = itertools.count(1)


@dataclass
class TicketCity:
    city: City
    departments: dict[str, Department]

    def __getitem__(self, key: str) -> Any:
        return self.city[key]

    @property
    def users(self) -> dict[str, Any]:
        return self.city.users


def add_departments(city: City) -> dict[str, Department]:
    """Committees answer at their committee, the street's city-operations centre at each
    street, the other departments at the district."""
    made: dict[str, Department] = {}

    def dept(key: str, kind: str, area: str, name: str) -> Department:
        made[key] = Department.objects.create(kind=kind, area=city[area], name=name)
        return made[key]

    dept("committee_a1", "committee", "committee_a1", "贵州居委")
    dept("committee_a2", "committee", "committee_a2", "云南居委")
    dept("committee_b1", "committee", "committee_b1", "中山居委")
    dept("street_ops_a", "street_ops", "street_a", "南京东路街道城运中心")
    dept("street_ops_b", "street_ops", "street_b", "外滩街道城运中心")
    dept("district_ops", "street_ops", "district", "黄浦区城运中心")
    for kind, name in (
        ("market", "黄浦区市场监管局"),
        ("health", "黄浦区卫生健康委"),
        ("police", "黄浦公安分局"),
        ("housing", "黄浦区房管局"),
        ("labour", "黄浦区人社局"),
        ("economy", "黄浦区经信委"),
        ("commerce", "黄浦区商务委"),
        ("education", "黄浦区教育局"),
        ("transport", "黄浦区交通委"),
        ("civil_affairs", "黄浦区民政局"),
    ):
        dept(kind, kind, "district", name)
    return made


def add_ticket_users(city: City, departments: dict[str, Department]) -> None:
    """A hotline operator for the district, one for street B only, a market-regulator handler
    and the committee A1 worker as the handler of committee A1."""
    for username, role, area in (
        ("hotline", "hotline_operator", "district"),
        ("hotline_b", "hotline_operator", "street_b"),
        ("handler_market", "department_handler", "district"),
        ("handler_ops_a", "department_handler", "street_a"),
    ):
        city.users[username] = accounts.create_user(
            SYSTEM,
            username=username,
            password=PASSWORD,
            display_name=username,
            bindings=[(role, city[area])],
            validate=False,
        )
    departments["market"].handlers.add(city.users["handler_market"])
    departments["street_ops_a"].handlers.add(city.users["handler_ops_a"])
    departments["committee_a1"].handlers.add(city.users["committee_a1"])


@pytest.fixture
def ticket_city(city: City) -> TicketCity:
    departments = add_departments(city)
    add_ticket_users(city, departments)
    return TicketCity(city=city, departments=departments)


def file_ticket(
    actor: Any,
    text: str,
    place: str = "",
    *,
    channel: str = "12345",
    ref: str | None = None,
    at: dt.datetime | None = None,
    phone: str = "13800138000",
    **extra: Any,
) -> Ticket:
    """Take one ticket in through the intake service."""
    return receive(
        actor,
        channel=channel,
        channel_ref=ref or f"REF{next(_refs):06d}",
        received_at=at,
        text=text,
        place=place,
        reporter_phone=phone,
        **extra,
    )
