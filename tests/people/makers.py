"""Rows of every kind that point at a person, for the merge tests (this part's own helper)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from gridguard.access.models import EntryPass, GateEvent, GateVisitor, TraceBack
from gridguard.core import clock
from gridguard.health.models import HealthCode, HealthCodeChange
from gridguard.health.models.pharmacy import FeverMedicinePurchase, MaskOutlet, MaskReservation
from gridguard.people.models import KeyPersonFlag, Person
from gridguard.territory.models import Area
from tests import factories

_n = itertools.count(1)


def health_code(p: Person, colour: str = "green") -> HealthCode:
    return HealthCode.objects.create(
        person=p, colour=colour, expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    )


def purchase(p: Person, pharmacy: Area) -> FeverMedicinePurchase:
    return FeverMedicinePurchase.objects.create(
        area=pharmacy,
        buyer=p,
        name=p.name,
        id_type=p.id_type,
        id_number=p.id_number,
        phone=p.phone,
        medicine="布洛芬",
        temperature=Decimal("38.2"),
        submission_key=f"merge-test-{next(_n)}",
    )


def reservation(p: Person, pharmacy: Area) -> MaskReservation:
    outlet = MaskOutlet.objects.filter(area=pharmacy).first() or MaskOutlet.objects.create(
        area=pharmacy, daily_quota=100
    )
    n = next(_n)
    return MaskReservation.objects.create(
        area=pharmacy,
        outlet=outlet,
        person=p,
        day=dt.date(2020, 2, 12),
        quantity=5,
        code=f"M{n:07d}",
        submission_key=f"mask-test-{n}",
    )


def one_of_each(p: Person, city: object) -> dict[str, int]:
    """One row of each kind pointing at `p`; returns {"app.model": pk}."""
    area = p.area
    pharmacy = city["pharmacy_a1"]  # type: ignore[index]
    rows = {
        "people.keypersonflag": KeyPersonFlag.objects.create(person=p, category="fever").pk,
        "health.healthcode": health_code(p).pk,
        "health.healthcodechange": HealthCodeChange.objects.create(
            person=p, old_colour="", new_colour="green"
        ).pk,
        "health.observationorder": factories.order(p).pk,
        "health.fevermedicinepurchase": purchase(p, pharmacy).pk,
        "health.maskreservation": reservation(p, pharmacy).pk,
        "health.travellerregistration": factories.registration(p, area).pk,
        "health.followuptask": factories.followup(p, area).pk,
    }
    entry_pass = EntryPass.objects.create(
        area=area,
        person=p,
        kind="resident",
        pass_id=f"T{p.pk:09d}",
        valid_from=clock.now(),
        valid_until=clock.now() + dt.timedelta(days=1),
    )
    rows["access.entrypass"] = entry_pass.pk
    rows["access.gateevent"] = GateEvent.objects.create(
        area=area, person=p, entry_pass=entry_pass, verdict="ok", scanned_at=clock.now()
    ).pk
    rows["access.gatevisitor"] = GateVisitor.objects.create(
        area=area, name="访客", phone="13800000000", person=p, host_person=p, purpose="探亲"
    ).pk
    rows["access.traceback"] = TraceBack.objects.create(
        area=area,
        person=p,
        window_start=clock.now() - dt.timedelta(days=1),
        window_end=clock.now(),
        reason="test",
    ).pk
    return rows
