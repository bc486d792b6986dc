"""Observation pages: list, detail with its actions, notice, start, alerts, errands, /me/."""

from __future__ import annotations

import datetime as dt

import pytest

from gridguard.core import clock
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.health.models import CheckIn, Errand, ObservationAlert, ObservationOrder
from gridguard.health.services import errands
from gridguard.health.services import observation as obs
from tests import factories
from tests.observation.helpers import DAY0, sh, started

pytestmark = pytest.mark.django_db


def test_list_is_scoped_and_masks_for_operators(city, login) -> None:
    a = started(city, "a", name="李观察")
    started(city, "b", name="王观察")
    page = login("operator_a").get("/observation/")
    assert page.status_code == 200
    body = page.content.decode()
    assert f'data-order="{a.pk}"' in body and "王观察" not in body
    assert a.person.id_number not in body  # operators see IDs masked
    health = login("health_a").get("/observation/?status=active").content.decode()
    assert a.person.id_number in health
    assert login("pharmacist_a1").get("/observation/").status_code == 403


def test_detail_audited_and_out_of_scope_404(city, login) -> None:
    order = started(city)
    before = AuditEntry.objects.filter(action="read").count()
    page = login("health_a").get(f"/observation/{order.pk}/")
    assert page.status_code == 200 and "李观察" in page.content.decode()
    assert AuditEntry.objects.filter(action="read").count() == before + 1
    assert login("health_b").get(f"/observation/{order.pk}/").status_code == 404


def test_visit_actions_from_the_detail_page(city, login) -> None:
    order = started(city)
    c = login("health_a")
    url = f"/observation/{order.pk}"
    with clock.frozen(sh(DAY0, 9)):
        assert c.post(f"{url}/notice/serve/").status_code == 302
        assert c.post(f"{url}/commitment/").status_code == 302
        bad = c.post(f"{url}/checkin/", {"temperature": "45"})
        assert bad.status_code == 422
        assert 'id="err-temperature"' in bad.content.decode()
        assert c.post(f"{url}/checkin/", {"temperature": "36.6"}).status_code == 302
        assert c.post(f"{url}/breach/", {"detail": "下楼扔垃圾"}).status_code == 302
        early = c.post(f"{url}/release/", {"note": "期满"})
        assert early.status_code == 422 and 'id="err-ends_on"' in early.content.decode()
        assert c.post(f"{url}/errand/", {"kind": "groceries", "detail": "米"}).status_code == 302
    order.refresh_from_db()
    assert order.notice_served_at and order.commitment_signed_at
    assert CheckIn.objects.get(order=order).source == "visit"
    assert ObservationAlert.objects.get(order=order).kind == "breach"
    assert Errand.objects.filter(order=order).count() == 1
    assert order.status == "active"
    with clock.frozen(sh(order.ends_on, 18)):
        assert c.post(f"{url}/release/", {"note": "期满解除"}).status_code == 302
    order.refresh_from_db()
    assert order.status == "released"
    # An operator may read but not act.
    assert login("operator_a").post(f"{url}/breach/", {"detail": "x"}).status_code == 403


