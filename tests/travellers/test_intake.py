"""The intake queue: batches placed together, one person per identity within a batch, a row
that cannot be placed kept with its problem, the worker command."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from gridguard.core import audit
from gridguard.core.models import AuditEntry
from gridguard.health.models import FollowUpTask, RegistrationIntake, TravellerRegistration
from gridguard.health.services import intake as intake_service
from gridguard.health.services.intake import pending_count, process_intake
from gridguard.health.services.registration import PUBLIC_FORM, accept_registration
from gridguard.people.models import DuplicatePair, KeyPersonFlag, Person
from tests import factories
from tests.conftest import City
from tests.travellers.conftest import declaration

pytestmark = pytest.mark.django_db


def _accept(key: str, **overrides: Any) -> RegistrationIntake:
    intake, created = accept_registration(
        PUBLIC_FORM, declaration(**overrides), submission_key=key, channel="checkpoint_device"
    )
    assert created
    return intake


def test_a_batch_is_placed_together(city: City) -> None:
    same = factories.id_number(dt.date(1988, 1, 2), "420102")
    _accept("a", id_number=same)
    _accept("b", id_number=same, destination_address="外滩街道B1小区")  # same person, moved
    _accept("c", origin_province="江苏省", vehicle_number="苏A12345")
    _accept("d", destination_address="无名路1号")
    assert pending_count() == 4
    assert process_intake() == 4
    assert pending_count() == 0 and process_intake() == 0
    regs = {r.submission_key: r for r in TravellerRegistration.objects.all()}
    assert regs["a"].person_id == regs["b"].person_id
    assert Person.objects.get(pk=regs["b"].person_id).area == city["compound_b1"]
    assert regs["d"].match_status == "unmatched" and regs["d"].area == city["city"]
    assert FollowUpTask.objects.filter(kind="key_area_arrival").count() == 3
    tasks = {t.source.split(":")[1]: t for t in FollowUpTask.objects.all()}
    assert tasks[str(regs["a"].pk)].area == city["committee_a1"]
    assert tasks[str(regs["b"].pk)].area == city["committee_b1"]
    assert KeyPersonFlag.objects.filter(category="key_area_returnee").count() == 3
    assert audit.verify().ok
    assert AuditEntry.objects.filter(action="registration.create").count() == 4
    # Each intake row points at what it became.
    assert not RegistrationIntake.objects.filter(registration__isnull=True).exists()


def test_same_name_and_birth_date_in_a_batch_opens_a_duplicate_pair(city: City) -> None:
    born = dt.date(1975, 6, 6)
    _accept("x", id_number=factories.id_number(born, "420102"), phone="13800000001")
    _accept("y", id_number=factories.id_number(born, "320102"), phone="13800000002")
    process_intake()
    assert DuplicatePair.objects.filter(reason="name_birth").count() == 1


def test_a_row_that_fails_is_kept_with_its_problem(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = _accept("good")
    bad = _accept("bad", destination_address="外滩街道B1小区")
    real = intake_service.place_address

    def broken(text: str, **kw: Any) -> Any:
        if "B1" in text:
            raise RuntimeError("territory unavailable")
        return real(text, **kw)

    monkeypatch.setattr(intake_service, "place_address", broken)
    assert process_intake() == 1
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.registration is not None
    assert bad.registration is None and bad.processed_at is None and bad.problem
    monkeypatch.setattr(intake_service, "place_address", real)
    assert process_intake() == 1  # retried, and placed this time
    bad.refresh_from_db()
    assert bad.registration is not None and bad.problem == ""


def test_worker_once_places_the_queue(city: City) -> None:
    _accept("w")
    out = StringIO()
    call_command("worker", "--once", stdout=out)
    assert "registration intake: 1" in out.getvalue()
    assert TravellerRegistration.objects.count() == 1


def test_the_worker_runs_every_registered_job(city: City) -> None:
    from gridguard.core import jobs

    names = {j.name for j in jobs.registered()}
    assert {
        "registration intake",
        "audit inbox",
        "observation sweep",
        "observation escalation",
        "observation counts",
        "mask expiry",
        "health codes after rule changes",
    } <= names
    for job in jobs.registered():
        job.due_at = 0.0
    done = jobs.run_due()
    assert set(done) == names and all(n >= 0 for n in done.values())


def test_form_says_received_when_a_worker_holds_its_row(
    city: City, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row is kept but not placed in time (a worker holds it): the form shows the receipt
    code as received, and the row is placed on the next round."""
    from gridguard.health.services import registration as reg_service
    from tests.travellers.conftest import form_data

    monkeypatch.setattr(reg_service, "PLACE_WAIT_SECONDS", 0.0)
    monkeypatch.setattr(intake_service, "_process_batch", lambda **kw: 0)
    r = client.post("/travellers/register/", form_data(submission_key="held"))
    intake = RegistrationIntake.objects.get()
    assert r.status_code == 400 and intake.receipt_code in r.content.decode()
    assert 'id="general-error"' in r.content.decode()
    monkeypatch.undo()
    assert process_intake() == 1
