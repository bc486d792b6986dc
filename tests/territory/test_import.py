"""Territory import (T1): CSV/XLSX trees in any row order, all-or-nothing with every bad row
named by line and field, updates, scoping, audit, and GeoJSON boundaries."""

from __future__ import annotations

import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from gridguard.accounts import services as accounts
from gridguard.accounts.models import User
from gridguard.core.errors import InvalidInput, NotPermitted
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.territory.import_table import ZIP_MAGIC
from gridguard.territory.imports import COLUMNS, import_boundaries, import_territory
from gridguard.territory.models import Area
from tests.conftest import City

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
HEADER = "code,name,kind,parent_code,address,latitude,longitude,households,population"
# A new committee under street A with a compound, a gate and a building: children first.
TREE_ROWS = [
    "310101001003C001G01,新村北门,gate,310101001003C001,,,,,",
    "310101001003C001B001,新村1号楼,building,310101001003C001,,,,40,95",
    "310101001003C001,新村,compound,310101001003,新村路1号,31.235,121.48,320,800",
    "310101001003,新居委,committee,310101001,,,,,",
]


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _snapshot() -> tuple[int, int]:
    return Area.objects.count(), AuditEntry.objects.count()


def _problems(exc: pytest.ExceptionInfo[InvalidInput]) -> set[tuple[int | None, str | None]]:
    return {(e.line, e.field) for e in exc.value.errors}


def _street_a_importer(city: City) -> Any:
    """A system administrator bound to street A only (the one role that may import)."""
    return accounts.create_user(
        SYSTEM,
        username="admin_a",
        password="Grid-Guard-2026!",
        display_name="admin_a",
        bindings=[("system_admin", city["street_a"])],
        validate=False,
    )


def test_csv_tree_with_children_first_is_created(city: City) -> None:
    before = Area.objects.count()
    result = import_territory(city.users["admin"], _csv(*TREE_ROWS), filename="tree.csv")
    assert (result.created, result.updated, result.count) == (4, 0, 4)
    assert Area.objects.count() == before + 4
    gate = Area.objects.get(code="310101001003C001G01")
    assert gate.path == (
        "/3101/310101/310101001/310101001003/310101001003C001/310101001003C001G01/"
    )
    assert gate.depth == 5
    assert gate.parent is not None and gate.parent.code == "310101001003C001"
    assert gate.parent.parent is not None and gate.parent.parent.code == "310101001003"
    compound = Area.objects.get(code="310101001003C001")
    assert compound.name == "新村"
    assert compound.address == "新村路1号"
    assert compound.latitude == Decimal("31.235000")
    assert compound.longitude == Decimal("121.480000")
    assert (compound.households, compound.population) == (320, 800)
    assert Area.objects.get(code="310101001003").parent_id == city["street_a"].pk


def test_xlsx_with_chinese_headers_and_numeric_codes(city: City) -> None:
    data = _xlsx(
        [
            ["编码", "名称", "类型", "上级编码", "地址", "纬度", "经度", "户数", "人口"],
            [
                "310101001004C001",
                "东苑",
                "compound",
                310101001004,
                "东苑路2号",
                31.2,
                121.5,
                10,
                30,
            ],
            [],  # a blank row is skipped
            [310101001004, "东居委", "committee", 310101001, None, None, None, None, None],
        ]
    )
    result = import_territory(city.users["admin"], data, filename="tree.xlsx")
    assert result.created == 2
    compound = Area.objects.get(code="310101001004C001")
    assert compound.parent is not None and compound.parent.code == "310101001004"
    assert compound.address == "东苑路2号"
    assert compound.latitude == Decimal("31.200000")
    assert compound.households == 10


