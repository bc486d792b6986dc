"""The audit page for administrators: filter by actor, action, object, area and time."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from gridguard.core import selectors
from gridguard.core.forms import DateRangeForm


@login_required
def audit_page(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not user.can("audit.view"):
        raise PermissionDenied
    f = request.GET
    dates = DateRangeForm(f)
    dates.is_valid()  # bad dates are reported, the rest of the filters still apply
    errors = dates.messages()
    since, until = dates.days()
    qs = selectors.audit_entries(
        user,
        actor_label=f.get("actor", ""),
        action=f.get("action", ""),
        object_type=f.get("object_type", ""),
        object_id=f.get("object_id", ""),
        area=f.get("area", ""),
        since=since,
        until=until,
    )
    page = Paginator(qs, 50).get_page(f.get("page"))
    return render(
        request,
        "core/audit.html",
        {"page": page, "errors": errors, "f": f, "title": _("Audit trail")},
    )
