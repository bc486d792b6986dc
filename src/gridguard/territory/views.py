"""Territory pages: browse an area, its places and responsible persons; clock in and out.

The roster planning and hours pages live in duty_views.py.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridguard.core import clock, masking
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.territory import selectors, services
from gridguard.territory.kinds import AreaKind

PAGE_SIZE = 50


def _area_or_404(user: Any, code: str) -> Any:
    if not user.can("territory.view"):
        raise PermissionDenied
    try:
        return selectors.area_by_code(user, code)
    except OutOfScope as exc:
        raise Http404(str(exc)) from exc


def kind_counts(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    """(kind code, translated label, count) for the kinds present, in the tree's order."""
    return [(k, str(AreaKind(k).label), n) for k, n in counts.items() if n]


def _map_features(node: Any, children: list[Any]) -> dict[str, Any] | None:
    """GeoJSON of the children's boundaries for the ECharts map (None when none has one)."""
    features = [
        {"type": "Feature", "properties": {"name": c.name, "code": c.code}, "geometry": c.boundary}
        for c in children
        if c.boundary
    ]
    if not features and node.boundary:
        features = [
            {
                "type": "Feature",
                "properties": {"name": node.name, "code": node.code},
                "geometry": node.boundary,
            }
        ]
    return {"type": "FeatureCollection", "features": features} if features else None


@login_required
def area(request: HttpRequest, code: str) -> HttpResponse:
    """One area: breadcrumbs, children (paged), places by kind, responsible persons, grid cells."""
    user: Any = request.user
    node = _area_or_404(user, code)
    page = Paginator(selectors.children_of(user, node), PAGE_SIZE).get_page(request.GET.get("page"))
    children = list(page.object_list)
    can_people = user.can("responsibility.view")
    responsible = (
        [
            (r, masking.phone_for(user, r.phone))
            for r in selectors.responsibilities_visible_to(user)
            .within(node)
            .filter(area__depth__lte=node.depth + 2)[:PAGE_SIZE]
        ]
        if can_people
        else []
    )
    cells = list(selectors.grid_cells_within(user, node)[:PAGE_SIZE])
    raw = selectors.counts_by_kind(user, node)
    raw[node.kind] = raw.get(node.kind, 1) - 1  # the area itself is not "below" it
    counts = kind_counts(raw)
    return render(
        request,
        "territory/area.html",
        {
            "area": node,
            "crumbs": selectors.ancestors_in_scope(user, node),
            "page": page,
            "children": children,
            "responsible": responsible,
            "can_people": can_people,
            "cells": cells,
            "counts": counts,
            "map_geojson": _map_features(node, children),
            "title": node.name,
        },
    )


@login_required
def places(request: HttpRequest, code: str, kind: str) -> HttpResponse:
    """Every place of one kind inside an area, paged."""
    user: Any = request.user
    node = _area_or_404(user, code)
    if kind not in AreaKind.values:
        raise Http404(_("Unknown kind of place."))
    qs = selectors.places_of_kind(user, kind, within=node).select_related("parent")
    page = Paginator(qs.order_by("path"), PAGE_SIZE).get_page(request.GET.get("page"))
    label = str(AreaKind(kind).label)
    return render(
        request,
        "territory/places.html",
        {
            "area": node,
            "crumbs": [*selectors.ancestors_in_scope(user, node), node],
            "kind": kind,
            "kind_label": label,
            "page": page,
            "title": f"{node.name} · {label}",
        },
    )


@login_required
def responsible(request: HttpRequest, pk: int) -> HttpResponse:
    """One responsible person's full record; the read is audited by the selector."""
    user: Any = request.user
    if not user.can("responsibility.view"):
        raise PermissionDenied
    try:
        row = selectors.responsibility_detail(user, pk)
    except OutOfScope as exc:
        raise Http404(str(exc)) from exc
    return render(
        request,
        "territory/responsible.html",
        {
            "r": row,
            "phone": masking.phone_for(user, row.phone),
            "crumbs": [*selectors.ancestors_in_scope(user, row.area), row.area],
            "title": row.person_name,
        },
    )


@login_required
def my_duty(request: HttpRequest) -> HttpResponse:
    """A volunteer's phone page: today's shifts with one big button to clock in or out."""
    user: Any = request.user
    shifts = list(selectors.shifts_of_user_on(user, clock.today()))
    return render(
        request,
        "territory/my_duty.html",
        {"shifts": shifts, "now": clock.now(), "title": _("My duty")},
    )


@login_required
@require_POST
def clock_in_out(request: HttpRequest, shift_id: int, action: str) -> HttpResponse:
    """Clock in or out of one of the user's own shifts today, then go back where they were."""
    user: Any = request.user
    if action not in {"in", "out"}:
        raise Http404
    shift = selectors.shifts_of_user_on(user, clock.today()).filter(pk=shift_id).first()
    if shift is None:
        raise Http404(_("No such shift of yours today."))
    try:
        if action == "in":
            services.clock_in(user, shift)
            messages.success(request, _("Clocked in at %(place)s.") % {"place": shift.area.name})
        else:
            services.clock_out(user, shift)
            messages.success(request, _("Clocked out at %(place)s.") % {"place": shift.area.name})
    except InvalidInput as exc:
        for e in exc.errors:
            messages.error(request, e.message)
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    nxt = request.POST.get("next", "")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        return redirect(nxt)
    return redirect("territory:my_duty")
