"""Gate records (A2): visitors and vehicles registered at a gate, the hourly statistics of a
gate's or a compound's day, the phone pages and the API."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridguard.access.models import GateEvent, GateVehicle, GateVisitor
from gridguard.access.selectors import gates as selectors
from gridguard.access.services import gates as services
from gridguard.access.services.inputs import is_plate, normalise_plate
from gridguard.accounts import services as accounts
from gridguard.core import clock
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.people.models import Household
from gridguard.territory import services as territory
from tests.conftest import City

pytestmark = [pytest.mark.django_db]

NOON = dt.datetime(2020, 2, 10, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai
DAY = dt.date(2020, 2, 10)
API = "/api/v1/access/gates"


def local(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    """A Shanghai wall-clock time on `day`, as an aware datetime."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=clock.SHANGHAI)


def household(city: City, side: str = "a1", room: str = "302") -> Household:
    building = city[f"building_{side}"]
    return Household.objects.create(area=building, room=room, address=f"{building.name}{room}室")


def visitor_fields(city: City, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": "赵敏",
        "phone": "13912345678",
        "purpose": "探亲",
        "host_household": household(city).pk,
        "temperature": "36.5",
    }
    fields.update(extra)
    return fields


def vehicle_fields(**extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "plate": "沪A12345",
        "driver_name": "钱进",
        "driver_phone": "13800001111",
        "passengers": 2,
        "purpose": "送物资",
        "temperature": "36.6",
    }
    fields.update(extra)
    return fields


def nothing_written() -> bool:
    return not GateVisitor.objects.exists() and not GateVehicle.objects.exists()


@pytest.fixture(autouse=True)
def _english() -> Any:
    """Messages are checked in English (the Chinese catalogue comes separately)."""
    with translation.override("en"):
        yield


@pytest.fixture
def login(city: City) -> Any:
    """A client logged in as one of the city's users, asking for English pages."""

    def make(username: str) -> Client:
        c = Client(HTTP_ACCEPT_LANGUAGE="en")
        c.force_login(city.users[username])
        return c

    return make


# --- services -------------------------------------------------------------------------------


def test_volunteer_registers_a_visitor_and_marks_them_out(city: City) -> None:
    volunteer = city.users["volunteer_a1"]
    with clock.frozen(NOON):
        v = services.register_visitor(volunteer, city["gate_a1"], **visitor_fields(city))
        assert v.admitted and v.time_in == NOON and v.area == city["gate_a1"]
        assert v.recorded_by == "volunteer_a1"
        assert services.verdict_of(v).admitted
    with clock.frozen(NOON + dt.timedelta(hours=2)):
        out = services.visitor_out(volunteer, v, time_out=local(13, 30))
    assert out.time_out == local(13, 30)
    assert GateVisitor.objects.get().time_out == local(13, 30)
    actions = list(
        AuditEntry.objects.filter(action__startswith="gate.").order_by("seq").values_list("action")
    )
    assert actions == [("gate.visitor",), ("gate.visitor_out",)]
    with pytest.raises(InvalidInput) as exc:
        services.visitor_out(volunteer, v)
    assert exc.value.errors[0].code == "already_out"


def test_a_visitor_with_a_fever_is_kept_out_with_a_clear_verdict(city: City) -> None:
    with clock.frozen(NOON):
        v = services.register_visitor(
            city.users["volunteer_a1"], city["gate_a1"], **visitor_fields(city, temperature="37.8")
        )
    assert v.admitted is False and v.temperature == Decimal("37.8")
    verdict = services.verdict_of(v)
    assert not verdict.admitted and "37.8" in verdict.message and "fever" in verdict.message
    with pytest.raises(InvalidInput) as exc:
        services.visitor_out(city.users["volunteer_a1"], v)
    assert exc.value.errors[0].code == "not_admitted"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("name", "", "required"),
        ("name", "张" * 61, "too_long"),
        ("phone", "12345", "invalid"),
        ("phone", "", "required"),
        ("purpose", "", "required"),
        ("temperature", "45", "range"),
        ("temperature", "33.9", "range"),
        ("temperature", "hot", "invalid"),
        ("time_in", "2020-02-10T13:00", "future"),  # an hour after NOON, Shanghai time
        ("time_in", "2019-12-01T08:00", "too_old"),
        ("time_in", "yesterday", "invalid"),
        ("host_household", "", "required"),
        ("host_household", "999999", "unknown"),
    ],
)
def test_bad_visitor_input_names_the_field_and_writes_nothing(
    city: City, field: str, value: str, code: str
) -> None:
    before = AuditEntry.objects.count()
    with clock.frozen(NOON), pytest.raises(InvalidInput) as exc:
        services.register_visitor(
            city.users["volunteer_a1"], city["gate_a1"], **visitor_fields(city, **{field: value})
        )
    assert [(e.field, e.code) for e in exc.value.errors] == [(field, code)]
    assert nothing_written() and AuditEntry.objects.count() == before