def test_notice_is_printable_with_masked_id(city, login) -> None:
    order = started(city)
    page = login("committee_a1").get(f"/observation/{order.pk}/notice/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "居家隔离医学观察告知书" in body and "@media print" in body
    assert "2020年2月23日" in body and "贵州居委" in body
    assert order.person.id_number not in body and order.person.id_number[-4:] in body


def test_start_form(city, login) -> None:
    p = factories.person(city["compound_a1"], name="赵开始")
    c = login("health_a")
    with clock.frozen(sh(DAY0, 9)):
        assert c.get(f"/observation/start/?person={p.pk}").status_code == 200
        bad = c.post(
            f"/observation/start/?person={p.pk}",
            {"order_type": "home", "starts_on": "2019-01-01", "place_address": "家"},
        )
        assert bad.status_code == 422 and 'id="err-starts_on"' in bad.content.decode()
        ok = c.post(
            f"/observation/start/?person={p.pk}",
            {"order_type": "home", "starts_on": DAY0.isoformat(), "place_address": "家中"},
        )
    order = ObservationOrder.objects.get(person=p)
    assert ok.status_code == 302 and ok["Location"] == f"/observation/{order.pk}/"
    other = factories.person(city["compound_b1"])
    assert c.get(f"/observation/start/?person={other.pk}").status_code == 404
    assert login("operator_a").get(f"/observation/start/?person={p.pk}").status_code == 403


def test_alert_queue_and_ack(city, login) -> None:
    order = started(city)
    with clock.frozen(sh(DAY0, 8, 30)):
        obs.check_in(SYSTEM, order, "38.5", "visit")
    alert = ObservationAlert.objects.get()
    c = login("committee_a1")
    assert f'data-alert="{alert.pk}"' in c.get("/observation/alerts/").content.decode()
    assert (
        f'data-alert="{alert.pk}"'
        not in login("committee_b1").get("/observation/alerts/").content.decode()
    )
    c.post(f"/observation/alerts/{alert.pk}/ack/", {"note": ""})
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    c.post(f"/observation/alerts/{alert.pk}/ack/", {"note": "已电话随访"})
    alert.refresh_from_db()
    assert alert.ack_note == "已电话随访"


def test_errand_queue_assign_close(city, login) -> None:
    order = started(city)
    with clock.frozen(sh(DAY0, 10)):
        errand = errands.request_errand(SYSTEM, order, "medicine", "布洛芬")
    c = login("committee_a1")
    page = c.get("/observation/errands/").content.decode()
    assert f'data-errand="{errand.pk}"' in page and "volunteer_a1" in page
    volunteer = city.users["volunteer_a1"]
    assert (
        c.post(f"/observation/errands/{errand.pk}/assign/", {"volunteer": volunteer.pk}).status_code
        == 302
    )
    v = login("volunteer_a1")
    assert (
        v.post(f"/observation/errands/{errand.pk}/close/", {"outcome": "已送到门口"}).status_code
        == 302
    )
    errand.refresh_from_db()
    assert (errand.status, errand.volunteer, errand.closed_by) == ("done", volunteer, volunteer)


def test_resident_me_page(city, login) -> None:
    order = started(city)
    order.person.user = city.users["resident_a1"]
    order.person.save()
    c = login("resident_a1")
    with clock.frozen(sh(DAY0, 8, 10)):
        page = c.get("/observation/me/").content.decode()
        assert 'id="checkin-form"' in page and "08:00" in page
        bad = c.post("/observation/me/checkin/", {"temperature": "30"})
        assert bad.status_code == 422 and 'id="err-temperature"' in bad.content.decode()
        assert (
            c.post(
                "/observation/me/checkin/", {"temperature": "36.4", "symptoms": ["cough"]}
            ).status_code
            == 302
        )
        page = c.get("/observation/me/").content.decode()
        assert 'id="slot-done"' in page and "36.4" in page
        assert (
            c.post("/observation/me/errand/", {"kind": "groceries", "detail": "鸡蛋"}).status_code
            == 302
        )
    row = CheckIn.objects.get(order=order)
    assert (row.source, row.symptoms) == ("self", ["cough"])
    assert Errand.objects.get(order=order).requested_by == city.users["resident_a1"]
    # Someone not in observation sees a friendly page, not an error.
    other = login("volunteer_a1").get("/observation/me/")
    assert other.status_code == 200
    assert (
        'class="empty"' in other.content.decode() and "checkin-form" not in other.content.decode()
    )


def test_sweep_command(city) -> None:
    from io import StringIO

    from django.core.management import call_command

    started(city)
    out = StringIO()
    call_command(
        "observation",
        "sweep",
        "--at",
        (DAY0 + dt.timedelta(days=1)).isoformat() + "T17:00",
        stdout=out,
    )
    assert "missed alerts raised: 4; in observation: 1" in out.getvalue()
    out = StringIO()
    call_command(
        "observation",
        "escalate",
        "--at",
        (DAY0 + dt.timedelta(days=1)).isoformat() + "T19:00",
        stdout=out,
    )
    assert "alerts escalated: 4" in out.getvalue()
