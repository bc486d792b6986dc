"""Trace-back pages (A4): the form and the past trace-backs, one trace-back's three lists,
its exports (CSV, XLSX) and the button that opens follow-ups for the committees concerned.

Every page needs "traceback.run"; a trace-back whose subject lies outside the user's territory
is a 404. Each view of a list and each export is audited with the persons in it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from gridguard.access.selectors import traceback as selectors
from gridguard.access.services import traceback as services
from gridguard.core import clock, masking
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope

PAGE_SIZE = 100
LIST_SIZE = 30
_FIELDS = ("person", "pass_number", "window_start", "window_end", "gap_minutes", "reason")
# The service names the pass "entry_pass"; the form calls its field "pass_number".
_FORM_FIELD = {"entry_pass": "pass_number"}
_LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def _user(request: HttpRequest) -> Any:
    user: Any = request.user
    if not user.can(services.PERMISSION):
        raise PermissionDenied
    return user


def _parse_local(value: str) -> dt.datetime | None:
    """A datetime-local input ("2020-02-10T08:00") read as Shanghai time."""
    parsed = dt.datetime.fromisoformat(value.strip())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=clock.SHANGHAI)


def _defaults() -> dict[str, str]:
    now = clock.local(clock.now()).replace(second=0, microsecond=0)
    return {
        "person": "",
        "pass_number": "",
        "window_start": (now - dt.timedelta(days=14)).replace(minute=0).strftime(_LOCAL_INPUT),
        "window_end": now.strftime(_LOCAL_INPUT),
        "gap_minutes": "15",
        "reason": "",
    }


def _run(user: Any, values: dict[str, str]) -> tuple[Any, dict[str, list[str]]]:
    """Run the trace-back the form asks for: (the TraceBack, {}) or (None, field errors)."""
    errors: dict[str, list[str]] = {}
    times: dict[str, dt.datetime | None] = {}
    for name in ("window_start", "window_end"):
        try:
            times[name] = _parse_local(values[name]) if values[name].strip() else None
        except ValueError:
            times[name] = None
            errors[name] = [_("Enter a date and time such as 2020-02-10 08:00.")]
    try:
        gap: int | None = int(values["gap_minutes"])
    except ValueError:
        gap = None
    person, entry_pass = selectors.find_subject(
        user, person_ref=values["person"], pass_ref=values["pass_number"]
    )
    if values["person"].strip() and person is None:
        errors["person"] = [_("No person with this ID number or record number in your area.")]
    if values["pass_number"].strip() and entry_pass is None:
        errors["pass_number"] = [_("No pass with this number in your area.")]
    if errors:
        return None, errors
    try:
        tb, _result = services.run_traceback(
            user,
            person=person,
            entry_pass=entry_pass,
            window_start=times["window_start"],
            window_end=times["window_end"],
            gap_minutes=gap,
            reason=values["reason"],
        )
    except InvalidInput as exc:
        return None, {_FORM_FIELD.get(k, k): v for k, v in exc.by_field().items()}
    except OutOfScope:
        return None, {"person": [_("No person with this ID number or record number in your area.")]}
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    return tb, {}


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The trace-back form (POST runs it and opens the result) and the past trace-backs."""
    user = _user(request)
    values = _defaults()
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = {name: (request.POST.get(name) or "").strip() for name in _FIELDS}
        tb, errors = _run(user, values)
        if tb is not None:
            return redirect("traceback:detail", pk=tb.pk)
        status = 422
    page = Paginator(selectors.tracebacks_visible_to(user), LIST_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "values": values,
        "errors": errors,
        "page": page,
        "title": _("Trace-back"),
    }
    return render(request, "access/traceback/index.html", context, status=status)


def _traceback_or_404(user: Any, pk: int) -> Any:
    try:
        return selectors.traceback_for(user, pk)
    except OutOfScope as exc:
        raise Http404(str(exc)) from exc


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One trace-back: the gate contacts, the same building, the visitors (each paginated),
    masked by role; the persons shown are audited in one row."""
    user = _user(request)
    tb = _traceback_or_404(user, pk)
    result = selectors.trace_of(tb)
    sections = []
    shown: list[selectors.Contact] = []
    for key, param, title in (
        (selectors.GATE, "g", _("Passed the same gates")),
        (selectors.BUILDING, "b", _("Live in the same building")),
        (selectors.VISITOR, "v", _("Visitors of the household")),
    ):
        contacts = result.section(key)
        page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get(param))
        shown.extend(page.object_list)
        sections.append(
            {
                "key": key,
                "param": param,
                "title": title,
                "count": len(contacts),
                "page": page,
                "rows": [selectors.present(user, c) for c in page.object_list],
            }
        )
    services.record_read(user, tb, shown)
    subject = tb.person
    context = {
        "tb": tb,
        "result": result,
        "sections": sections,
        "subject_name": subject.name,
        "subject_id_number": masking.id_number_for(user, subject.id_number),
        "followups": tb.counts.get("followups", 0),
        "known": len(result.person_ids()),
        "title": _("Trace-back %(n)s") % {"n": tb.pk},
    }
    return render(request, "access/traceback/detail.html", context)


@login_required
@require_GET
def export(request: HttpRequest, pk: int, fmt: str) -> StreamingHttpResponse:
    """The list as CSV or XLSX, masked by role (audited)."""
    user = _user(request)
    if fmt not in ("csv", "xlsx"):
        raise Http404(_("Unknown export."))
    tb = _traceback_or_404(user, pk)
    try:
        out = services.export_traceback(user, tb, fmt=fmt)
    except OutOfScope as exc:
        raise Http404(str(exc)) from exc
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    response = StreamingHttpResponse(out.chunks, content_type=out.content_type)
    response["Content-Disposition"] = content_disposition_header(True, out.filename)
    response["X-Row-Count"] = str(out.count)
    return response


@login_required
@require_POST
def followups(request: HttpRequest, pk: int) -> HttpResponse:
    """Open follow-up tasks for the contacts of the chosen sections, at their committees."""
    user = _user(request)
    tb = _traceback_or_404(user, pk)
    chosen = [s for s in request.POST.getlist("section") if s in selectors.SECTIONS]
    if not chosen:
        messages.error(request, _("Choose at least one list to follow up."))
        return redirect("traceback:detail", pk=tb.pk)
    try:
        tasks = services.open_traceback_followups(user, tb, sections=chosen)
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    except OutOfScope as exc:
        raise Http404(str(exc)) from exc
    committees = len({t.area_id for t in tasks})
    messages.success(
        request,
        _("%(n)d follow-up tasks at %(c)d committees.") % {"n": len(tasks), "c": committees},
    )
    return redirect("traceback:detail", pk=tb.pk)
