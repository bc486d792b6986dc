"""Checkpoints (A3): setting them up, recording checks with scanned registration receipts,
daily counts per checkpoint and per street, the pages and the API."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from gridguard.access.models import Checkpoint, CheckpointCheck
from gridguard.access.selectors import checkpoints as selectors
from gridguard.access.services import checkpoints as services
from gridguard.accounts import services as accounts
from gridguard.core import clock
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.health.models import RegistrationIntake, TravellerRegistration
from gridguard.territory import services as territory
from tests import factories
from tests.conftest import City

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2020, 2, 10, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai
DAY = dt.date(2020, 2, 10)
API = "/api/v1/access/checkpoints"


def local(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=clock.SHANGHAI)


def checkpoint(city: City, side: str = "a") -> Checkpoint:
    return services.set_up_checkpoint(SYSTEM, city[f"checkpoint_{side}"], kind="road")


def volunteer_at(city: City, side: str = "a") -> Any:
    """A gate volunteer on duty at the checkpoint of street `side`."""
    return accounts.create_user(
        SYSTEM,
        username=f"kp_{side}",
        password="Grid-Guard-2026!",
        bindings=[("gate_volunteer", city[f"checkpoint_{side}"])],
        validate=False,
    )


def registration(city: City, **extra: Any) -> TravellerRegistration:
    return factories.registration(
        factories.person(city["compound_b1"]), city["compound_b1"], **extra
    )


def nothing_written() -> bool:
    return (
        not CheckpointCheck.objects.exists()
        and not CheckpointCheck.registrations.through.objects.exists()
    )


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


# --- set up -----------------------------------------------------------------------------------


def test_set_up_a_checkpoint_and_change_it(city: City) -> None:
    operator = city.users["operator_a"]
    cp = services.set_up_checkpoint(operator, city["checkpoint_a"], kind="rail")
    assert cp.kind == "rail" and cp.active and cp.area == city["checkpoint_a"]
    again = services.set_up_checkpoint(operator, city["checkpoint_a"], kind="road", active=False)
    assert again.pk == cp.pk and Checkpoint.objects.get().kind == "road" and not again.active
    actions = list(
        AuditEntry.objects.filter(action__startswith="checkpoint.")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["checkpoint.set_up", "checkpoint.change"]
    with pytest.raises(InvalidInput) as exc:
        services.set_up_checkpoint(operator, city["gate_a1"], kind="road")
    assert exc.value.errors[0].field == "area"
    with pytest.raises(InvalidInput) as exc:
        services.set_up_checkpoint(operator, city["checkpoint_a"], kind="space")
    assert exc.value.errors[0].field == "kind"
    with pytest.raises(OutOfScope):
        services.set_up_checkpoint(operator, city["checkpoint_b"], kind="road")
    with pytest.raises(NotPermitted):  # the health centre reads counts; the centre sets up
        services.set_up_checkpoint(city.users["health_a"], city["checkpoint_a"], kind="road")
    assert Checkpoint.objects.count() == 1


# --- record -----------------------------------------------------------------------------------


def test_a_check_links_the_scanned_receipts(city: City) -> None:
    cp = checkpoint(city)
    regs = [registration(city), registration(city, origin_province="浙江省", origin_city="温州市")]
    kp = volunteer_at(city)
    codes = [r.receipt_code for r in regs]
    with clock.frozen(NOON):
        check = services.record_check(
            kp,
            cp,
            plate="鄂A 12345",
            passengers=3,
            # Lower case, a newline and a comma, and the first code scanned twice.
            receipt_codes=f"{codes[0].lower()}\n{codes[1]}, {codes[0]}",
        )
    assert check.area == city["checkpoint_a"] and check.checked_at == NOON
    assert check.plate == "鄂A12345" and check.passengers == 3 and check.outcome == "cleared"
    assert set(check.registrations.all()) == set(regs)
    # No origin typed: the first receipt's.
    assert (check.origin_province, check.origin_city) == ("湖北省", "武汉市")
    entry = AuditEntry.objects.get(action="checkpoint.check")
    assert entry.area_path == city["checkpoint_a"].path
    assert sorted(entry.detail["receipts"]) == sorted(r.receipt_code for r in regs)


def test_a_receipt_still_in_the_intake_queue_is_placed_and_linked(city: City) -> None:
    from gridguard.health.services import registration as registrations

    cp = checkpoint(city)
    kp = volunteer_at(city)
    declaration = registrations.Declaration(
        id_type="resident_id",
        id_number=factories.id_number(),
        name="吴刚",
        phone="13911112222",
        origin_province="湖北省",
        origin_city="武汉市",
        transport="car",
        vehicle_number="鄂A12345",
        arrival_date="2020-02-10",
        destination_address="外滩街道B1小区1号楼101室",
    )
    with clock.frozen(NOON):
        intake, _created = registrations.accept_registration(
            city.users["committee_a1"], declaration, submission_key="kp-1", channel="staff"
        )
        code = intake.receipt_code
        assert RegistrationIntake.objects.filter(
            receipt_code=code, processed_at__isnull=True
        ).exists()
        check = services.record_check(kp, cp, receipt_codes=[code])
    assert [r.receipt_code for r in check.registrations.all()] == [code]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("plate", "沪A123", "invalid"),
        ("plate", "沪AO1234", "invalid"),
        ("origin_province", "火星", "unknown"),
        ("origin_city", "城" * 41, "too_long"),
        ("passengers", "0", "range"),
        ("passengers", "100", "range"),
        ("passengers", "many", "invalid"),
        ("fever_count", "-1", "range"),
        ("outcome", "waved", "invalid"),
        ("note", "x" * 256, "too_long"),
        ("checked_at", "2020-02-10T18:00", "future"),
        ("receipt_codes", "NOSUCHCODE", "unknown"),
        ("receipt_codes", "<script>", "unknown"),
    ],
)
def test_bad_check_input_names_the_field_and_writes_nothing(
    city: City, field: str, value: str, code: str
) -> None:
    cp = checkpoint(city)
    kp = volunteer_at(city)
    before = AuditEntry.objects.count()
    with clock.frozen(NOON), pytest.raises(InvalidInput) as exc:
        services.record_check(kp, cp, **{field: value})
    assert [(e.field, e.code) for e in exc.value.errors] == [(field, code)]
    assert nothing_written() and AuditEntry.objects.count() == before


def test_the_unknown_receipt_is_named_and_the_known_ones_not_linked(city: City) -> None:
    cp = checkpoint(city)
    kp = volunteer_at(city)
    known = registration(city)
    with clock.frozen(NOON), pytest.raises(InvalidInput) as exc:
        services.record_check(
            kp,
            cp,
            passengers=2,
            receipt_codes=[known.receipt_code, "ZZZZ9999"],
        )
    assert exc.value.by_field() == {
        "receipt_codes": ["No registration has the receipt code “ZZZZ9999”."]
    }
    assert nothing_written()


def test_fevers_and_receipts_must_agree_with_the_travellers(city: City) -> None:
    cp = checkpoint(city)
    kp = volunteer_at(city)
    regs = [registration(city), registration(city)]
    with clock.frozen(NOON):
        with pytest.raises(InvalidInput) as exc:
            services.record_check(kp, cp, passengers=2, fever_count=3, outcome="referred")
        assert exc.value.errors[0].code == "more_than_travellers"
        with pytest.raises(InvalidInput) as exc:
            services.record_check(kp, cp, passengers=2, fever_count=1)
        assert exc.value.errors[0].field == "outcome"
        with pytest.raises(InvalidInput) as exc:
            services.record_check(
                kp,
                cp,
                passengers=1,
                receipt_codes=[r.receipt_code for r in regs],
            )
        assert exc.value.errors[0].field == "receipt_codes"
        assert nothing_written()
        check = services.record_check(kp, cp, passengers=2, fever_count=1, outcome="referred")
    assert check.fever_count == 1


def test_recording_is_scoped_and_needs_the_role(city: City) -> None:
    cp_b = checkpoint(city, "b")
    with pytest.raises(OutOfScope):
        services.record_check(volunteer_at(city, "a"), cp_b)
    with pytest.raises(NotPermitted):  # the centre reads, the officials on duty record
        services.record_check(city.users["operator_b"], cp_b)
    with pytest.raises(InvalidInput) as exc:
        services.record_check(city.users["committee_b1"], city["checkpoint_b"])  # type: ignore[arg-type]
    assert exc.value.errors[0].field == "checkpoint"
    services.set_up_checkpoint(SYSTEM, city["checkpoint_b"], kind="road", active=False)
    cp_b.refresh_from_db()
    with pytest.raises(InvalidInput) as exc:
        services.record_check(volunteer_at(city, "b"), cp_b)
    assert exc.value.errors[0].code == "inactive"
    assert nothing_written()


# --- counts -----------------------------------------------------------------------------------


@pytest.fixture
def two_days(city: City) -> dict[str, Any]:
    """Checks at three checkpoints, two in street A, one in street B, on the 9th and 10th."""
    second = territory.create_area(
        SYSTEM,
        code=city["street_a"].code + "K002",
        name="南京东路高速道口",
        kind="checkpoint",
        parent=city["street_a"],
    )
    a1, a2, b = (
        checkpoint(city, "a"),
        services.set_up_checkpoint(SYSTEM, second, kind="road"),
        checkpoint(city, "b"),
    )
    yesterday = DAY - dt.timedelta(days=1)
    rows = [
        # (checkpoint, when, plate, travellers, fevers, outcome)
        (a1, local(0, 10), "沪A11111", 2, 0, "cleared"),  # 16:10 UTC on the 9th: the 10th
        (a1, local(8, 0), "鄂A22222", 3, 1, "referred"),
        (a1, local(9, 0), "", 1, 0, "cleared"),  # on foot
        (a1, local(23, 59), "浙C33333", 1, 0, "turned_back"),
        (a2, local(10, 0), "苏A44444", 4, 0, "cleared"),
        (a2, local(23, 50, yesterday), "皖A55555", 2, 2, "turned_back"),
        (b, local(11, 0), "粤A66666", 5, 0, "cleared"),
        (b, local(12, 0, yesterday), "豫A77777", 1, 0, "cleared"),
    ]
    with clock.frozen(NOON + dt.timedelta(hours=12)):
        for cp, when, plate, n, fevers, outcome in rows:
            services.record_check(
                SYSTEM,
                cp,
                plate=plate,
                passengers=n,
                fever_count=fevers,
                outcome=outcome,
                checked_at=when,
            )
    return {"a1": a1, "a2": a2, "b": b, "yesterday": yesterday}


def test_daily_counts_per_checkpoint(city: City, two_days: dict[str, Any]) -> None:
    rows = selectors.daily_counts_per_checkpoint(
        city.users["operator_a"], two_days["yesterday"], DAY
    )
    got = [
        (
            r["day"],
            r["checkpoint_code"],
            r["checks"],
            r["vehicles"],
            r["travellers"],
            r["fevers"],
            r["turned_back"],
        )
        for r in rows
    ]
    a1, a2 = city["checkpoint_a"].code, city["street_a"].code + "K002"
    assert got == [
        (DAY, a1, 4, 3, 7, 1, 1),
        (DAY, a2, 1, 1, 4, 0, 0),
        (two_days["yesterday"], a2, 1, 1, 2, 2, 1),
    ]


def test_daily_counts_per_street_and_totals(city: City, two_days: dict[str, Any]) -> None:
    admin = city.users["admin"]
    rows = selectors.daily_counts_per_street(admin, two_days["yesterday"], DAY)
    got = [
        (
            r["day"],
            r["street_name"],
            r["checkpoints"],
            r["checks"],
            r["vehicles"],
            r["travellers"],
            r["fevers"],
            r["turned_back"],
        )
        for r in rows
    ]
    assert got == [
        (DAY, "南京东路街道", 2, 5, 4, 11, 1, 1),
        (DAY, "外滩街道", 1, 1, 1, 5, 0, 0),
        (two_days["yesterday"], "南京东路街道", 1, 1, 1, 2, 2, 1),
        (two_days["yesterday"], "外滩街道", 1, 1, 1, 1, 0, 0),
    ]
    assert selectors.totals(admin, two_days["yesterday"], DAY) == {
        "checkpoints": 3,
        "checks": 8,
        "vehicles": 7,
        "travellers": 19,
        "fevers": 3,
        "turned_back": 2,
    }
    # One street's operator sees their street only; `within` narrows further.
    mine = selectors.totals(city.users["operator_a"], two_days["yesterday"], DAY)
    assert mine["checkpoints"] == 2 and mine["vehicles"] == 5
    one = selectors.totals(admin, DAY, DAY, within=city["checkpoint_a"])
    assert one["checks"] == 4 and one["checkpoints"] == 1
    assert selectors.totals(city.users["operator_b"], DAY, DAY)["vehicles"] == 1
    with pytest.raises(OutOfScope):
        selectors.totals(city.users["operator_b"], DAY, DAY, within=city["street_a"])


def test_counts_are_one_grouped_query_each(
    city: City, two_days: dict[str, Any], django_assert_num_queries: Any
) -> None:
    user = city.users["operator_a"]
    user.bindings()
    for fn in (
        selectors.daily_counts_per_street,
        selectors.daily_counts_per_checkpoint,
        selectors.totals,
    ):
        with django_assert_num_queries(1):
            fn(user, two_days["yesterday"], DAY)


def test_date_ranges_are_checked(city: City) -> None:
    with pytest.raises(InvalidInput) as exc:
        selectors.check_range(DAY, DAY - dt.timedelta(days=1))
    assert exc.value.errors[0].field == "to"
    with pytest.raises(InvalidInput) as exc:
        selectors.check_range(DAY - dt.timedelta(days=400), DAY, fields=("since", "until"))
    assert exc.value.errors[0].field == "since"
    with clock.frozen(NOON):
        assert selectors.check_range(None, None) == (DAY - dt.timedelta(days=6), DAY)


# --- pages ------------------------------------------------------------------------------------


def test_official_records_a_check_on_the_phone_page(city: City, login: Any) -> None:
    cp = checkpoint(city)
    reg = registration(city)
    kp = volunteer_at(city)
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(kp)
    url = f"/checkpoints/{cp.area.code}/"
    assert c.get(url).status_code == 200
    bad = c.post(
        url,
        {
            "plate": "沪A1",
            "passengers": "2",
            "fever_count": "0",
            "outcome": "cleared",
            "receipt_codes": "NOPE1234",
        },
    )
    html = bad.content.decode()
    assert bad.status_code == 400 and 'id="err-plate"' in html and 'id="err-receipt_codes"' in html
    assert "NOPE1234" in html and nothing_written()
    with clock.frozen(NOON):
        ok = c.post(
            url,
            {
                "plate": "沪A12345",
                "passengers": "2",
                "fever_count": "0",
                "outcome": "cleared",
                "receipt_codes": reg.receipt_code,
            },
        )
        assert ok.status_code == 302
        page = c.get(url).content.decode()
    assert "沪A12345" in page and reg.receipt_code in page
    assert CheckpointCheck.objects.get().registrations.get() == reg


def test_checkpoint_pages_are_scoped(city: City, login: Any, two_days: dict[str, Any]) -> None:
    code_b = city["checkpoint_b"].code
    assert login("committee_a1").get(f"/checkpoints/{code_b}/").status_code == 404
    assert login("operator_a").get(f"/checkpoints/{city['checkpoint_a'].code}/").status_code == 403
    assert login("pharmacist_a1").get("/checkpoints/").status_code == 403
    with clock.frozen(local(23, 59)):
        index = login("operator_a").get("/checkpoints/").content.decode()
    assert "南京东路道口" in index and "外滩道口" not in index
    assert "Today 2 checkpoints checked 4 vehicles and 11 travellers." in index


def test_counts_page_with_a_date_range(city: City, login: Any, two_days: dict[str, Any]) -> None:
    c = login("operator_a")
    html = c.get("/checkpoints/counts/?since=2020-02-09&until=2020-02-10").content.decode()
    assert (
        "From 2020-02-09 to 2020-02-10, 2 checkpoints checked 5 vehicles and 13 travellers" in html
    )
    assert "外滩街道" not in html
    bad = c.get("/checkpoints/counts/?since=2020-02-10&until=2020-02-01")
    assert bad.status_code == 400 and 'id="err-until"' in bad.content.decode()
    assert c.get("/checkpoints/counts/?since=yesterday").status_code == 400
    assert (
        login("admin")
        .get("/checkpoints/counts/?since=2020-02-09&until=2020-02-10")
        .content.decode()
        .count("data-street=")
        == 4
    )


def test_setup_page(city: City, login: Any) -> None:
    c = login("operator_a")
    page = c.get("/checkpoints/setup/").content.decode()
    assert "南京东路道口" in page and "外滩道口" not in page
    r = c.post(
        "/checkpoints/setup/", {"code": city["checkpoint_a"].code, "kind": "port", "active": "on"}
    )
    assert r.status_code == 302 and Checkpoint.objects.get().kind == "port"
    assert (
        c.post(
            "/checkpoints/setup/", {"code": city["checkpoint_b"].code, "kind": "road"}
        ).status_code
        == 404
    )
    assert login("committee_a1").get("/checkpoints/setup/").status_code == 403


# --- API --------------------------------------------------------------------------------------


def _post(c: Client, path: str, body: dict[str, Any], **headers: Any) -> Any:
    return c.post(API + path, data=json.dumps(body), content_type="application/json", **headers)


def test_device_token_records_checks_at_its_checkpoint(city: City) -> None:
    cp_a, cp_b = checkpoint(city, "a"), checkpoint(city, "b")
    reg = registration(city)
    _t, secret = accounts.issue_token(
        SYSTEM, name="kp tablet", purpose="checkpoint_device", area=city["checkpoint_a"]
    )
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    with clock.frozen(NOON):
        r = _post(
            Client(),
            f"/{cp_a.area.code}/checks",
            {"plate": "沪A12345", "passengers": 2, "receipt_codes": [reg.receipt_code]},
            **auth,
        )
        assert r.status_code == 200, r.content
        assert (
            r.json()["receipt_codes"] == [reg.receipt_code]
            and r.json()["checkpoint_code"] == cp_a.area.code
        )
        bad = _post(
            Client(),
            f"/{cp_a.area.code}/checks",
            {"plate": "沪A12345", "receipt_codes": ["UNKNOWN1"]},
            **auth,
        )
        assert bad.status_code == 422
        error = bad.json()["errors"][0]
        assert (error["field"], error["code"]) == ("receipt_codes", "unknown")
        assert "UNKNOWN1" in error["message"]
        assert _post(Client(), f"/{cp_b.area.code}/checks", {}, **auth).status_code == 404
        assert _post(Client(), "/NOSUCH/checks", {}, **auth).status_code == 404
        # A device records; reading the counts is for staff.
        assert Client().get(f"{API}/counts", **auth).status_code == 403
    assert CheckpointCheck.objects.count() == 1
    _t, gate = accounts.issue_token(
        SYSTEM, name="gate", purpose="gate_scanner", area=city["street_a"]
    )
    assert (
        _post(
            Client(), f"/{cp_a.area.code}/checks", {}, HTTP_AUTHORIZATION=f"Bearer {gate}"
        ).status_code
        == 403
    )


def test_api_bad_fields_write_nothing(city: City, login: Any) -> None:
    cp = checkpoint(city)
    c = Client()
    c.force_login(volunteer_at(city))
    with clock.frozen(NOON):
        for body, field in [
            ({"plate": "XYZ"}, "plate"),
            ({"passengers": 0}, "passengers"),
            ({"passengers": "lots"}, "passengers"),
            ({"fever_count": 1}, "outcome"),
            ({"origin_province": "Atlantis"}, "origin_province"),
            ({"checked_at": "2020-02-11T00:00:00+08:00"}, "checked_at"),
            ({"receipt_codes": ["AB"]}, "receipt_codes"),
        ]:
            r = _post(c, f"/{cp.area.code}/checks", body)
            assert r.status_code == 422, (body, r.content)
            assert [e["field"] for e in r.json()["errors"]] == [field], body
    assert nothing_written()


def test_api_counts_set_up_and_lists(city: City, login: Any, two_days: dict[str, Any]) -> None:
    c = login("operator_a")
    r = c.get(f"{API}/counts?from=2020-02-09&to=2020-02-10")
    assert r.status_code == 200, r.content
    data = r.json()
    assert data["from"] == "2020-02-09" and data["to"] == "2020-02-10" and data["area"] is None
    assert data["totals"] == {
        "checks": 6,
        "vehicles": 5,
        "travellers": 13,
        "fevers": 3,
        "turned_back": 2,
        "checkpoints": 2,
    }
    assert [(s["day"], s["checks"]) for s in data["per_street"]] == [
        ("2020-02-10", 5),
        ("2020-02-09", 1),
    ]
    assert len(data["per_checkpoint"]) == 3
    one = c.get(
        f"{API}/counts?from=2020-02-10&to=2020-02-10&area={city['checkpoint_a'].code}"
    ).json()
    assert one["totals"]["checks"] == 4 and one["area"] == city["checkpoint_a"].code
    assert c.get(f"{API}/counts?area={city['street_b'].code}").status_code == 404
    bad = c.get(f"{API}/counts?from=2020-02-10&to=2020-02-01")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "to"
    listed = c.get(f"{API}/").json()["results"]
    assert [x["code"] for x in listed] == [
        city["checkpoint_a"].code,
        city["street_a"].code + "K002",
    ]
    checks = c.get(f"{API}/{city['checkpoint_a'].code}/checks?date=2020-02-10").json()["results"]
    assert len(checks) == 4 and checks[0]["plate"] == "浙C33333"
    assert c.get(f"{API}/{city['checkpoint_b'].code}/checks").status_code == 404
    put = c.put(
        f"{API}/{city['checkpoint_a'].code}",
        data=json.dumps({"kind": "rail"}),
        content_type="application/json",
    )
    assert (
        put.status_code == 200
        and put.json()["kind"] == "rail"
        and put.json()["street_code"] == city["street_a"].code
    )
    assert (
        c.put(
            f"{API}/{city['checkpoint_b'].code}",
            data=json.dumps({"kind": "rail"}),
            content_type="application/json",
        ).status_code
        == 404
    )
    bad_kind = c.put(
        f"{API}/{city['checkpoint_a'].code}",
        data=json.dumps({"kind": "moon"}),
        content_type="application/json",
    )
    assert bad_kind.status_code == 422 and bad_kind.json()["errors"][0]["field"] == "kind"
