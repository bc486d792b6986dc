"""Import of a hotline export: CSV (UTF-8, BOM, GB18030) or XLSX, Chinese or English headings."""

from __future__ import annotations

import datetime as dt
import io
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from gridguard.core.errors import InvalidInput, NotPermitted
from gridguard.tickets.models import Ticket
from gridguard.tickets.services import imports
from gridguard.tickets.services.imports import import_tickets
from tests.tickets.conftest import TicketCity

GATE = "A1小区门口保安不查出入证，外来人员随便进出，要求核实处理。"
CARDS = "A1小区活动室天天有人打麻将，十几个人聚在一起不戴口罩"
ZH_HEADER = "渠道,工单编号,受理时间,诉求内容,地点,姓名,电话"
EN_HEADER = "channel,channel_ref,received_at,text,place,reporter_name,reporter_phone"


def _csv(header: str, *rows: str) -> str:
    return "\n".join([header, *rows]) + "\n"


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.django_db
def test_an_english_utf8_csv_lands(ticket_city: TicketCity) -> None:
    data = _csv(
        EN_HEADER,
        f"12345,H-1,2020-02-14 09:30:00,{GATE},A1小区,张三,13800138000",
        f"12345,H-2,2020/2/14 10:05,{CARDS},A1小区,,",
    ).encode()
    result = import_tickets(ticket_city.users["hotline"], data, "export.csv", None)
    assert (result.rows, result.created, result.bad_rows) == (2, 2, 0)
    first = Ticket.objects.get(channel_ref="H-1")
    assert first.reporter_name == "张三" and first.reporter_phone == "13800138000"
    assert first.received_at == dt.datetime(2020, 2, 14, 1, 30, tzinfo=dt.UTC)
    second = Ticket.objects.get(channel_ref="H-2")
    assert second.received_at == dt.datetime(2020, 2, 14, 2, 5, tzinfo=dt.UTC)


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_chinese_headings_with_bom_or_gb18030(ticket_city: TicketCity, encoding: str) -> None:
    data = _csv(ZH_HEADER, f"12345,Z-1,2020-02-14 09:30,{GATE},A1小区,李四,13900139000")
    result = import_tickets(ticket_city.users["hotline"], data.encode(encoding), "导出.csv", None)
    assert result.created == 1 and not result.errors
    assert Ticket.objects.get().reporter_name == "李四"


@pytest.mark.django_db
def test_the_channel_option_fills_a_file_without_a_channel_column(
    ticket_city: TicketCity,
) -> None:
    data = _csv("工单编号,诉求内容,地点,工单状态", f"C-1,{GATE},A1小区,已办结").encode()
    result = import_tickets(ticket_city.users["hotline"], data, "x.csv", "12319")
    assert result.created == 1 and result.ignored_columns == ["工单状态"]
    assert Ticket.objects.get().channel == "12319"


@pytest.mark.django_db
def test_a_spreadsheet_with_bad_rows_reports_each_line_and_lands_the_good_rows(
    ticket_city: TicketCity,
) -> None:
    future = dt.datetime.now() + dt.timedelta(days=2)
    data = _xlsx(
        [
            ["渠道", "工单编号", "受理时间", "诉求内容", "地点", "姓名", "电话"],
            [12345, "X-1", dt.datetime(2020, 2, 14, 9, 30), GATE, "A1小区", "张三", 13800138000],
            [99999, "X-2", None, GATE, "A1小区", None, None],
            [12345, "X-3", future, CARDS, "A1小区", None, None],
            [None, None, None, None, None, None, None],
            [12345, "X-4", None, "", "A1小区", None, None],
            [12345, "X-5", None, "x" * 2001, None, None, "12"],
            [12345, "X-6", None, CARDS, "A1小区", None, None],
        ]
    )
    result = import_tickets(ticket_city.users["hotline"], data, "export.xlsx", None)
    assert (result.created, result.bad_rows) == (2, 4)
    problems = {(e.line, e.field) for e in result.errors}
    assert problems == {
        (3, "channel"),
        (4, "received_at"),
        (6, "text"),
        (7, "text"),
        (7, "reporter_phone"),
    }
    assert sorted(Ticket.objects.values_list("channel_ref", flat=True)) == ["X-1", "X-6"]
    assert Ticket.objects.get(channel_ref="X-1").reporter_phone == "13800138000"