def test_the_host_must_live_behind_the_gate(city: City) -> None:
    other = household(city, "a2")  # compound A2, same street, another compound
    with clock.frozen(NOON), pytest.raises(InvalidInput) as exc:
        services.register_visitor(
            city.users["committee_a1"],
            city["gate_a1"],
            **visitor_fields(city, host_household=other.pk),
        )
    assert exc.value.by_field() == {
        "host_household": ["This household does not live behind this gate."]
    }
    assert nothing_written()


def test_every_bad_field_is_reported_at_once(city: City) -> None:
    with clock.frozen(NOON), pytest.raises(InvalidInput) as exc:
        services.register_visitor(
            city.users["volunteer_a1"],
            city["gate_a1"],
            name="",
            phone="1",
            purpose="",
            host_household="",
            temperature="45",
            time_in="2030-01-01T00:00",
        )
    assert {e.field for e in exc.value.errors} == {
        "name",
        "phone",
        "purpose",
        "host_household",
        "temperature",
        "time_in",
    }
    assert nothing_written()


def test_out_of_scope_and_wrong_role_and_not_a_gate_write_nothing(city: City) -> None:
    fields = visitor_fields(city)
    with pytest.raises(OutOfScope):  # a volunteer of compound A1 at compound B1's gate
        services.register_visitor(city.users["volunteer_a1"], city["gate_b1"], **fields)
    with pytest.raises(NotPermitted):  # an operator may read gates but not register
        services.register_visitor(city.users["operator_a"], city["gate_a1"], **fields)
    with pytest.raises(InvalidInput) as exc:
        services.register_visitor(city.users["volunteer_a1"], city["compound_a1"], **fields)
    assert exc.value.errors[0].field == "gate"
    with pytest.raises(InvalidInput):
        services.register_vehicle(
            city.users["volunteer_a1"], city["building_a1"], **vehicle_fields()
        )
    assert nothing_written()


def test_vehicle_registration_with_passengers_and_fever(city: City) -> None:
    volunteer = city.users["volunteer_a1"]
    with clock.frozen(NOON):
        car = services.register_vehicle(
            volunteer,
            city["gate_a1"],
            **vehicle_fields(
                plate="沪a·12345",
                passengers="",
                passenger_list=[{"name": "孙立"}, {"name": "周芳", "temperature": "37.5"}],
            ),
        )
        out = services.register_vehicle(
            volunteer,
            city["gate_a1"],
            **vehicle_fields(plate="沪AD12345", direction="out", temperature="38"),
        )
    assert car.plate == "沪A12345" and car.passengers == 2 and car.admitted is False
    assert car.passenger_list[1] == {"name": "周芳", "temperature": "37.5"}
    assert "37.5" in services.verdict_of(car).message
    # A vehicle leaving is written down, not kept in.
    assert out.admitted is True and out.direction == "out"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("plate", "沪A1234", "invalid"),
        ("plate", "ABC12345", "invalid"),
        ("plate", "沪AI2345", "invalid"),  # no I on plates
        ("plate", "沪A123456", "invalid"),  # 8 characters but not new-energy
        ("plate", "", "required"),
        ("driver_name", "", "required"),
        ("driver_phone", "0000", "invalid"),
        ("passengers", "-1", "range"),
        ("passengers", "61", "range"),
        ("passengers", "two", "invalid"),
        ("temperature", "45", "range"),
        ("direction", "sideways", "invalid"),
        ("at", "2020-02-11T08:00", "future"),
    ],
)
def test_bad_vehicle_input_names_the_field_and_writes_nothing(
    city: City, field: str, value: str, code: str
) -> None:
    with clock.frozen(NOON), pytest.raises(InvalidInput) as exc:
        services.register_vehicle(
            city.users["volunteer_a1"], city["gate_a1"], **vehicle_fields(**{field: value})
        )
    assert [(e.field, e.code) for e in exc.value.errors] == [(field, code)]
    assert nothing_written()


