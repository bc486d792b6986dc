"""Resent gate and checkpoint submissions are one row (A2, A3).

A gate device or a checkpoint tablet resends after a timeout, a volunteer taps twice, a browser
resends a form: with the same `submission_key` the visitor, the vehicle or the check is written
once, with one audit row, and every resend answers with the first row. The same key at another
gate or checkpoint is refused, naming the field, and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.utils import translation

from gridguard.access.models import Checkpoint, CheckpointCheck, GateVehicle, GateVisitor
from gridguard.access.services import checkpoints as checkpoint_services
from gridguard.access.services import gates as gate_services
from gridguard.accounts import services as accounts
from gridguard.core import clock
from gridguard.core.errors import InvalidInput
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.people.models import Household
from gridguard.territory import services as territory
from gridguard.territory.models import Area
from tests import factories
from tests.conftest import City, audit_triggers_lifted, build_city

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2020, 2, 10, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai
GATES = "/api/v1/access/gates"
CHECKPOINTS = "/api/v1/access/checkpoints"
KINDS = ["visitor", "vehicle", "check"]
_KEY_IN_FORM = re.compile(r'name="submission_key" value="([^"]*)"')


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@dataclass
class Kind:
    """One kind of submission, with two places in its actor's territory to send it to."""

    name: str
    model: type[Model]
    action: str
    actor: Any
    place: Any  # a gate (Area) or a Checkpoint
    other: Any
    fields: dict[str, Any]
    form: dict[str, Any] = field(default_factory=dict)

    def record(self, place: Any = None, **extra: Any) -> Any:
        """Send it through the service."""
        where = self.place if place is None else place
        data = {**self.fields, **extra}
        if self.name == "visitor":
            return gate_services.register_visitor(self.actor, where, **data)
        if self.name == "vehicle":
            return gate_services.register_vehicle(self.actor, where, **data)
        return checkpoint_services.record_check(self.actor, where, **data)

    def post_api(self, client: Client, place: Any = None, **extra: Any) -> Any:
        where = self.place if place is None else place
        body = {**self.fields, **extra}
        if self.name == "check":
            path = f"{CHECKPOINTS}/{where.area.code}/checks"
        else:
            path = f"{GATES}/{self.name}s"
            body["gate"] = where.code
        return client.post(path, data=json.dumps(body), content_type="application/json")

    def page(self, place: Any = None) -> str:
        where = self.place if place is None else place
        if self.name == "check":
            return f"/checkpoints/{where.area.code}/"
        return f"/gate-records/{where.code}/{self.name}/"

    def rows(self) -> int:
        return self.model._default_manager.count()

    def audited(self) -> int:
        return AuditEntry.objects.filter(action=self.action).count()

    def client(self) -> Client:
        c = Client(HTTP_ACCEPT_LANGUAGE="en")
        c.force_login(self.actor)
        return c


def _second_gate(city: City) -> Area:
    """A second gate of compound A1, so one volunteer can send to two gates."""
    return territory.create_area(
        SYSTEM,
        code=city["compound_a1"].code + "G02",
        name="A1小区南门",
        kind="gate",
        parent=city["compound_a1"],
    )


def _checkpoints(city: City) -> tuple[Checkpoint, Checkpoint]:
    """Two checkpoints of street A."""
    second = territory.create_area(
        SYSTEM,
        code=city["street_a"].code + "K002",
        name="南京东路二道口",
        kind="checkpoint",
        parent=city["street_a"],
    )
    return (
        checkpoint_services.set_up_checkpoint(SYSTEM, city["checkpoint_a"], kind="road"),
        checkpoint_services.set_up_checkpoint(SYSTEM, second, kind="rail"),
    )


def _make_kind(name: str, city: City) -> Kind:
    # A volunteer of street A: gate.scan at its gates and checkpoint.record at its checkpoints.
    actor = accounts.create_user(
        SYSTEM,
        username="volunteer_street_a",
        password="Grid-Guard-2026!",
        bindings=[("gate_volunteer", city["street_a"])],
        validate=False,
    )
    if name == "visitor":
        building = city["building_a1"]
        host = Household.objects.create(area=building, room="302", address=f"{building.name}302")
        fields = {
            "name": "赵敏",
            "phone": "13912345678",
            "purpose": "探亲",
            "host_household": host.pk,
            "temperature": "36.5",
        }
        return Kind(
            name,
            GateVisitor,
            "gate.visitor",
            actor,
            city["gate_a1"],
            _second_gate(city),
            fields,
            form=dict(fields),
        )
    if name == "vehicle":
        fields = {
            "plate": "沪A12345",
            "driver_name": "钱进",
            "driver_phone": "13800001111",
            "passengers": 1,
            "purpose": "送物资",
            "temperature": "36.6",
        }
        form = {**fields, "direction": "in", "passenger_names": "甲"}
        return Kind(
            name,
            GateVehicle,
            "gate.vehicle",
            actor,
            city["gate_a1"],
            _second_gate(city),
            fields,
            form,
        )
    first, second = _checkpoints(city)
    reg = factories.registration(
        factories.person(city["compound_b1"]), city["compound_b1"], origin_province="湖北省"
    )
    fields = {"plate": "沪A12345", "passengers": 2, "receipt_codes": [reg.receipt_code]}
    form = {
        "plate": "沪A12345",
        "passengers": "2",
        "fever_count": "0",
        "outcome": "cleared",
        "receipt_codes": reg.receipt_code,
    }
    return Kind(name, CheckpointCheck, "checkpoint.check", actor, first, second, fields, form)