@pytest.mark.django_db
def test_importing_twice_lands_once_and_a_reused_reference_is_a_bad_row(
    ticket_city: TicketCity,
) -> None:
    hotline = ticket_city.users["hotline"]
    data = _csv(EN_HEADER, f"12345,R-1,,{GATE},A1小区,,").encode()
    assert import_tickets(hotline, data, "a.csv", None).created == 1
    again = import_tickets(hotline, data, "a.csv", None)
    assert (again.created, again.repeated) == (0, 1)
    other = _csv(EN_HEADER, f"12345,R-1,,{CARDS},A1小区,,").encode()
    result = import_tickets(hotline, other, "b.csv", None)
    assert [(e.line, e.field, e.code) for e in result.errors] == [(2, "channel_ref", "duplicate")]
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_lines_stay_right_across_batches(ticket_city: TicketCity, monkeypatch: Any) -> None:
    monkeypatch.setattr(imports, "BATCH", 2)
    rows = [f"12345,L-{i},,{GATE}第{i}次,A1小区,," for i in range(4)]
    rows[2] = "12345,L-2,,,A1小区,,"  # line 4, in the second batch
    result = import_tickets(ticket_city.users["hotline"], _csv(EN_HEADER, *rows).encode(), "", None)
    assert [(e.line, e.field) for e in result.errors] == [(4, "text")]
    assert result.created == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "channel", "field"),
    [
        (b"", None, "file"),
        (_csv("工单编号,地点", "A,B").encode(), "12345", "text"),
        (_csv("工单编号,诉求内容", f"A,{GATE}").encode(), None, "channel"),
        (_csv("诉求内容,text", f"{GATE},{GATE}").encode(), "12345", "text"),
        (_csv(EN_HEADER, f"12345,A,,{GATE},,,").encode(), "99999", "channel"),
        (b"\x81\x30\xff\xfe\x00\x00", None, "file"),
    ],
)
def test_an_unreadable_file_or_missing_column_lands_nothing(
    ticket_city: TicketCity, data: bytes, channel: str | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        import_tickets(ticket_city.users["hotline"], data, "x.csv", channel)
    assert err.value.errors[0].field == field
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_import_needs_its_permission(ticket_city: TicketCity) -> None:
    data = _csv(EN_HEADER, f"12345,A,,{GATE},A1小区,,").encode()
    with pytest.raises(NotPermitted):
        import_tickets(ticket_city.users["handler_market"], data, "x.csv", None)
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_the_command_prints_counts_and_bad_lines(ticket_city: TicketCity, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(_csv("工单编号,诉求内容,地点", f"K-1,{GATE},A1小区"), encoding="gb18030")
    out = StringIO()
    call_command("tickets", "import", str(good), "--channel", "12345", stdout=out)
    assert "1 tickets created" in out.getvalue()
    bad = tmp_path / "bad.csv"
    bad.write_text(_csv(EN_HEADER, f"12345,K-2,,{CARDS},A1小区,,", "12345,K-3,,,,,"))
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("tickets", "import", str(bad), stdout=out, stderr=err)
    assert "line 3: text: " in err.getvalue()
    assert "1 tickets created" in out.getvalue() and "1 bad rows" in out.getvalue()
    assert exc.value.returncode == 1
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_the_command_refuses_an_unknown_channel_and_a_missing_file(
    ticket_city: TicketCity, tmp_path: Path
) -> None:
    with pytest.raises(CommandError):
        call_command("tickets", "import", str(tmp_path / "none.csv"))
    with pytest.raises(CommandError):
        call_command("tickets", "import", str(tmp_path / "none.csv"), "--channel", "999")