def test_listed_passengers_are_checked_row_by_row(city: City) -> None:
    with clock.frozen(NOON), pytest.raises(InvalidInput) as exc:
        services.register_vehicle(
            city.users["volunteer_a1"],
            city["gate_a1"],
            **vehicle_fields(
                passengers=1, passenger_list=[{"name": "甲"}, {"name": "", "temperature": "50"}]
            ),
        )
    assert {e.field for e in exc.value.errors} == {
        "passenger_list.2.name",
        "passenger_list.2.temperature",
        "passengers",
    }
    assert nothing_written()


@pytest.mark.parametrize(
    "plate",
    [
        "沪A12345",
        "京B2X3Y4",
        "粤Z1234港",
        "沪AD12345",
        "沪ADA1234",
        "沪A12345D",
        "苏E12345F",
        "使123456",
    ],
)
def test_plates_that_are_accepted(plate: str) -> None:
    assert is_plate(normalise_plate(plate))


@pytest.mark.parametrize("plate", ["沪A12", "沪AO1234", "X A12345", "沪A12345DD", "沪A-1234"])
def test_plates_that_are_refused(plate: str) -> None:
    assert not is_plate(normalise_plate(plate))


_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=80)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    name=_text,
    phone=st.one_of(_text, st.from_regex(r"1[3-9]\d{9}", fullmatch=True)),
    purpose=_text,
    temperature=st.one_of(
        st.none(), st.floats(allow_nan=True, allow_infinity=True), _text, st.integers()
    ),
    plate=st.one_of(_text, st.from_regex(r"沪[A-HJ-NP-Z][A-HJ-NP-Z0-9]{5}", fullmatch=True)),
    passengers=st.one_of(st.none(), st.integers(-5, 100), _text),
)
def test_any_input_is_either_saved_clean_or_refused_whole(
    city: City,
    name: str,
    phone: str,
    purpose: str,
    temperature: Any,
    plate: str,
    passengers: Any,
) -> None:
    """Whatever is typed, a registration is saved with checked values or refused naming fields,
    and a refusal writes nothing."""
    volunteer, gate = city.users["volunteer_a1"], city["gate_a1"]
    host = Household.objects.filter(area=city["building_a1"]).first() or household(city)
    for register, fields in (
        (
            services.register_visitor,
            {
                "name": name,
                "phone": phone,
                "purpose": purpose,
                "host_household": host.pk,
                "temperature": temperature,
            },
        ),
        (
            services.register_vehicle,
            {
                "plate": plate,
                "driver_name": name,
                "driver_phone": phone,
                "passengers": passengers,
                "temperature": temperature,
            },
        ),
    ):
        model = GateVisitor if register is services.register_visitor else GateVehicle
        before = model.objects.count()
        try:
            saved = register(volunteer, gate, **fields)
        except InvalidInput as exc:
            assert exc.errors and all(e.field for e in exc.errors)
            assert model.objects.count() == before
            continue
        assert model.objects.count() == before + 1
        saved.refresh_from_db()
        if saved.temperature is not None:
            assert Decimal("34.0") <= saved.temperature <= Decimal("42.0")
            assert saved.admitted == (saved.temperature < Decimal("37.3"))
        if isinstance(saved, GateVehicle):
            assert is_plate(saved.plate) and 0 <= saved.passengers <= 60
        else:
            assert 0 < len(saved.name) <= 60 and saved.name == saved.name.strip()


# --- statistics -------------------------------------------------------------------------------


def _scan(gate: Any, at: dt.datetime, verdict: str = "ok") -> GateEvent:
    return GateEvent.objects.create(area=gate, verdict=verdict, scanned_at=at)