def test_chinese_column_aliases_in_csv(city: City) -> None:
    header = "名称,编码,上级代码,类型,户数"  # any column order
    result = import_territory(
        city.users["admin"],
        _csv("小东门,310101001001C002,310101001001,compound,12", header=header),
    )
    assert result.created == 1
    area = Area.objects.get(code="310101001001C002")
    assert (area.name, area.kind, area.households) == ("小东门", "compound", 12)


BAD_ROWS: list[tuple[str, str | None]] = [
    # (row, field of the problem on that line, or None for a good row)
    ("310101001001C010,甲,nonsense,310101001001,,,,,", "kind"),  # line 2: unknown kind
    ("310101001001X011,乙,compound,310101001001,,,,,", "code"),  # 3: wrong letter for a compound
    ("310101001001C012,丙,compound,310101001001,,,,,", None),  # 4: first of a duplicate
    ("310101001001C012,丁,compound,310101001001,,,,,", "code"),  # 5: duplicate in the file
    ("", None),  # 6: a blank row still counts as a line
    ("310101001001C001,戊,compound,310101001001,,,,,", "code"),  # 7: exists already
    ("310101001009C001,己,compound,310101001009,,,,,", "parent_code"),  # 8: no such parent
    ("310101001001C020,庚,compound,310101001001C021,,,,,", "parent_code"),  # 9: cycle A->B
    ("310101001001C021,辛,compound,310101001001C020,,,,,", None),  # 10: ... B->A (one report)
    ("310101001001C022,壬,compound,310101001001,,95,121.4,,", "latitude"),  # 11
    ("310101001001C023,癸,compound,310101001001,,,,-3,", "households"),  # 12
    ("310101001001C024,=HYPERLINK(1),compound,310101001001,,,,,", "name"),  # 13: formula
    ("310101001001C025,,compound,310101001001,,,,,", "name"),  # 14: empty name
    ("310101001001C026,好,compound,310101001001,,,,,", None),  # 15: a good row
]


def test_bad_file_lists_every_bad_row_and_writes_nothing(city: City) -> None:
    before = _snapshot()
    with pytest.raises(InvalidInput) as exc:
        import_territory(city.users["admin"], _csv(*(r for r, _f in BAD_ROWS)))
    expected = {(line, f) for line, (_r, f) in enumerate(BAD_ROWS, start=2) if f}
    assert _problems(exc) == expected
    assert all(e.message for e in exc.value.errors)
    cycle = [e for e in exc.value.errors if e.code == "cycle"]
    assert len(cycle) == 1 and "310101001001C021" in cycle[0].message
    duplicate = next(e for e in exc.value.errors if e.code == "duplicate")
    assert "4" in duplicate.message and duplicate.line == 5
    assert _snapshot() == before
    assert not Area.objects.filter(code="310101001001C026").exists()


def test_bad_row_in_xlsx_names_its_line(city: City) -> None:
    data = _xlsx(
        [
            ["code", "name", "kind", "parent_code"],
            ["310101001001C030", "好", "compound", "310101001001"],
            [None, None, None, None],
            ["310101001001C031", "坏", "compound", "310101001001", "多余"],
        ]
    )
    before = _snapshot()
    with pytest.raises(InvalidInput) as exc:
        import_territory(city.users["admin"], data, filename="x.xlsx")
    assert _problems(exc) == {(4, "file")}
    assert _snapshot() == before


def test_missing_and_unknown_columns_are_named_on_line_1(city: City) -> None:
    with pytest.raises(InvalidInput) as exc:
        import_territory(city.users["admin"], _csv("a,b,c", header="code,name,colour"))
    problems = _problems(exc)
    assert (1, "colour") in problems
    assert {(1, "kind"), (1, "parent_code")} <= problems


