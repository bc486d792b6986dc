"""Territory export (T1): subtrees as CSV/XLSX, parents first, round trip through the import's
reader, masked phones, formula neutralising, scoping and audit on pages, API and CLI."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from openpyxl import load_workbook

from gridguard.core.errors import NotPermitted, OutOfScope
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.territory import exports, selectors
from gridguard.territory import services as territory
from gridguard.territory.import_table import COLUMNS, parse_rows, read_table
from gridguard.territory.imports import import_territory
from gridguard.territory.models import Area, Responsibility
from tests.conftest import City

PHONE = "13812345678"


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith("\ufeff".encode())  # Excel needs the BOM to show Chinese
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _xlsx_rows(data: bytes) -> list[dict[str, Any]]:
    book = load_workbook(io.BytesIO(data))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    header = [str(c) for c in rows[0]]
    return [dict(zip(header, r, strict=True)) for r in rows[1:]]


def _subtree_codes(area: Area) -> set[str]:
    return set(Area.objects.filter(path__startswith=area.path).values_list("code", flat=True))


def _parents_first(rows: list[dict[str, Any]], root: Area) -> None:
    seen: set[str] = set()
    for row in rows:
        if row["code"] != root.code:
            assert row["parent_code"] in seen, f"{row['code']} comes before its parent"
        seen.add(str(row["code"]))


def _responsible(city: City) -> Responsibility:
    return territory.set_responsible(
        SYSTEM, area=city["gate_a1"], kind="gate_chief", person_name="张三", phone=PHONE
    )


def test_csv_export_holds_exactly_the_subtree_parents_first(city: City) -> None:
    out = exports.export_territory(city.users["admin"], within=city["street_a"], fmt="csv")
    rows = _csv_rows(out.read())
    assert tuple(rows[0]) == COLUMNS
    assert {r["code"] for r in rows} == _subtree_codes(city["street_a"])
    assert len(rows) == out.count == len(_subtree_codes(city["street_a"]))
    assert rows[0]["code"] == "310101001" and rows[0]["parent_code"] == "310101"
    _parents_first(rows, city["street_a"])
    assert out.filename.startswith("territory-310101001-") and out.filename.endswith(".csv")


def test_xlsx_export_reads_back_with_openpyxl(city: City) -> None:
    territory.update_area(SYSTEM, city["compound_a1"], latitude=Decimal("31.234567"))
    out = exports.export_territory(city.users["admin"], within=city["committee_a1"], fmt="xlsx")
    rows = _xlsx_rows(out.read())
    assert {str(r["code"]) for r in rows} == _subtree_codes(city["committee_a1"])
    assert not {str(r["code"]) for r in rows} & _subtree_codes(city["committee_a2"])
    _parents_first(rows, city["committee_a1"])
    compound = next(r for r in rows if r["code"] == "310101001001C001")
    assert compound["name"] == "A1小区" and compound["kind"] == "compound"
    assert Decimal(str(compound["latitude"])) == Decimal("31.234567")


def test_whole_city_export_parses_back_to_the_area_rows(city: City) -> None:
    territory.update_area(
        SYSTEM, city["compound_b1"], address="中山东一路1号", households=12, population=30
    )
    data = exports.export_territory(SYSTEM, fmt="csv").read()
    header, table = read_table(data, "territory.csv")
    columns, rows, errors = parse_rows(header, table)
    assert errors == [] and columns == COLUMNS
    assert all(r.errors == [] for r in rows)
    parsed = {
        r.code: (r.name, r.kind, r.parent_code, r.values["address"], r.values["households"])
        for r in rows
    }
    expected = {
        a.code: (a.name, a.kind, a.parent.code if a.parent else "", a.address, a.households)
        for a in Area.objects.select_related("parent")
    }
    assert parsed == expected
    # And the file goes back in as an update of the same tree.
    result = import_territory(SYSTEM, data, filename="territory.csv", update=True)
    assert (result.created, result.updated) == (0, len(expected))


def test_responsible_phones_masked_unless_the_role_reveals_them(city: City) -> None:
    _responsible(city)
    # A system administrator has no personal.reveal_phone; an operator and a committee have.
    masked = _csv_rows(exports.export_responsible(city.users["admin"]).read())
    assert [(r["area_code"], r["person_name"], r["phone"]) for r in masked] == [
        ("310101001001C001G01", "张三", "138****5678")
    ]
    for user in ("operator_a", "committee_a1"):
        shown = _csv_rows(exports.export_responsible(city.users[user], fmt="csv").read())
        assert [r["phone"] for r in shown] == [PHONE]
    xlsx = _xlsx_rows(exports.export_responsible(city.users["admin"], fmt="xlsx").read())
    assert [r["phone"] for r in xlsx] == ["138****5678"]
    # Street B's operator sees nobody of street A.
    assert _csv_rows(exports.export_responsible(city.users["operator_b"]).read()) == []
    with pytest.raises(NotPermitted):
        exports.export_responsible(city.users["health_a"])


def test_formula_cells_are_neutralised(city: City) -> None:
    Area.objects.filter(code="310101001001C001").update(name="=HYPERLINK(1)")
    Area.objects.filter(code="310101001001M001").update(name="+86 菜场", address="@SUM(A1)")
    Area.objects.filter(code="310101001002C001").update(name="-5 是普通文字")
    territory.set_responsible(
        SYSTEM, area=city["gate_a1"], kind="gate_chief", person_name="=cmd|' /C calc'!A0"
    )
    rows = {r["code"]: r for r in _csv_rows(exports.export_territory(SYSTEM).read())}
    assert rows["310101001001C001"]["name"] == "'=HYPERLINK(1)"
    assert rows["310101001001M001"]["name"] == "'+86 菜场"
    assert rows["310101001001M001"]["address"] == "'@SUM(A1)"
    assert rows["310101001002C001"]["name"] == "-5 是普通文字"
    (person,) = _csv_rows(exports.export_responsible(SYSTEM).read())
    assert person["person_name"] == "'=cmd|' /C calc'!A0"
    # In XLSX the cell is text, not a formula.
    book = load_workbook(io.BytesIO(exports.export_territory(SYSTEM, fmt="xlsx").read()))
    cells = [c for row in book.worksheets[0].iter_rows() for c in row if c.value == "=HYPERLINK(1)"]
    assert len(cells) == 1 and cells[0].data_type == "s"


def test_export_refuses_out_of_scope_and_roles_without_export(city: City) -> None:
    with pytest.raises(OutOfScope):
        exports.export_territory(city.users["operator_a"], within=city["street_b"])
    with pytest.raises(NotPermitted):
        exports.export_territory(city.users["health_a"], within=city["street_a"])
    # Without `within`, an operator gets their own street only.
    rows = _csv_rows(exports.export_territory(city.users["operator_b"]).read())
    assert {r["code"] for r in rows} == _subtree_codes(city["street_b"])


def _client(city: City, user: str) -> Client:
    client = Client()
    client.force_login(city.users[user])
    return client


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_export_page_is_audited_with_its_row_count(city: City) -> None:
    before = AuditEntry.objects.filter(action="territory.export").count()
    response = _client(city, "operator_a").get("/territory/export/310101001001.csv")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    rows = _csv_rows(_body(response))
    assert {r["code"] for r in rows} == _subtree_codes(city["committee_a1"])
    assert response["X-Row-Count"] == str(len(rows))
    entries = AuditEntry.objects.filter(action="territory.export").order_by("-seq")
    assert entries.count() == before + 1
    entry = entries[0]
    assert entry.actor_id == city.users["operator_a"].pk
    assert entry.detail["count"] == len(rows) and entry.detail["format"] == "csv"
    assert entry.area_path == city["committee_a1"].path


def test_export_page_refuses_role_and_other_street(city: City) -> None:
    before = AuditEntry.objects.filter(action="territory.export").count()
    assert _client(city, "health_a").get("/territory/export/310101001.csv").status_code == 403
    assert _client(city, "volunteer_a1").get("/territory/export/310101001.xlsx").status_code == 403
    operator = _client(city, "operator_a")
    assert operator.get("/territory/export/310101002.csv").status_code == 404
    assert operator.get("/territory/export/310101002001C001.xlsx").status_code == 404
    assert operator.get("/territory/export/310101001.pdf").status_code == 404
    assert AuditEntry.objects.filter(action="territory.export").count() == before
    # Not logged in: off to the login page, no file.
    assert Client().get("/territory/export/310101001.csv").status_code == 302


def test_export_page_responsible_xlsx(city: City) -> None:
    _responsible(city)
    response = _client(city, "operator_a").get(
        "/territory/export/310101001.xlsx", {"what": "responsible"}
    )
    assert response.status_code == 200
    assert [r["phone"] for r in _xlsx_rows(_body(response))] == [PHONE]


def test_api_export_xlsx_with_a_session(city: City) -> None:
    client = _client(city, "operator_a")
    response = client.get("/api/v1/territory/export", {"within": "310101001", "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"] == exports.FORMATS["xlsx"]
    rows = _xlsx_rows(_body(response))
    assert {str(r["code"]) for r in rows} == _subtree_codes(city["street_a"])
    assert AuditEntry.objects.filter(action="territory.export", detail__format="xlsx").exists()
    out = client.get("/api/v1/territory/export", {"within": "310101002", "format": "xlsx"})
    assert out.status_code == 404
    assert out.json()["errors"][0]["code"] == "not_found"
    assert client.get("/api/v1/territory/export", {"within": "999"}).status_code == 404
    refused = _client(city, "health_a").get("/api/v1/territory/export")
    assert refused.status_code == 403
    assert Client().get("/api/v1/territory/export").status_code == 401


def test_cli_export_writes_csv_to_stdout(city: City, tmp_path: Path) -> None:
    stdout = StringIO()
    call_command("export", "territory", "--area", "310101001001", stdout=stdout)
    rows = _csv_rows(stdout.getvalue().encode())
    assert {r["code"] for r in rows} == _subtree_codes(city["committee_a1"])
    target = tmp_path / "t.xlsx"
    call_command("export", "territory", "--format", "xlsx", "-o", str(target), stderr=StringIO())
    assert {str(r["code"]) for r in _xlsx_rows(target.read_bytes())} == set(
        Area.objects.values_list("code", flat=True)
    )
    with pytest.raises(CommandError):
        call_command("export", "territory", "--area", "999", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("export", "territory", "--format", "xlsx", stdout=StringIO())


def test_cli_import_prints_the_count(city: City, tmp_path: Path) -> None:
    path = tmp_path / "tree.csv"
    path.write_text(
        "编码,名称,类型,上级编码\n"
        "310101001001C009,新小区,compound,310101001001\n"
        "310101001001C009G01,新小区大门,gate,310101001001C009\n",
        encoding="utf-8",
    )
    stdout = StringIO()
    call_command("import", "territory", str(path), stdout=stdout)
    assert "tree.csv: 2 areas imported (2 created, 0 updated)" in stdout.getvalue()
    assert selectors.area_by_code(SYSTEM, "310101001001C009G01").depth == 5


def test_cli_import_bad_file_lists_each_problem(city: City, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "code,name,kind,parent_code,latitude\n"
        "310101001001C009,好,compound,310101001001,\n"
        "310101001001C010,坏,nonsense,310101001001,\n"
        "310101001001C011,,compound,310101001001,95\n",
        encoding="utf-8",
    )
    before = Area.objects.count()
    stderr = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import", "territory", str(path), stderr=stderr, stdout=StringIO())
    assert "3 problem(s)" in str(exc.value)
    lines = stderr.getvalue().splitlines()
    for prefix in ("line 3: kind: ", "line 4: name: ", "line 4: latitude: "):
        assert any(line.startswith(prefix) and len(line) > len(prefix) for line in lines), prefix
    assert len(lines) == 3
    assert Area.objects.count() == before
    with pytest.raises(CommandError):
        call_command("import", "territory", str(tmp_path / "missing.csv"), stderr=StringIO())


def test_cli_import_boundaries(city: City, tmp_path: Path) -> None:
    path = tmp_path / "b.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", '
        '"properties": {"code": "310101001001C001"}, "geometry": {"type": "Polygon", '
        '"coordinates": [[[121.4, 31.2], [121.5, 31.2], [121.5, 31.3], [121.4, 31.2]]]}}]}',
        encoding="utf-8",
    )
    stdout = StringIO()
    call_command("import", "boundaries", str(path), stdout=stdout)
    assert "1 boundaries imported" in stdout.getvalue()
    assert Area.objects.get(code="310101001001C001").boundary is not None