@pytest.fixture(params=KINDS)
def kind(request: Any, city: City) -> Kind:
    return _make_kind(request.param, city)


def _key_in(html: str) -> str:
    found = _KEY_IN_FORM.search(html)
    assert found is not None, "the form carries no submission key"
    return found[1]


# --- services ---------------------------------------------------------------------------------


def test_service_resend_with_the_same_key_is_the_first_row(kind: Kind) -> None:
    with clock.frozen(NOON):
        first = kind.record(submission_key="tablet-7:0001")
    with clock.frozen(NOON + dt.timedelta(minutes=1)):
        again = kind.record(submission_key="tablet-7:0001")
        twice = kind.record(submission_key="  tablet-7:0001  ")  # the key is trimmed
    assert again.pk == twice.pk == first.pk
    assert kind.rows() == 1 and kind.audited() == 1
    assert kind.model._default_manager.get().submission_key == "tablet-7:0001"
    if kind.name == "check":
        assert CheckpointCheck.registrations.through.objects.count() == 1
    # Another key, or none at all, is another submission.
    with clock.frozen(NOON):
        other = kind.record(submission_key="tablet-7:0002")
        plain = [kind.record(), kind.record(submission_key="")]
    assert other.pk != first.pk and plain[0].pk != plain[1].pk
    assert plain[0].submission_key is None and plain[1].submission_key is None
    assert kind.rows() == 4 and kind.audited() == 4


def test_service_same_key_at_another_place_is_refused(kind: Kind) -> None:
    with clock.frozen(NOON):
        first = kind.record(submission_key="shared")
        with pytest.raises(InvalidInput) as exc:
            kind.record(place=kind.other, submission_key="shared")
    error = exc.value.errors[0]
    assert (error.field, error.code) == ("submission_key", "reused")
    assert "another" in error.message
    assert kind.rows() == 1 and kind.audited() == 1
    assert kind.model._default_manager.get().pk == first.pk


def test_service_refuses_a_key_longer_than_64_characters(kind: Kind) -> None:
    with clock.frozen(NOON), pytest.raises(InvalidInput) as exc:
        kind.record(submission_key="k" * 65)
    assert [(e.field, e.code) for e in exc.value.errors] == [("submission_key", "too_long")]
    assert kind.rows() == 0 and kind.audited() == 0
    with clock.frozen(NOON):
        assert kind.record(submission_key="k" * 64).submission_key == "k" * 64