def test_update_changes_names_but_not_kind_or_parent(city: City) -> None:
    admin = city.users["admin"]
    result = import_territory(
        admin,
        _csv(
            "310101001001,贵州路居委,committee,310101001,,,,500,",
            "310101001001C005,新小区,compound,310101001001,,,,,",
        ),
        update=True,
    )
    assert (result.created, result.updated) == (1, 1)
    committee = Area.objects.get(code="310101001001")
    assert (committee.name, committee.households) == ("贵州路居委", 500)
    assert committee.path == city["committee_a1"].path
    before = _snapshot()
    with pytest.raises(InvalidInput) as exc:
        import_territory(
            admin,
            _csv(
                "310101001001,改名,village,310101001,,,,,",  # line 2: kind changed
                "310101001002,改名,committee,310101002,,,,,",  # line 3: moved
            ),
            update=True,
        )
    assert _problems(exc) == {(2, "kind"), (3, "parent_code")}
    assert _snapshot() == before
    assert Area.objects.get(code="310101001002").name == "云南居委"


def test_existing_code_without_update_is_refused(city: City) -> None:
    before = _snapshot()
    with pytest.raises(InvalidInput) as exc:
        import_territory(city.users["admin"], _csv("310101001001,改名,committee,310101001"))
    assert _problems(exc) == {(2, "code")}
    assert _snapshot() == before


def test_importer_of_street_a_cannot_import_under_street_b(city: City) -> None:
    importer = _street_a_importer(city)
    before = _snapshot()
    with pytest.raises(InvalidInput) as exc:
        import_territory(importer, _csv("310101002009,外滩新居委,committee,310101002"))
    (error,) = exc.value.errors
    assert (error.line, error.field) == (2, "parent_code")
    assert "310101002" in error.message
    assert _snapshot() == before
    # Nor may it rename street B's areas with --update.
    with pytest.raises(InvalidInput) as exc:
        import_territory(importer, _csv("310101002001,改名,committee,310101002"), update=True)
    assert (2, "code") in _problems(exc)
    assert Area.objects.get(code="310101002001").name == "中山居委"
    # Under its own street it may.
    assert import_territory(importer, _csv("310101001009,新居委,committee,310101001")).created == 1


def test_role_without_import_permission_is_refused(city: City) -> None:
    before = _snapshot()
    for user in ("operator_a", "committee_a1", "health_a"):
        with pytest.raises(NotPermitted):
            import_territory(city.users[user], _csv("310101001009,新居委,committee,310101001"))
    assert _snapshot() == before


def test_one_audit_row_per_import(city: City) -> None:
    before = AuditEntry.objects.filter(action="territory.import").count()
    last_seq = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    import_territory(city.users["admin"], _csv(*TREE_ROWS), filename="tree.csv")
    entries = AuditEntry.objects.filter(action="territory.import")
    assert entries.count() == before + 1
    entry = entries.order_by("-seq").first()
    assert entry is not None
    assert entry.actor_id == city.users["admin"].pk
    assert entry.detail["count"] == 4 and entry.detail["file"] == "tree.csv"
    # The audit sits at the deepest area holding everything imported.
    assert entry.area_path == city["street_a"].path + "310101001003/"
    # The areas were created in bulk: the import is the only new audit row.
    assert AuditEntry.objects.filter(seq__gt=last_seq).count() == 1


# Cells the property test combines into CSV-shaped files, so that it reaches the row checks.
_CELLS = st.sampled_from(
    [
        "",
        "310101001",
        "310101001001",
        "310101001001C001",
        "310101001007",
        "310101001007C001",
        "310101001007C001G01",
        "committee",
        "compound",
        "gate",
        "city",
        "名称",
        "=1+1",
        "95",
        "-1",
        "12",
        "31.2",
        "nan",
        "1e400",
        '"',
        "\ufeff",
    ]
)
_CSVISH = st.lists(st.lists(_CELLS | st.text(max_size=8), max_size=10), max_size=6).map(
    lambda rows: "\n".join([",".join(COLUMNS), *(",".join(r) for r in rows)]).encode()
)
_FILES = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda t: t.encode()),
    st.binary(max_size=200).map(lambda b: ZIP_MAGIC + b),
    _CSVISH,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=_FILES, name=st.sampled_from(["t.csv", "t.xlsx", "t.xls", "t", ""]))
