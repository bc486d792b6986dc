"""Territory endpoints: the tree, one area with its children, places by kind, grid cells,
responsible persons, duty. Every list is cursor-paginated and scoped to the caller."""

# No `from __future__ import annotations` here: django-ninja builds its query-parameter models
# from the signatures, and string annotations (`Query[PlaceFilter]`, `dt.date | None`) left
# those models undefined, so /places, /duty/shifts and /openapi.json failed with a 500.
import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.pagination import CursorPagination, paginate

from gridguard.core import masking
from gridguard.core.api import ERROR_RESPONSES, need
from gridguard.core.errors import InvalidInput
from gridguard.territory import selectors
from gridguard.territory.kinds import AreaKind

router = Router(tags=["territory"])


class AreaOut(Schema):
    code: str
    name: str
    kind: str
    parent_code: str | None
    path: str
    depth: int
    address: str
    latitude: float | None
    longitude: float | None
    households: int | None
    population: int | None

    @staticmethod
    def resolve_parent_code(obj: Any) -> str | None:
        codes = obj.codes
        return codes[-2] if len(codes) > 1 else None


class AreaDetailOut(AreaOut):
    boundary: dict[str, Any] | None
    children: list[AreaOut]
    counts: dict[str, int]

    # Built from the area itself (a plain dict would lose `codes` for parent_code).
    @staticmethod
    def resolve_children(obj: Any) -> list[Any]:
        return list(obj.children_list)

    @staticmethod
    def resolve_counts(obj: Any) -> dict[str, int]:
        return dict(obj.kind_counts)


class PlaceFilter(Schema):
    kind: AreaKind
    within: str | None = None


@router.get("/areas", response={200: list[AreaOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("path",), page_size=100)
def list_areas(request: HttpRequest, within: str | None = None, depth: int | None = None) -> Any:
    """The areas the caller covers (the tree, flattened in path order). `within` narrows to a
    subtree by code; `depth` to one level."""
    actor = need(request, "territory.view")
    qs = selectors.areas_visible_to(actor)
    if within:
        qs = qs.subtree(selectors.area_by_code(actor, within))
    if depth is not None:
        qs = qs.filter(depth=depth)
    return qs


@router.get("/roots", response={200: list[AreaOut], **ERROR_RESPONSES})
def roots(request: HttpRequest) -> Any:
    """The tops of the caller's territory."""
    return selectors.root_areas_for(need(request, "territory.view"))


@router.get("/areas/{code}", response={200: AreaDetailOut, **ERROR_RESPONSES})
def get_area(request: HttpRequest, code: str) -> Any:
    """One area with its direct children and the count of places of each kind below it."""
    actor = need(request, "territory.view")
    area = selectors.area_by_code(actor, code)
    area.children_list = list(selectors.children_of(actor, area)[:500])  # type: ignore[attr-defined]
    area.kind_counts = selectors.counts_by_kind(actor, area)  # type: ignore[attr-defined]
    return area


@router.get("/places", response={200: list[AreaOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("path",), page_size=100)
def places(request: HttpRequest, filters: Query[PlaceFilter]) -> Any:
    """Places of one kind (compound, gate, pharmacy, checkpoint …), optionally within a subtree."""
    actor = need(request, "territory.view")
    within = selectors.area_by_code(actor, filters.within) if filters.within else None
    return selectors.places_of_kind(actor, filters.kind, within)


class GridCellOut(Schema):
    code: str
    name: str
    area_code: str
    place_codes: list[str]
    workers: list[str]

    @staticmethod
    def resolve_area_code(obj: Any) -> str:
        return str(obj.area.code)

    @staticmethod
    def resolve_place_codes(obj: Any) -> list[str]:
        # Prefetched with the caller's scope applied (see grid_cells below).
        return [str(p.code) for p in obj.places.all()]

    @staticmethod
    def resolve_workers(obj: Any) -> list[str]:
        return [str(u.display_name or u.username) for u in obj.workers.all()]


@router.get("/grid-cells", response={200: list[GridCellOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("code",), page_size=100)
def grid_cells(request: HttpRequest, within: str | None = None) -> Any:
    """Grid cells (网格) the caller covers, with their places and workers; `within` narrows
    to a subtree by code."""
    actor = need(request, "territory.view")
    area = selectors.area_by_code(actor, within) if within else None
    return selectors.grid_cells_for_api(actor, within=area)


class ResponsibilityOut(Schema):
    id: int
    area_code: str
    area_name: str
    kind: str
    person_name: str
    phone: str
    since: dt.date
    until: dt.date | None

    @staticmethod
    def resolve_area_code(obj: Any) -> str:
        return str(obj.area.code)

    @staticmethod
    def resolve_area_name(obj: Any) -> str:
        return str(obj.area.name)

    @staticmethod
    def resolve_phone(obj: Any, context: Any) -> str:
        return masking.phone_for(context["request"].auth, obj.phone)


@router.get("/responsible", response={200: list[ResponsibilityOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("id",), page_size=100)
def responsible(request: HttpRequest, within: str | None = None) -> Any:
    """Named responsible persons (门长, 楼长, 包干 …); phones masked unless the role needs them."""
    actor = need(request, "responsibility.view")
    qs = selectors.responsibilities_visible_to(actor)
    if within:
        qs = qs.within(selectors.area_by_code(actor, within))
    return qs


class ShiftOut(Schema):
    id: int
    area_code: str
    user: str
    post: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    clocked_in_at: dt.datetime | None
    clocked_out_at: dt.datetime | None

    @staticmethod
    def resolve_area_code(obj: Any) -> str:
        return str(obj.area.code)

    @staticmethod
    def resolve_user(obj: Any) -> str:
        return str(obj.user.display_name or obj.user.username)


@router.get("/duty/shifts", response={200: list[ShiftOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("-id",), page_size=100)
def shifts(request: HttpRequest, within: str | None = None, day: dt.date | None = None) -> Any:
    """Planned and served shifts at gates and checkpoints."""
    actor = need(request, "duty.view")
    qs = selectors.shifts_visible_to(actor)
    if within:
        qs = qs.within(selectors.area_by_code(actor, within))
    if day:
        from gridguard.core.clock import SHANGHAI

        if not dt.date(1900, 1, 1) <= day <= dt.date(2999, 12, 30):
            raise InvalidInput.one("day", "out_of_range", _("Choose a day between 1900 and 2999."))
        start = dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI)
        qs = qs.filter(starts_at__lt=start + dt.timedelta(days=1), ends_at__gt=start)
    return qs


class HoursOut(Schema):
    key: str
    label: str
    hours: float
    shifts: int


@router.get("/duty/hours", response={200: list[HoursOut], **ERROR_RESPONSES})
def hours(request: HttpRequest, by: str = "street", within: str | None = None) -> Any:
    """Hours served, totalled by `person`, `post` or `street`."""
    actor = need(request, "duty.view")
    if by not in {"person", "post", "street"}:
        raise InvalidInput.one(
            "by", "invalid", _("by: one of person, post, street, not “%(by)s”") % {"by": by}
        )
    area = selectors.area_by_code(actor, within) if within else None
    return selectors.duty_hours(actor, by=by, within=area)
