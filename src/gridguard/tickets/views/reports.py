"""Pages: the daily ticket report (C2) with its charts and tables, and its XLSX export.

An area outside the user's territory is refused (403); a bad date or area code is named on
the page, which then shows the default report (yesterday, the user's own area).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from gridguard.core import clock
from gridguard.core.errors import NotPermitted, OutOfScope
from gridguard.core.scoping import paths_of
from gridguard.territory.kinds import ADMINISTRATIVE
from gridguard.territory.models import Area
from gridguard.territory.selectors import areas_visible_to
from gridguard.tickets.selectors import report as selectors
from gridguard.tickets.services.reports import report_xlsx

MAX_AREAS = 500
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _need(request: HttpRequest) -> Any:
    user: Any = request.user
    if not any(user.can(p) for p in selectors.PERMISSIONS):
        raise PermissionDenied
    return user


def _areas(user: Any) -> list[Area]:
    """The administrative areas the user may pick (city, districts, streets, committees)."""
    return list(areas_visible_to(user).filter(kind__in=ADMINISTRATIVE).order_by("path")[:MAX_AREAS])


def _choice(request: HttpRequest, user: Any) -> tuple[dt.date, Area | None, dict[str, list[str]]]:
    """The day and area asked for (defaults: yesterday, the user's widest area) and the
    problems with what was asked, by field."""
    errors: dict[str, list[str]] = {}
    day = clock.today() - dt.timedelta(days=1)
    raw = (request.GET.get("date") or "").strip()
    if raw:
        try:
            asked = dt.date.fromisoformat(raw)
        except ValueError:
            errors["date"] = [_("Enter the date as YYYY-MM-DD.")]
        else:
            if asked > clock.today():
                errors["date"] = [_("This date is in the future.")]
            else:
                day = asked
    area: Area | None = None
    code = (request.GET.get("area") or "").strip()
    if code:
        area = Area.objects.filter(code=code[:40]).first()
        if area is None:
            errors["area"] = [_("There is no area with this code.")]
    if area is None:
        for path in paths_of(user):
            area = (
                Area.objects.filter(path=path).first()
                if path != "/"
                else Area.objects.filter(parent__isnull=True).order_by("path").first()
            )
            if area is not None:
                break
    return day, area, errors


def _charts(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "channel": {
            "labels": [x["label"] for x in r["by_channel"]],
            "data": [x["today"] for x in r["by_channel"]],
        },
        "priority": {
            "labels": [x["label"] for x in r["by_priority"]],
            "data": [x["today"] for x in r["by_priority"]],
        },
        "trend": {
            "labels": [x["date"][5:] for x in r["trend"]],
            "data": [x["count"] for x in r["trend"]],
        },
        "street": {
            "labels": [x["label"] for x in r["by_street"]],
            "data": [x["count"] for x in r["by_street"]],
        },
        "names": {
            "channel": _("Tickets by channel"),
            "priority": _("Tickets by priority"),
            "trend": _("Tickets per day"),
            "street": _("Tickets by street"),
        },
    }


@login_required
def report(request: HttpRequest) -> HttpResponse:
    """The daily ticket report page of one area and day."""
    user = _need(request)
    day, area, errors = _choice(request, user)
    data: dict[str, Any] | None = None
    if area is not None:
        try:
            data = selectors.present(selectors.daily_report(user, day, area))
        except (OutOfScope, NotPermitted) as exc:
            raise PermissionDenied from exc
    context = {
        "title": _("Daily ticket report"),
        "day": day,
        "area": area,
        "areas": _areas(user),
        "errors": errors,
        "r": data,
        "charts": _charts(data) if data else None,
        "subclasses": [x for x in data["by_subclass"] if x["today"] or x["previous_day"]]
        if data
        else [],
        "classes": [x for x in data["by_class"] if x["today"] or x["previous_day"]] if data else [],
    }
    return render(request, "tickets/report.html", context, status=400 if errors else 200)


@login_required
def export(request: HttpRequest) -> HttpResponse:
    """The same report as an XLSX file."""
    user = _need(request)
    day, area, errors = _choice(request, user)
    if errors or area is None:
        message = "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()) or _("No area.")
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    try:
        data = selectors.daily_report(user, day, area)
    except (OutOfScope, NotPermitted) as exc:
        raise PermissionDenied from exc
    response = HttpResponse(report_xlsx(data), content_type=XLSX)
    name = f"tickets-{area.code}-{day.isoformat()}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
