"""The demo city's passes and gate logs (A1, A2): signed resident passes, three weeks of scans
at every gate with refusals of every kind, and a trace-back that finds contacts in them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Count, Max, Min

from gridguard.access import credential
from gridguard.access.models import EntryPass, GateEvent, Verdict
from gridguard.access.services.keys import trust_list
from gridguard.access.services.traceback import run_traceback
from gridguard.core import clock
from gridguard.core.scoping import SYSTEM
from gridguard.people.models import Person
from gridguard.territory.models import Area
from tests.demo.test_demo import _demo

pytestmark = pytest.mark.django_db


def test_residents_get_signed_passes_and_every_gate_logs_weeks_of_scans() -> None:
    printed = _demo("--seed", "7", "--people", "20")
    assert "resident passes" in printed
    residents = Person.objects.filter(household__isnull=False).count()
    passes = EntryPass.objects.filter(kind="resident")
    assert 0.8 * residents <= passes.count() <= residents
    assert passes.filter(status="revoked").exists()
    assert EntryPass.gates.through.objects.exists()  # some passes are for one gate only
    trust = trust_list()
    for p in passes.select_related("area")[:20]:
        verdict = credential.verify(
            p.credential, trust, now=int(clock.now().timestamp()), compound=p.area.code
        )
        assert verdict.ok or p.status == "revoked", verdict
    resident = Person.objects.get(user__username="resident")
    assert passes.filter(person=resident, status="active").exists()
    # Every gate of every compound has scans, over three weeks, at waking hours mostly.
    gates = Area.objects.filter(kind="gate", parent__kind="compound")
    busy = set(GateEvent.objects.values_list("area_id", flat=True).distinct())
    assert set(gates.values_list("pk", flat=True)) <= busy
    span = GateEvent.objects.aggregate(first=Min("scanned_at"), last=Max("scanned_at"))
    assert span["last"] - span["first"] > dt.timedelta(days=19)
    assert span["last"] <= clock.now()
    hours = [clock.local(at).hour for at in GateEvent.objects.values_list("scanned_at", flat=True)]
    assert sum(1 for h in hours if 7 <= h <= 21) > 0.95 * len(hours)
    verdicts = dict(GateEvent.objects.values_list("verdict").annotate(n=Count("id")))
    assert set(verdicts) == set(Verdict.values)
    assert verdicts["ok"] > 0.9 * sum(verdicts.values())
    fever = GateEvent.objects.filter(verdict="fever")
    assert not fever.filter(temperature__lt=37.3).exists()
    assert not GateEvent.objects.filter(verdict="ok", temperature__gte=37.3).exists()
    assert not GateEvent.objects.filter(verdict="forged", person__isnull=False).exists()
    # A scan with a pass names its holder, as the gate upload does.
    sample = GateEvent.objects.filter(entry_pass__isnull=False).select_related("entry_pass")[:50]
    assert all(e.person_id == e.entry_pass.person_id for e in sample)  # type: ignore[union-attr]


def test_a_trace_back_in_the_demo_city_finds_contacts() -> None:
    _demo("--seed", "7", "--people", "20")
    busiest = (
        GateEvent.objects.filter(person__isnull=False)
        .values("person")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    assert busiest is not None
    person = Person.objects.select_related("area", "household__area").get(pk=busiest["person"])
    now = clock.now()
    tb, result = run_traceback(
        SYSTEM,
        person=person,
        window_start=now - dt.timedelta(days=21),
        window_end=now,
        gap_minutes=30,
        reason="demo",
    )
    assert result.subject_events == busiest["n"]
    assert result.gate and result.residents
    assert tb.counts["gate_contacts"] == len(result.gate)