@pytest.fixture
def busy_day(city: City) -> dict[str, Any]:
    """Scans, visitors and vehicles at compound A1's two gates on 2020-02-10 (and around)."""
    south = territory.create_area(
        SYSTEM,
        code=city["compound_a1"].code + "G02",
        name="A1小区南门",
        kind="gate",
        parent=city["compound_a1"],
    )
    north = city["gate_a1"]
    for at, verdict in [
        (local(0, 30), "ok"),  # 16:30 UTC the day before: hour 0 of the 10th
        (local(8, 5), "ok"),
        (local(8, 10), "ok"),
        (local(8, 40), "ok"),
        (local(8, 45), "fever"),
        (local(9, 0), "ok"),
        (local(9, 59), "expired"),
        (local(9, 59), "code_red"),
        (local(23, 59), "ok"),
        (local(23, 50, DAY - dt.timedelta(days=1)), "ok"),  # the 9th: not counted
        (local(0, 0, DAY + dt.timedelta(days=1)), "ok"),  # the 11th: not counted
    ]:
        _scan(north, at, verdict)
    _scan(south, local(8, 20), "ok")
    _scan(south, local(8, 25), "expired")
    _scan(city["gate_a2"], local(8, 30), "ok")  # another compound
    host = household(city)
    volunteer = city.users["volunteer_a1"]
    with clock.frozen(local(23, 59)):
        for at, temp, gate in [
            (local(8, 15), "36.5", north),
            (local(8, 50), "38.1", north),
            (local(10, 0), "36.4", south),
        ]:
            services.register_visitor(
                volunteer,
                gate,
                name="访客",
                phone="13900000000",
                purpose="探亲",
                host_household=host.pk,
                temperature=temp,
                time_in=at,
            )
        services.register_vehicle(volunteer, north, **vehicle_fields(at=local(9, 30)))
        services.register_vehicle(
            volunteer, south, **vehicle_fields(at=local(9, 45), temperature="37.6")
        )
    return {"north": north, "south": south}


def _hour(stats: selectors.GateDayStats, h: int) -> dict[str, Any]:
    return stats.hours[h].as_dict()


def test_hourly_stats_of_one_gate(city: City, busy_day: dict[str, Any]) -> None:
    stats = selectors.hourly_stats(city.users["volunteer_a1"], busy_day["north"], DAY)
    assert len(stats.hours) == 24
    assert _hour(stats, 0)["entries"] == 1
    assert _hour(stats, 8) == {
        "hour": 8,
        "entries": 3,
        "refused": 1,
        "refusals": {"fever": 1},
        "visitors": 2,
        "visitors_refused": 1,
        "vehicles": 0,
        "vehicles_refused": 0,
    }
    assert _hour(stats, 9)["refusals"] == {"code_red": 1, "expired": 1}
    assert _hour(stats, 9)["entries"] == 1 and _hour(stats, 9)["vehicles"] == 1
    assert _hour(stats, 23)["entries"] == 1
    assert stats.total.as_dict() == {
        "hour": -1,
        "entries": 6,
        "refused": 3,
        "refusals": {"code_red": 1, "expired": 1, "fever": 1},
        "visitors": 2,
        "visitors_refused": 1,
        "vehicles": 1,
        "vehicles_refused": 0,
    }
    # Columns in the order of the verdicts.
    assert stats.reasons == ["expired", "code_red", "fever"]


def test_hourly_stats_of_a_whole_compound(city: City, busy_day: dict[str, Any]) -> None:
    stats = selectors.hourly_stats(city.users["committee_a1"], city["compound_a1"], DAY)
    assert _hour(stats, 8)["entries"] == 4 and _hour(stats, 8)["refusals"] == {
        "expired": 1,
        "fever": 1,
    }
    assert _hour(stats, 9)["vehicles"] == 2 and _hour(stats, 9)["vehicles_refused"] == 1
    assert _hour(stats, 10)["visitors"] == 1
    assert stats.total.entries == 7 and stats.total.refused == 4
    assert stats.total.visitors == 3 and stats.total.vehicles == 2
    # The day before, only the 23:50 scan.
    before = selectors.hourly_stats(
        city.users["committee_a1"], city["compound_a1"], DAY - dt.timedelta(days=1)
    )
    assert before.total.entries == 1 and before.hours[23].entries == 1