def _look_up_misses_once(kind: Kind, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The look-up before writing finds nothing once: as when the other copy of the submission
    is saved between this one's look-up and its insert. The unique key then refuses the insert
    (inside a savepoint) and the service answers with the row that won."""
    real = gate_services.submitted_before
    calls = {"n": 0}

    def racing(model: Any, key: str | None) -> Any:
        calls["n"] += 1
        return None if calls["n"] == 1 else real(model, key)

    # The first look-up is the service's own; the one after the refused insert is save_once's.
    monkeypatch.setattr(gate_services, "submitted_before", racing)
    monkeypatch.setattr(checkpoint_services, "submitted_before", racing)
    return calls


def test_service_race_on_the_unique_key_answers_with_the_winner(
    kind: Kind, monkeypatch: pytest.MonkeyPatch
) -> None:
    with clock.frozen(NOON):
        first = kind.record(submission_key="race")
        calls = _look_up_misses_once(kind, monkeypatch)
        again = kind.record(submission_key="race")
    # Looked up before the insert (missed), then again after the unique key refused it.
    assert calls["n"] == 2
    assert again.pk == first.pk
    assert kind.rows() == 1 and kind.audited() == 1
    # The transaction is still usable after the refused insert.
    with clock.frozen(NOON):
        assert kind.record(submission_key="after").pk != first.pk
    assert kind.rows() == 2 and kind.audited() == 2


def test_service_race_lost_to_another_place_is_refused(
    kind: Kind, monkeypatch: pytest.MonkeyPatch
) -> None:
    with clock.frozen(NOON):
        kind.record(place=kind.other, submission_key="race")
        calls = _look_up_misses_once(kind, monkeypatch)
        with pytest.raises(InvalidInput) as exc:
            kind.record(submission_key="race")
    assert calls["n"] == 2
    assert (exc.value.errors[0].field, exc.value.errors[0].code) == ("submission_key", "reused")
    assert kind.rows() == 1 and kind.audited() == 1


# --- API --------------------------------------------------------------------------------------


def test_api_resend_answers_200_with_the_first_row(kind: Kind) -> None:
    c = kind.client()
    with clock.frozen(NOON):
        first = kind.post_api(c, submission_key="device-1")
        again = kind.post_api(c, submission_key="device-1")
    assert first.status_code == again.status_code == 200, (first.content, again.content)
    assert again.json() == first.json()
    assert kind.rows() == 1 and kind.audited() == 1
    with clock.frozen(NOON):
        other = kind.post_api(c, place=kind.other, submission_key="device-1")
        long = kind.post_api(c, submission_key="k" * 65)
    assert other.status_code == 422, other.content
    assert [(e["field"], e["code"]) for e in other.json()["errors"]] == [
        ("submission_key", "reused")
    ]
    assert long.status_code == 422 and long.json()["errors"][0]["field"] == "submission_key"
    assert kind.rows() == 1 and kind.audited() == 1
    # The key is optional: without it every post is a new row.
    with clock.frozen(NOON):
        assert kind.post_api(c).status_code == 200
        assert kind.post_api(c, submission_key=None).status_code == 200
    assert kind.rows() == 3


def test_api_device_token_resend_is_one_row(kind: Kind) -> None:
    purpose, area = (
        ("checkpoint_device", kind.place.area)
        if kind.name == "check"
        else ("gate_scanner", kind.place)
    )
    _t, secret = accounts.issue_token(SYSTEM, name="tablet", purpose=purpose, area=area)
    c = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    with clock.frozen(NOON):
        answers = [kind.post_api(c, submission_key="tablet:42") for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200], answers[0].content
    assert len({r.json()["id"] for r in answers}) == 1
    assert kind.rows() == 1 and kind.audited() == 1


# --- pages ------------------------------------------------------------------------------------


def test_page_double_submit_is_one_row(kind: Kind) -> None:
    c = kind.client()
    url = kind.page()
    keys = {_key_in(c.get(url).content.decode()) for _ in range(2)}
    assert len(keys) == 2  # a fresh key each time the form is shown
    key = keys.pop()
    with clock.frozen(NOON):
        first = c.post(url, {**kind.form, "submission_key": key})
        again = c.post(url, {**kind.form, "submission_key": key})
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert kind.rows() == 1 and kind.audited() == 1
    # After the redirect the form is shown with a new key: the next one is a new row.
    with clock.frozen(NOON):
        fresh = _key_in(c.get(url).content.decode())
        assert fresh != key
        assert c.post(url, {**kind.form, "submission_key": fresh}).status_code == 302
    assert kind.rows() == 2 and kind.audited() == 2


def test_page_keeps_the_key_while_the_form_is_corrected(kind: Kind) -> None:
    c = kind.client()
    url = kind.page()
    key = _key_in(c.get(url).content.decode())
    mistake = {"phone": "12"} if kind.name == "visitor" else {"plate": "XYZ"}
    bad_form = {**kind.form, **mistake, "submission_key": key}
    with clock.frozen(NOON):
        bad = c.post(url, bad_form)
    assert bad.status_code == 400 and _key_in(bad.content.decode()) == key
    assert kind.rows() == 0
    with clock.frozen(NOON):
        for _ in range(2):
            assert c.post(url, {**kind.form, "submission_key": key}).status_code == 302
    assert kind.rows() == 1 and kind.audited() == 1


def test_page_same_key_at_another_place_is_refused_beside_the_form(kind: Kind) -> None:
    c = kind.client()
    with clock.frozen(NOON):
        assert c.post(kind.page(), {**kind.form, "submission_key": "tap"}).status_code == 302
        r = c.post(kind.page(kind.other), {**kind.form, "submission_key": "tap"})
    html = r.content.decode()
    assert r.status_code == 400 and 'id="err-submission_key"' in html
    assert "This submission key belongs to another" in html
    # The form shown again carries a fresh key, so sending it once more goes through.
    fresh = _key_in(html)
    assert fresh and fresh != "tap"
    assert kind.rows() == 1 and kind.audited() == 1
    with clock.frozen(NOON):
        assert c.post(
            kind.page(kind.other), {**kind.form, "submission_key": fresh}
        ).status_code == (302)
    assert kind.rows() == 2


# --- real concurrency -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def _audit_triggers_off(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    with audit_triggers_lifted(django_db_blocker):
        yield


def _at_once(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run the jobs at once, one thread and one database connection each."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def run(job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            found = job()
            with lock:
                results.append(found.pk)
        except BaseException as exc:
            with lock:
                failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    with clock.frozen(NOON):
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert not failures, failures
    assert len(results) == len(jobs)
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", KINDS)
def test_copies_sent_at_the_same_moment_are_one_row(
    name: str, transactional_db: Any, _audit_triggers_off: None
) -> None:
    """On PostgreSQL the threads really race to the unique key (the losers' inserts are
    refused and they answer with the winner's row); on SQLite writers queue."""
    kind = _make_kind(name, build_city())
    jobs = [(lambda: kind.record(submission_key="burst")) for _ in range(4)]
    assert len(set(_at_once(jobs))) == 1
    assert kind.rows() == 1 and kind.audited() == 1