def test_any_file_is_imported_or_refused_cleanly(city: City, data: bytes, name: str) -> None:
    before = Area.objects.count()
    try:
        result = import_territory(SYSTEM, data, filename=name)
    except InvalidInput as exc:
        assert exc.errors
        assert all(e.message and e.code for e in exc.errors)
        assert Area.objects.count() == before
    else:
        assert Area.objects.count() == before + result.created


def _square(lon: float, lat: float) -> dict[str, Any]:
    ring = [[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat + 0.01]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _collection(*features: Any) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def _feature(code: str, geometry: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"code": code}, "geometry": geometry}


def test_boundary_of_a_compound_is_stored(city: City) -> None:
    polygon = _square(121.48, 31.23)
    count = import_boundaries(
        city.users["admin"], _collection(_feature("310101001001C001", polygon)), filename="b.json"
    )
    assert count == 1
    city["compound_a1"].refresh_from_db()
    assert city["compound_a1"].boundary == polygon
    assert AuditEntry.objects.filter(action="territory.boundaries.import").count() == 1


def test_bad_boundaries_name_each_feature_and_change_nothing(city: City) -> None:
    importer = _street_a_importer(city)
    open_ring = _square(121.4, 31.2)
    open_ring["coordinates"][0].pop()
    data = _collection(
        _feature("310101001001C001", _square(121.48, 31.23)),  # 0: fine
        _feature("310101001001C001G01", {"type": "Point", "coordinates": [121.4, 31.2]}),  # 1
        _feature("310101001001C001B001", open_ring),  # 2: ring not closed
        _feature("310101001009C001", _square(121.4, 31.2)),  # 3: unknown code
        _feature("310101002001C001", _square(121.4, 31.2)),  # 4: street B, out of scope
        _feature("310101001001M001", _square(200, 31.2)),  # 5: longitude out of range
    )
    before = AuditEntry.objects.count()
    with pytest.raises(InvalidInput) as exc:
        import_boundaries(importer, data)
    fields = {e.field for e in exc.value.errors}
    assert fields == {
        "features[1].geometry",
        "features[2].geometry",
        "features[3].properties.code",
        "features[4].properties.code",
        "features[5].geometry",
    }
    assert all(e.message for e in exc.value.errors)
    assert AuditEntry.objects.count() == before
    assert not Area.objects.filter(boundary__isnull=False).exists()


def test_boundaries_file_that_is_not_geojson(city: City) -> None:
    for data in (b"", b"{not json", b'{"type": "Feature"}', b"\xff\xfe"):
        with pytest.raises(InvalidInput) as exc:
            import_boundaries(city.users["admin"], data)
        assert exc.value.errors[0].message


def test_good_sample_imports_into_the_city(city: City) -> None:
    data = (SAMPLES / "territory.csv").read_bytes()
    rows = [line for line in data.decode("utf-8-sig").splitlines()[1:] if line.strip()]
    result = import_territory(SYSTEM, data, filename="territory.csv")
    assert result.created == len(rows)
    for area in Area.objects.filter(code__in=[r.split(",")[0] for r in rows]):
        assert area.path.startswith(city["district"].path)
        assert area.name and not area.name.isascii()  # the sample uses Chinese names


# The lines (header = 1) and fields each mistake in the bad sample should be reported at.
BAD_SAMPLE_PROBLEMS = {
    (3, "kind"),  # "小区" is not a kind
    (4, "code"),  # a compound code with the wrong letter
    (6, "code"),  # the same code as line 5
    (7, "parent_code"),  # a parent that exists nowhere
    (8, "latitude"),  # latitude 95
    (9, "households"),  # negative households
    (10, "name"),  # a name starting with "="
    (11, "name"),  # no name
    (12, "parent_code"),  # a gate directly under a committee
    (13, "code"),  # exists already
}