def test_hourly_stats_and_lists_are_scoped(city: City, busy_day: dict[str, Any]) -> None:
    with pytest.raises(OutOfScope):
        selectors.hourly_stats(city.users["operator_b"], city["compound_a1"], DAY)
    with pytest.raises(OutOfScope):
        selectors.place_by_code(city.users["operator_b"], city["gate_a1"].code)
    assert not selectors.visitors_visible_to(city.users["operator_b"]).exists()
    assert selectors.visitors_visible_to(city.users["operator_a"]).count() == 3
    assert (
        selectors.visitors_visible_to(
            city.users["operator_a"], place=busy_day["south"], day=DAY
        ).count()
        == 1
    )
    assert selectors.vehicles_visible_to(city.users["committee_a1"], day=DAY).count() == 2
    assert (
        selectors.vehicles_visible_to(
            city.users["committee_a1"], day=DAY + dt.timedelta(days=1)
        ).count()
        == 0
    )
    with pytest.raises(NotPermitted):
        selectors.visitors_visible_to(city.users["pharmacist_a1"])


def test_hourly_stats_take_three_queries(
    city: City, busy_day: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    user = city.users["committee_a1"]
    user.bindings()  # the user's bindings are read once per request, before the page's work
    with django_assert_max_num_queries(3):
        selectors.hourly_stats(user, city["compound_a1"], DAY)


# --- pages ------------------------------------------------------------------------------------


def test_volunteer_registers_a_visitor_on_the_phone_page(city: City, login: Any) -> None:
    c = login("volunteer_a1")
    host = household(city)
    gate = city["gate_a1"].code
    page = c.get(f"/gate-records/{gate}/visitor/")
    assert page.status_code == 200 and "A1小区1号楼302室" in page.content.decode()
    bad = c.post(
        f"/gate-records/{gate}/visitor/",
        {
            "name": "赵敏",
            "phone": "12",
            "purpose": "探亲",
            "host_household": host.pk,
            "temperature": "45",
        },
    )
    html = bad.content.decode()
    assert bad.status_code == 400 and 'id="err-phone"' in html and 'id="err-temperature"' in html
    assert 'value="赵敏"' in html and nothing_written()
    with clock.frozen(NOON):
        ok = c.post(
            f"/gate-records/{gate}/visitor/",
            {
                "name": "赵敏",
                "phone": "13912345678",
                "purpose": "探亲",
                "host_household": host.pk,
                "temperature": "36.5",
            },
        )
        assert ok.status_code == 302 and ok["Location"] == f"/gate-records/{gate}/"
        day = c.get(f"{ok['Location']}?date=2020-02-10", follow=True).content.decode()
    assert "赵敏" in day and "139****5678" in day and "13912345678" not in day
    assert 'id="hourly-chart"' in day and 'id="hourly-data"' in day
    v = GateVisitor.objects.get()
    with clock.frozen(NOON + dt.timedelta(hours=1)):
        assert c.post(f"/gate-records/visitors/{v.pk}/out/").status_code == 302
    v.refresh_from_db()
    assert v.time_out == NOON + dt.timedelta(hours=1)
    # Showing the day's visitors is audited as a read of personal data.
    read = AuditEntry.objects.filter(action="read", object_type="access.gatevisitor").last()
    assert read is not None and read.object_id == gate and read.detail["visitors"] == 1


def test_fever_visitor_page_says_not_admitted(city: City, login: Any) -> None:
    c = login("volunteer_a1")
    host = household(city)
    r = c.post(
        f"/gate-records/{city['gate_a1'].code}/visitor/",
        {
            "name": "孙七",
            "phone": "13912345678",
            "purpose": "探亲",
            "host_household": host.pk,
            "temperature": "38.2",
        },
        follow=True,
    )
    html = r.content.decode()
    assert "Not admitted: fever (38.2" in html
    assert GateVisitor.objects.get().admitted is False


def test_vehicle_page_keeps_values_and_shows_errors_beside_fields(city: City, login: Any) -> None:
    c = login("volunteer_a1")
    url = f"/gate-records/{city['gate_a1'].code}/vehicle/"
    assert c.get(url).status_code == 200
    r = c.post(
        url,
        {
            "plate": "沪A1",
            "direction": "in",
            "driver_name": "钱进",
            "passenger_names": "甲\n乙",
            "passengers": "1",
        },
    )
    html = r.content.decode()
    assert r.status_code == 400 and 'id="err-plate"' in html and 'id="err-passengers"' in html
    assert 'value="钱进"' in html and nothing_written()
    r = c.post(
        url,
        {
            "plate": "沪A12345",
            "direction": "in",
            "driver_name": "钱进",
            "passenger_names": "甲\n乙",
        },
    )
    assert r.status_code == 302
    car = GateVehicle.objects.get()
    assert car.passengers == 2 and [p["name"] for p in car.passenger_list] == ["甲", "乙"]


def test_pages_are_scoped_and_need_the_role(city: City, login: Any) -> None:
    gate_a, gate_b = city["gate_a1"].code, city["gate_b1"].code
    assert login("volunteer_a1").get(f"/gate-records/{gate_b}/").status_code == 404
    assert login("volunteer_a1").get(f"/gate-records/{gate_b}/visitor/").status_code == 404
    assert login("operator_b").get(f"/gate-records/{gate_a}/").status_code == 404
    assert login("operator_b").get(f"/gate-records/{city['compound_a1'].code}/").status_code == 404
    assert login("operator_a").get(f"/gate-records/{gate_a}/").status_code == 200
    # An operator reads but does not register.
    assert login("operator_a").get(f"/gate-records/{gate_a}/visitor/").status_code == 404
    assert login("pharmacist_a1").get("/gate-records/").status_code == 403
    assert login("resident_a1").get(f"/gate-records/{gate_a}/").status_code == 404
    assert Client().get(f"/gate-records/{gate_a}/").status_code == 302  # to the login page
    index = login("volunteer_a1").get("/gate-records/").content.decode()
    assert city["gate_a1"].name in index and city["gate_b1"].name not in index
    with clock.frozen(NOON):
        v = services.register_visitor(
            city.users["volunteer_a1"], city["gate_a1"], **visitor_fields(city)
        )
    assert login("operator_b").post(f"/gate-records/visitors/{v.pk}/out/").status_code == 404
    assert login("operator_a").post(f"/gate-records/visitors/{v.pk}/out/").status_code == 404
    assert GateVisitor.objects.get().time_out is None


def test_forms_need_the_csrf_token(city: City) -> None:
    c = Client(enforce_csrf_checks=True)
    c.force_login(city.users["volunteer_a1"])
    r = c.post(f"/gate-records/{city['gate_a1'].code}/visitor/", visitor_fields(city))
    assert r.status_code == 403 and nothing_written()


def test_compound_day_page_adds_up_its_gates(
    city: City, login: Any, busy_day: dict[str, Any]
) -> None:
    html = (
        login("committee_a1")
        .get(f"/gate-records/{city['compound_a1'].code}/?date=2020-02-10")
        .content.decode()
    )
    assert "Entries 7 · Refused 4 · Visitors 3 · Vehicles 2" in html
    chart = json.loads(
        html.split('id="hourly-data" type="application/json">')[1].split("</script>")[0]
    )
    assert chart["hours"][8] == "08:00"
    assert [s["data"][8] for s in chart["series"]] == [4, 2, 2, 0]


# --- API --------------------------------------------------------------------------------------


def _post(c: Client, path: str, body: dict[str, Any], **headers: Any) -> Any:
    return c.post(API + path, data=json.dumps(body), content_type="application/json", **headers)


def test_api_visitor_in_and_out_and_vehicle(city: City, login: Any) -> None:
    c = login("volunteer_a1")
    body = visitor_fields(city, gate=city["gate_a1"].code, temperature=37.9)
    with clock.frozen(NOON):
        r = _post(c, "/visitors", body)
        assert r.status_code == 200, r.content
        assert r.json()["admitted"] is False and "fever" in r.json()["verdict"]
        ok = _post(c, "/visitors", {**body, "temperature": 36.5})
        out = _post(c, f"/visitors/{ok.json()['id']}/out", {})
        assert out.status_code == 200 and out.json()["time_out"] is not None
        car = _post(
            c,
            "/vehicles",
            {
                **vehicle_fields(temperature=36.5),
                "gate": city["gate_a1"].code,
                "passenger_list": [{"name": "甲"}],
            },
        )
    assert car.status_code == 200, car.content
    assert car.json()["plate"] == "沪A12345" and car.json()["passengers"] == 2


def test_api_bad_input_names_the_field_and_writes_nothing(city: City, login: Any) -> None:
    c = login("volunteer_a1")
    gate = city["gate_a1"].code
    with clock.frozen(NOON):
        for body, field in [
            (visitor_fields(city, gate=gate, phone="555"), "phone"),
            (visitor_fields(city, gate=gate, temperature=45.0), "temperature"),
            (visitor_fields(city, gate=gate, time_in="2020-02-10T20:00:00+08:00"), "time_in"),
            (visitor_fields(city, gate=gate, time_in="not a time"), "time_in"),
        ]:
            r = _post(c, "/visitors", body)
            assert r.status_code == 422, r.content
            assert [e["field"] for e in r.json()["errors"]] == [field]
        r = _post(c, "/vehicles", {**vehicle_fields(plate="沪1234567"), "gate": gate})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "plate"
        # Another street's gate, an unknown gate, a role that may not register.
        assert (
            _post(c, "/visitors", visitor_fields(city, gate=city["gate_b1"].code)).status_code
            == 404
        )
        assert _post(c, "/visitors", visitor_fields(city, gate="nope")).status_code == 404
        assert (
            _post(login("operator_a"), "/visitors", visitor_fields(city, gate=gate)).status_code
            == 403
        )
    assert nothing_written()


def test_api_gate_scanner_token_registers_at_its_gate_only(city: City) -> None:
    _t, secret = accounts.issue_token(
        SYSTEM, name="north gate", purpose="gate_scanner", area=city["gate_a1"]
    )
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    with clock.frozen(NOON):
        r = _post(Client(), "/vehicles", {**vehicle_fields(), "gate": city["gate_a1"].code}, **auth)
        assert r.status_code == 200, r.content
        assert r.json()["driver_phone"] == "138****1111"  # a device does not reveal phones
        other = _post(
            Client(), "/vehicles", {**vehicle_fields(), "gate": city["gate_a2"].code}, **auth
        )
        assert other.status_code == 404
        stats = Client().get(f"{API}/{city['gate_a1'].code}/stats?date=2020-02-10", **auth)
        assert stats.status_code == 200 and stats.json()["total"]["vehicles"] == 1
        # Lists of people need "gate.view", which a scanner does not hold.
        assert Client().get(f"{API}/visitors", **auth).status_code == 403
    assert GateVehicle.objects.count() == 1
    _t, checkpoint = accounts.issue_token(
        SYSTEM, name="kp", purpose="checkpoint_device", area=city["street_a"]
    )
    r = _post(
        Client(),
        "/vehicles",
        {**vehicle_fields(), "gate": city["gate_a1"].code},
        HTTP_AUTHORIZATION=f"Bearer {checkpoint}",
    )
    assert r.status_code == 403


def test_api_stats_lists_and_scope(city: City, login: Any, busy_day: dict[str, Any]) -> None:
    c = login("operator_a")
    r = c.get(f"{API}/{city['compound_a1'].code}/stats?date=2020-02-10")
    assert r.status_code == 200
    data = r.json()
    assert data["kind"] == "compound" and len(data["hours"]) == 24
    assert data["hours"][8]["refusals"] == {"expired": 1, "fever": 1}
    assert data["total"]["entries"] == 7 and data["total"]["visitors"] == 3
    assert login("operator_b").get(f"{API}/{city['compound_a1'].code}/stats").status_code == 404
    listed = c.get(f"{API}/visitors?place={city['gate_a1'].code}&date=2020-02-10").json()
    assert len(listed["results"]) == 2 and listed["results"][0]["phone"] == "13900000000"
    assert login("operator_b").get(f"{API}/visitors").json()["results"] == []
    assert (
        login("operator_b").get(f"{API}/visitors?place={city['gate_a1'].code}").status_code == 404
    )
    assert len(c.get(f"{API}/vehicles?date=2020-02-10").json()["results"]) == 2
    assert AuditEntry.objects.filter(action="read", object_type="access.gatevisitor").exists()
