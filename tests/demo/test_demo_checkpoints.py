"""The demo city's checkpoints and gate books: every checkpoint set up with two weeks of
checks, street checkpoints for every street, receipts linked, visitors at a sample of gates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models.functions import TruncDate

from gridguard.access.models import Checkpoint, CheckpointCheck, GateVehicle, GateVisitor
from gridguard.access.selectors import checkpoints as checkpoint_reads
from gridguard.access.selectors import gates as gate_reads
from gridguard.access.services.inputs import is_plate
from gridguard.accounts.models import User
from gridguard.core import audit, clock
from gridguard.territory.models import Area
from tests.demo.test_demo import _demo

pytestmark = pytest.mark.django_db


def test_checkpoints_checks_and_gate_books() -> None:
    printed = _demo("--seed", "7", "--people", "20")
    places = Area.objects.filter(kind="checkpoint")
    assert Checkpoint.objects.count() == places.count() > 0
    # Every street and township runs one, so every street's officials have counts to read.
    streets = Area.objects.filter(kind__in=["street", "township"])
    assert places.filter(parent__in=streets).count() == streets.count()
    assert {"road", "rail", "port"} <= set(Checkpoint.objects.values_list("kind", flat=True))

    checks = CheckpointCheck.objects.all()
    days = set(
        checks.annotate(d=TruncDate("checked_at", tzinfo=clock.SHANGHAI)).values_list(
            "d", flat=True
        )
    )
    today = clock.today()
    assert min(days) == today - dt.timedelta(days=13) and max(days) <= today
    assert not checks.exclude(area_id__in=Checkpoint.objects.values("area_id")).exists()
    assert all(is_plate(p) for p in checks.exclude(plate="").values_list("plate", flat=True))
    assert set(checks.values_list("outcome", flat=True)) == {"cleared", "referred", "turned_back"}
    assert not checks.filter(fever_count__gt=0).exclude(outcome="referred").exists()
    linked = CheckpointCheck.registrations.through.objects.select_related(
        "checkpointcheck", "travellerregistration"
    )
    assert linked.exists()
    for link in linked[:20]:
        check, reg = link.checkpointcheck, link.travellerregistration
        assert clock.local(check.checked_at).date() == reg.arrival_date
        assert check.origin_province == reg.origin_province and check.plate

    visitors = GateVisitor.objects.select_related("area", "host_household__area")
    assert visitors.exists() and GateVehicle.objects.exists()
    for v in visitors[:200]:
        assert v.host_household.area.path.startswith(v.area.parent.path)
        assert v.admitted == (v.temperature < Decimal("37.3"))
        assert v.time_out is None or (v.admitted and v.time_out > v.time_in)
    assert all(is_plate(p) for p in GateVehicle.objects.values_list("plate", flat=True))

    # The demo logins see them: the volunteer's gate has a book, the street its counts, and
    # the checkpoint official may record at their checkpoint.
    volunteer = User.objects.get(username="gate_volunteer")
    gate = gate_reads.gates_for(volunteer)[0]
    assert gate_reads.visitors_visible_to(volunteer, place=gate).exists()
    operator = User.objects.get(username="command_operator")
    week = checkpoint_reads.totals(operator, today - dt.timedelta(days=6), today)
    assert week["checkpoints"] >= 1 and week["vehicles"] > 0
    official = User.objects.get(username="checkpoint_official")
    assert "checkpoint_official" in printed
    assert len(checkpoint_reads.checkpoints_for(official)) == 1
    assert audit.verify().ok
