"""Duty roster pages (T3): plan a shift at a gate or checkpoint, and hours served."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from gridguard.accounts.selectors import users_with_permission_visible_to
from gridguard.core import clock
from gridguard.core.clock import SHANGHAI
from gridguard.core.errors import FieldError, InvalidInput, NotPermitted, OutOfScope
from gridguard.core.forms import DateRangeForm
from gridguard.territory import selectors, services
from gridguard.territory.models import DutyPost

PLAN_FIELDS = ("area", "user", "post", "starts_at", "ends_at", "note")
CHOICES_LIMIT = 300


def _parse_local(value: str) -> dt.datetime | None:
    """A datetime-local input ("2026-02-10T08:00") read as Shanghai time."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)


def _plan_errors(user: Any, data: Any) -> tuple[dict[str, Any], list[FieldError]]:
    """Read the form into plan_shift's arguments; every problem names its field."""
    errors: list[FieldError] = []
    args: dict[str, Any] = {"post": data.get("post", ""), "note": data.get("note", "").strip()}
    code = data.get("area", "").strip()
    place = selectors.places_for_duty(user).filter(code=code).first() if code else None
    if place is None:
        errors.append(FieldError("area", "unknown", _("Pick a gate or checkpoint in your area.")))
    args["area"] = place
    username = data.get("user", "").strip()
    person = (
        users_with_permission_visible_to(user, "duty.clock").filter(username=username).first()
        if username
        else None
    )
    if person is None:
        errors.append(
            FieldError("user", "unknown", _("Pick a person with a duty role in your area."))
        )
    args["user"] = person
    for name in ("starts_at", "ends_at"):
        value = _parse_local(data.get(name, ""))
        if value is None:
            errors.append(FieldError(name, "invalid", _("Enter a date and time.")))
        args[name] = value
    return args, errors


@login_required
def plan(request: HttpRequest) -> HttpResponse:
    """Plan a shift: a gate or checkpoint, a person with a duty role there, start and end."""
    user: Any = request.user
    if not user.can("duty.plan"):
        raise PermissionDenied
    field_errors: dict[str, list[str]] = {}
    other_errors: list[str] = []
    values = {k: request.POST.get(k, "") for k in PLAN_FIELDS}
    if request.method == "POST":
        args, errors = _plan_errors(user, request.POST)
        if not errors:
            try:
                shift = services.plan_shift(user, **args)
            except InvalidInput as exc:
                errors = exc.errors
            except (NotPermitted, OutOfScope) as exc:
                errors = [FieldError("area", "not_permitted", str(exc))]
            else:
                messages.success(
                    request,
                    _("Shift planned for %(person)s at %(place)s.")
                    % {"person": shift.user, "place": shift.area.name},
                )
                return redirect("territory:duty_plan")
        for e in errors:
            if e.field in PLAN_FIELDS:
                field_errors.setdefault(str(e.field), []).append(e.message)
            else:
                other_errors.append(e.message)
    places = list(selectors.places_for_duty(user).order_by("path")[:CHOICES_LIMIT])
    people = list(users_with_permission_visible_to(user, "duty.clock")[:CHOICES_LIMIT])
    page = Paginator(selectors.upcoming_shifts(user, clock.now()), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "territory/duty_plan.html",
        {
            "places": places,
            "people": people,
            "posts": DutyPost.choices,
            "values": values,
            "field_errors": field_errors,
            "other_errors": other_errors,
            "page": page,
            "title": _("Duty roster"),
        },
        status=400 if field_errors or other_errors else 200,
    )


@login_required
def hours(request: HttpRequest) -> HttpResponse:
    """Hours served per person, per gate/checkpoint and per street, in a date range."""
    user: Any = request.user
    if not user.can("duty.view"):
        raise PermissionDenied
    dates = DateRangeForm(request.GET)
    dates.is_valid()
    errors = dates.messages()
    since, until = dates.bounds()
    tables = [
        (
            by,
            label,
            selectors.duty_hours(user, by=by, since=since, until=until),
        )
        for by, label in (
            ("person", _("Per person")),
            ("post", _("Per gate or checkpoint")),
            ("street", _("Per street")),
        )
    ]
    return render(
        request,
        "territory/duty_hours.html",
        {
            "tables": tables,
            "errors": errors,
            "since": request.GET.get("since", ""),
            "until": request.GET.get("until", ""),
            "title": _("Hours served"),
        },
    )
