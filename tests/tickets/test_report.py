"""The daily ticket report (C2): counts, changes, streets, merged repeats, overdue cases,
scoping, the command, XLSX, the stored snapshot job and the page."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook

from gridguard.core import clock
from gridguard.core.errors import NotPermitted, OutOfScope
from gridguard.core.scoping import SYSTEM
from gridguard.tickets.models import TicketReport
from gridguard.tickets.selectors.report import daily_report
from gridguard.tickets.services.reports import generate_due_reports
from tests.conftest import City
from tests.tickets.conftest import TicketCity, file_ticket

GATE = "市民来电反映：A1小区门口保安不查出入证，外来人员随便进出，要求核实处理。"
GATE_AGAIN = "我住A1小区，门卫根本不管，谁都能进来，太吓人了"
GATE_B = "市民来电反映：B1小区门口保安不查出入证，外来人员随便进出，要求核实处理。"
GATE_A2 = "市民来电反映：A2小区门口保安不查出入证，外来人员随便进出，要求核实处理。"
CARDS = "A1小区活动室天天有人打麻将，十几个人聚在一起不戴口罩"
RUMOUR = "有人在网上散布谣言说喝酒能防病毒"
DAY = dt.date(2020, 2, 14)


def sh(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A Shanghai wall-clock time."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=clock.SHANGHAI)


def file_at(actor: Any, at: dt.datetime, text: str, place: str = "", **extra: Any) -> Any:
    """File a ticket as if it arrived at `at` (deadlines are counted from then)."""
    with clock.frozen(at):
        return file_ticket(actor, text, place, at=at, **extra)


def file_day(tc: TicketCity) -> None:
    """One ticket the day before, six on the day (one at 23:30, one after midnight)."""
    hotline = tc.users["hotline"]
    before = DAY - dt.timedelta(days=1)
    file_at(hotline, sh(before, 10), GATE, "A1小区")
    file_at(hotline, sh(DAY, 9), GATE_AGAIN, "A1小区1号楼", channel="web")
    file_at(hotline, sh(DAY, 9, 30), CARDS, "A1小区")
    file_at(hotline, sh(DAY, 10), GATE_B, "B1小区")
    file_at(hotline, sh(DAY, 11), GATE_A2, "A2小区")
    file_at(hotline, sh(DAY, 23, 30), RUMOUR, "")
    file_at(hotline, sh(DAY + dt.timedelta(days=1), 0, 10), CARDS, "A1小区")


def _row(rows: list[dict[str, Any]], code: str) -> dict[str, Any]:
    return next(r for r in rows if r["code"] == code)


@pytest.mark.django_db
def test_counts_changes_and_streets(ticket_city: TicketCity) -> None:
    file_day(ticket_city)
    r = daily_report(ticket_city.users["hotline"], DAY, ticket_city["district"])
    assert r["total"]["today"] == 5
    assert r["total"]["previous_day"] == 1
    assert r["total"]["change_previous_day"] == 4
    assert r["total"]["average_7d"] == round(1 / 7, 2)
    assert [d["count"] for d in r["trend"]][-2:] == [1, 5]
    assert _row(r["by_channel"], "web")["today"] == 1
    assert _row(r["by_channel"], "12345")["today"] == 4
    assert _row(r["by_channel"], "12345")["previous_day"] == 1
    assert sum(p["today"] for p in r["by_priority"]) == 5 and len(r["by_priority"]) == 9
    assert sum(c["today"] for c in r["by_class"]) == 5 and len(r["by_class"]) == 20
    s01 = _row(r["by_subclass"], "S01")
    assert s01["today"] >= 3 and s01["previous_day"] == 1
    assert "S01" in [x["code"] for x in r["rising"]]
    streets = {s["code"]: s["count"] for s in r["by_street"]}
    assert streets["310101001"] == 3 and streets["310101002"] == 1
    assert streets[""] == 1  # the unplaced ticket lies at the district
    assert r["merged"] == 1 and r["new_cases"] == 4 and r["unplaced"] == 1
    top = r["hot_places"][0]
    assert top["name"] == "A1小区" and top["count"] == 2 and top["matched"]
    json.dumps(r)  # a snapshot is plain JSON


@pytest.mark.django_db
def test_a_street_report_counts_only_its_subtree(ticket_city: TicketCity) -> None:
    file_day(ticket_city)
    r = daily_report(ticket_city.users["hotline"], DAY, ticket_city["street_a"])
    assert r["total"]["today"] == 3
    assert [(s["code"], s["count"]) for s in r["by_street"]] == [("310101001", 3)]
    committee = daily_report(SYSTEM, DAY, ticket_city["committee_a1"])
    assert committee["total"]["today"] == 2
    assert committee["by_street"] == [
        {"code": "310101001", "name": "南京东路街道", "path": "/3101/310101/310101001/", "count": 2}
    ]


@pytest.mark.django_db
def test_overdue_cases_by_department(ticket_city: TicketCity) -> None:
    file_day(ticket_city)
    r = daily_report(SYSTEM, DAY, ticket_city["district"])
    overdue = {o["department"]: o["count"] for o in r["overdue"]}
    # The gate case of the day before (24 hours) was due at 10:00 on the day.
    assert overdue.get("贵州居委") == 1
    earlier = daily_report(SYSTEM, DAY - dt.timedelta(days=1), ticket_city["district"])
    assert "贵州居委" not in {o["department"] for o in earlier["overdue"]}


@pytest.mark.django_db
def test_a_street_b_operator_cannot_report_on_street_a(ticket_city: TicketCity, login: Any) -> None:
    operator_b = ticket_city.users["hotline_b"]
    with pytest.raises(OutOfScope):
        daily_report(operator_b, DAY, ticket_city["street_a"])
    with pytest.raises(OutOfScope):
        daily_report(operator_b, DAY, ticket_city["district"])
    assert daily_report(operator_b, DAY, ticket_city["street_b"])["total"]["today"] == 0
    with pytest.raises(NotPermitted):
        daily_report(ticket_city.users["resident_a1"], DAY, ticket_city["compound_a1"])
    client = login("hotline_b")
    assert client.get("/tickets/report/", {"area": "310101001"}).status_code == 403
    assert client.get("/tickets/report/export.xlsx", {"area": "310101001"}).status_code == 403
    assert login("resident_a1").get("/tickets/report/").status_code == 403


@pytest.mark.django_db
def test_the_command_prints_json_text_and_xlsx(ticket_city: TicketCity, tmp_path: Any) -> None:
    file_day(ticket_city)
    out = io.StringIO()
    call_command(
        "report", "tickets", "--date", "2020-02-14", "--area", "310101", "--json", stdout=out
    )
    data = json.loads(out.getvalue())
    assert data["total"]["today"] == 5 and data["merged"] == 1
    target = tmp_path / "r.xlsx"
    out = io.StringIO()
    call_command(
        "report",
        "tickets",
        "--date",
        "2020-02-14",
        "--area",
        "310101",
        "--xlsx",
        str(target),
        stdout=out,
        stderr=io.StringIO(),
    )
    assert "2020-02-14" in out.getvalue() and "黄浦区" in out.getvalue()
    book = load_workbook(target)
    summary = book.worksheets[0]
    assert summary["B4"].value == 5  # tickets
    assert summary["B10"].value == 1  # merged repeats
    assert len(book.worksheets) == 10


@pytest.mark.django_db
def test_the_command_names_a_bad_option(city: City) -> None:
    with pytest.raises(CommandError, match="--date"):
        call_command("report", "tickets", "--date", "2020-02-30", "--area", "310101")
    with pytest.raises(CommandError, match="--area"):
        call_command("report", "tickets", "--date", "2020-02-14", "--area", "999999")


@pytest.mark.django_db
def test_the_job_stores_yesterdays_report_once(ticket_city: TicketCity, settings: Any) -> None:
    file_day(ticket_city)
    settings.TICKET_REPORT_HOUR = 7
    morning = DAY + dt.timedelta(days=1)
    assert generate_due_reports(sh(morning, 6, 59)) == 0
    assert not TicketReport.objects.exists()
    assert generate_due_reports(sh(morning, 7, 5)) == 1
    assert generate_due_reports(sh(morning, 9)) == 0
    stored = TicketReport.objects.get()
    assert stored.area == ticket_city["district"] and stored.date == DAY
    assert stored.data["total"]["today"] == 5


@pytest.mark.django_db
def test_the_page_and_its_export(ticket_city: TicketCity, login: Any) -> None:
    file_day(ticket_city)
    client = login("hotline")
    page = client.get("/tickets/report/", {"date": "2020-02-14", "area": "310101"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "echarts.min.js" in html and "@media print" in html
    assert "/tickets/report/export.xlsx?date=2020-02-14&amp;area=310101" in html
    assert 'id="hot-places"' in html and "A1小区" in html
    export = client.get("/tickets/report/export.xlsx", {"date": "2020-02-14", "area": "310101"})
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.content))
    assert book.worksheets[0]["B4"].value == 5
    bad = client.get("/tickets/report/", {"date": "14/02/2020", "area": "nowhere"})
    assert bad.status_code == 400
    assert 'id="err-date"' in bad.content.decode() and 'id="err-area"' in bad.content.decode()
    assert client.get("/tickets/report/export.xlsx", {"date": "x"}).status_code == 400