def test_bad_sample_reports_each_intended_line(city: City) -> None:
    data = (SAMPLES / "territory-bad.csv").read_bytes()
    before = _snapshot()
    with pytest.raises(InvalidInput) as exc:
        import_territory(SYSTEM, data, filename="territory-bad.csv")
    assert _problems(exc) == BAD_SAMPLE_PROBLEMS
    assert _snapshot() == before


_CODES = [
    "310101001",
    "310101002",
    "310101001001",
    "310101001005",
    "310101002005",
    "310101001001C001",
    "310101001005C001",
    "310101002005C001",
    "310101001005C001G01",
    "310101001005C001B001",
    "310101001005C001B001U1",
    "310101001K002",
]
_KINDS = ["street", "committee", "compound", "gate", "building", "building_group", "checkpoint"]
_ROW = st.tuples(
    st.sampled_from(_CODES),
    st.sampled_from(["名", ""]),
    st.sampled_from(_KINDS),
    st.sampled_from(["", *_CODES]),
).map(",".join)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(_ROW, min_size=1, max_size=8), update=st.booleans(), scoped=st.booleans())
def test_any_tree_is_refused_whole_or_consistent(
    city: City, rows: list[str], update: bool, scoped: bool
) -> None:
    """Plausible rows in any mix and order: refused whole, or every area sits where its parent
    says, and an importer bound to street A never writes into street B."""
    actor: Any = SYSTEM
    if scoped:
        actor = User.objects.filter(username="admin_a").first() or _street_a_importer(city)
    before = Area.objects.count()
    street_b = list(
        Area.objects.filter(path__startswith=city["street_b"].path).values_list("code", "name")
    )
    try:
        import_territory(actor, _csv(*rows, header="code,name,kind,parent_code"), update=update)
    except InvalidInput as exc:
        assert exc.errors and all(e.message and e.line for e in exc.errors)
        assert Area.objects.count() == before
    for area in Area.objects.select_related("parent"):
        assert area.path == (area.parent.path if area.parent else "/") + area.code + "/"
        assert area.depth == (area.parent.depth + 1 if area.parent else 0)
    if scoped:
        after = Area.objects.filter(path__startswith=city["street_b"].path)
        assert list(after.values_list("code", "name")) == street_b


def _broken_xlsx(part: str, change: Any) -> bytes:
    """A real workbook with one part replaced (or dropped when `change` returns None)."""
    good = _xlsx([["code", "name", "kind", "parent_code"], ["310101001009", "新", "committee", 1]])
    source = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if part in name:
                content = change(content)
            if content is not None:
                target.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        _broken_xlsx("[Content_Types].xml", lambda _b: b"<<<"),
        _broken_xlsx("xl/workbook.xml", lambda _b: b"<<<"),
        _broken_xlsx("styles", lambda _b: b"<<<"),
        _broken_xlsx("sheet1", lambda _b: b"<<<"),
        _broken_xlsx("sheet1", lambda b: b.replace(b'r="A1"', b'r="ZZZZZZZZ1"')),
        _broken_xlsx("sheet1", lambda _b: None),
        ZIP_MAGIC + b"\x00" * 64,
    ],
)
def test_broken_xlsx_is_refused_as_unreadable(city: City, data: bytes) -> None:
    before = _snapshot()
    with pytest.raises(InvalidInput) as exc:
        import_territory(city.users["admin"], data, filename="t.xlsx")
    assert [(e.field, e.code) for e in exc.value.errors] in (
        [("file", "format")],
        [("file", "empty")],
    )
    assert _snapshot() == before


def test_deeply_nested_geojson_is_refused(city: City) -> None:
    with pytest.raises(InvalidInput) as exc:
        import_boundaries(city.users["admin"], b"[" * 100_000)
    assert exc.value.errors[0].field == "file"
