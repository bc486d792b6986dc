"""Notices and answers to common questions (C3): who may publish where, what reaches which
place, withdrawal, bad input, the staff page and the residents' public page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from gridguard.core import clock
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.core.scoping import SYSTEM
from gridguard.tickets.models import Answer, Notice
from gridguard.tickets.selectors.notices import (
    answers_by_subclass,
    answers_for_subclass,
    notices_for_place,
)
from gridguard.tickets.services import notices as services
from tests.conftest import City


def titles(city: City, key: str) -> set[str]:
    return {n.title for n in notices_for_place(city[key])}


@pytest.mark.django_db
def test_a_notice_reaches_the_subtree_and_not_siblings(city: City) -> None:
    services.publish_notice(SYSTEM, area=city["district"], title="全区通知", body="戴口罩")
    services.publish_notice(
        city.users["operator_a"], area=city["street_a"], title="街道A通知", body="测体温"
    )
    services.publish_notice(
        city.users["committee_a1"], area=city["compound_a1"], title="A1小区通知", body="快递放门口"
    )
    assert titles(city, "building_a1") == {"全区通知", "街道A通知", "A1小区通知"}
    assert titles(city, "compound_a2") == {"全区通知", "街道A通知"}
    assert titles(city, "compound_b1") == {"全区通知"}
    assert titles(city, "city") == set()


@pytest.mark.django_db
def test_withdrawn_and_ended_notices_are_not_shown(city: City) -> None:
    operator = city.users["operator_a"]
    gone = services.publish_notice(operator, area=city["street_a"], title="撤回的", body="x")
    services.publish_notice(
        operator,
        area=city["street_a"],
        title="限时的",
        body="y",
        until=(clock.today() + dt.timedelta(days=1)).isoformat(),
    )
    services.withdraw_notice(operator, gone)
    services.withdraw_notice(operator, gone)  # twice changes nothing
    assert titles(city, "compound_a1") == {"限时的"}
    with clock.frozen(clock.now() + dt.timedelta(days=3)):
        assert titles(city, "compound_a1") == set()
    assert Notice.objects.count() == 2


@pytest.mark.django_db
def test_publishing_needs_the_permission_over_the_area(city: City) -> None:
    with pytest.raises(OutOfScope):
        services.publish_notice(
            city.users["operator_b"], area=city["street_a"], title="t", body="b"
        )
    with pytest.raises(NotPermitted):
        services.publish_notice(
            city.users["resident_a1"], area=city["compound_a1"], title="t", body="b"
        )
    with pytest.raises(OutOfScope):
        services.publish_notice(
            city.users["committee_a1"], area=city["street_a"], title="t", body="b"
        )
    notice = services.publish_notice(SYSTEM, area=city["street_a"], title="t", body="b")
    with pytest.raises(OutOfScope):
        services.withdraw_notice(city.users["operator_b"], notice)
    assert Notice.objects.count() == 1 and notice.withdrawn_at is None


@pytest.mark.django_db
def test_bad_input_names_the_field_and_writes_nothing(city: City) -> None:
    operator = city.users["operator_a"]
    with pytest.raises(InvalidInput) as err:
        services.publish_notice(
            operator, area=city["street_a"], title=" ", body="x" * 5001, until="2020-01-01"
        )
    assert {e.field for e in err.value.errors} == {"title", "body", "until"}
    with pytest.raises(InvalidInput) as err:
        services.publish_notice(operator, area=city["street_a"], title="t", body="b", until="明天")
    assert err.value.errors[0].field == "until"
    with pytest.raises(InvalidInput) as err:
        services.publish_notice(operator, area=None, title="t", body="b")
    assert err.value.errors[0].field == "area"
    with pytest.raises(InvalidInput) as err:
        services.publish_answer(
            operator, area=city["street_a"], question="q", answer="a", subclasses=["S01", "X99"]
        )
    assert err.value.errors[0].field == "subclasses" and "X99" in err.value.errors[0].message
    with pytest.raises(InvalidInput) as err:
        services.publish_answer(
            operator, area=city["street_a"], question="", answer="", subclasses=""
        )
    assert {e.field for e in err.value.errors} == {"question", "answer", "subclasses"}
    assert not Notice.objects.exists() and not Answer.objects.exists()


@pytest.mark.django_db
def test_answers_are_grouped_by_subclass(city: City) -> None:
    operator = city.users["operator_a"]
    both = services.publish_answer(
        operator,
        area=city["street_a"],
        question="外来人员能进小区吗",
        answer="凭出入证进出。",
        subclasses="S01, s02",
    )
    assert both.subclasses == ["S01", "S02"]
    services.publish_answer(
        SYSTEM, area=city["street_b"], question="B街道的问题", answer="B", subclasses=["S01"]
    )
    gone = services.publish_answer(
        operator, area=city["street_a"], question="撤回的", answer="x", subclasses=["S01"]
    )
    services.withdraw_answer(operator, gone)
    groups = answers_by_subclass(city["compound_a1"])
    assert [g["code"] for g in groups] == ["S01", "S02"]
    assert [a.question for a in groups[0]["answers"]] == ["外来人员能进小区吗"]
    assert [a.pk for a in answers_for_subclass(city["compound_a1"], "S02")] == [both.pk]
    assert answers_for_subclass(city["compound_a1"], "S03") == []


@pytest.mark.django_db
def test_the_residents_page_is_public(city: City) -> None:
    services.publish_notice(SYSTEM, area=city["street_a"], title="街道A通知", body="测体温")
    services.publish_notice(SYSTEM, area=city["street_b"], title="街道B通知", body="测体温")
    services.publish_answer(
        SYSTEM, area=city["district"], question="哪里买口罩", answer="预约。", subclasses=["S01"]
    )
    page = Client().get(f"/notices/for/{city['compound_a1'].code}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "街道A通知" in html and "街道B通知" not in html
    assert "哪里买口罩" in html and 'data-subclass="S01"' in html
    assert Client().get("/notices/for/nowhere/").status_code == 404


@pytest.mark.django_db
def test_the_staff_page_publishes_and_withdraws(city: City, login: Any) -> None:
    client = login("operator_a")
    assert client.get("/notices/").status_code == 200
    made = client.post(
        "/notices/", {"kind": "notice", "area": "310101001", "title": "通知", "body": "内容"}
    )
    assert made.status_code == 302
    notice = Notice.objects.get()
    assert notice.area == city["street_a"] and notice.published_by
    bad = client.post(
        "/notices/", {"kind": "notice", "area": "310101002", "title": "", "body": "x"}
    )
    assert bad.status_code == 400
    html = bad.content.decode()
    assert 'id="err-n-area"' in html and 'id="err-n-title"' in html
    answer = client.post(
        "/notices/",
        {
            "kind": "answer",
            "area": "310101001",
            "question": "问",
            "answer": "答",
            "subclasses": ["S01"],
        },
    )
    assert answer.status_code == 302 and Answer.objects.get().subclasses == ["S01"]
    assert Notice.objects.count() == 1
    other = services.publish_notice(SYSTEM, area=city["street_b"], title="B", body="b")
    assert client.post(f"/notices/{other.pk}/withdraw/").status_code == 404
    assert client.post(f"/notices/{notice.pk}/withdraw/").status_code == 302
    notice.refresh_from_db()
    assert notice.withdrawn_at is not None
    assert client.post(f"/notices/answers/{Answer.objects.get().pk}/withdraw/").status_code == 302
    assert Answer.objects.get().withdrawn_at is not None
    assert login("resident_a1").get("/notices/").status_code == 403
    hotline = login("hotline") if "hotline" in city.users else None
    assert hotline is None or hotline.get("/notices/").status_code == 200
