"""Pages: checkpoints (A3). The recording page a checkpoint official uses on a phone (scan or
type the travellers' registration receipts), the list of checkpoints with today's counts, the
daily counts per street for a date range, and setting checkpoints up.

A checkpoint outside the user's territory is a 404. The pages show no personal data beyond
plates and receipt codes, so they write no read audit rows. The recording form carries a
submission key made when it is shown, so a double tap or a browser resend is one check.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from gridguard.access.models import CheckOutcome, Checkpoint, CheckpointKind
from gridguard.access.selectors import checkpoints as selectors
from gridguard.access.services import checkpoints as services
from gridguard.core import clock
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.core.forms import DateRangeForm
from gridguard.core.scoping import scope_q
from gridguard.health.travel import PROVINCES
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area

CHECK_FIELDS = (
    "plate",
    "origin_province",
    "origin_city",
    "passengers",
    "fever_count",
    "outcome",
    "note",
    "receipt_codes",
)


def _need(request: HttpRequest, *permissions: str) -> Any:
    user: Any = request.user
    if not any(user.can(p) for p in permissions):
        raise PermissionDenied
    return user


def totals_sentence(totals: dict[str, int], since: Any = None, until: Any = None) -> str:
    """ "154 checkpoints checked 22,278 vehicles and … travellers", for a range or today."""
    figures = {k: f"{v:,}" for k, v in totals.items()}
    if since is None:
        text = ngettext(
            "Today %(checkpoints)s checkpoint checked %(vehicles)s vehicles and "
            "%(travellers)s travellers.",
            "Today %(checkpoints)s checkpoints checked %(vehicles)s vehicles and "
            "%(travellers)s travellers.",
            totals["checkpoints"],
        )
        return text % figures
    text = ngettext(
        "From %(since)s to %(until)s, %(checkpoints)s checkpoint checked %(vehicles)s vehicles "
        "and %(travellers)s travellers; %(fevers)s had a fever, %(turned_back)s checks turned "
        "back.",
        "From %(since)s to %(until)s, %(checkpoints)s checkpoints checked %(vehicles)s vehicles "
        "and %(travellers)s travellers; %(fevers)s had a fever, %(turned_back)s checks turned "
        "back.",
        totals["checkpoints"],
    )
    return text % {**figures, "since": since.isoformat(), "until": until.isoformat()}


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """Checkpoints in the user's territory with today's counts."""
    user = _need(request, selectors.VIEW, selectors.RECORD)
    page = Paginator(selectors.checkpoints_visible_to(user), 50).get_page(request.GET.get("page"))
    today = clock.today()
    counts = selectors.today_counts(user, list(page.object_list))
    rows = [
        {
            "c": c,
            "n": counts.get(c.pk, {}),
            "can_record": c.active and user.can_at(selectors.RECORD, c.area.path),
        }
        for c in page
    ]
    context = {
        "title": _("Checkpoints"),
        "page": page,
        "rows": rows,
        "today": today,
        "sentence": totals_sentence(selectors.totals(user, today, today))
        if user.can(selectors.VIEW)
        else "",
        "can_view": user.can(selectors.VIEW),
        "can_manage": user.can("checkpoint.manage"),
    }
    return render(request, "access/checkpoints/index.html", context)


def _record_context(user: Any, checkpoint: Checkpoint, **extra: Any) -> dict[str, Any]:
    today = clock.today()
    checks = list(
        selectors.checks_visible_to(user, checkpoint=checkpoint, day=today).prefetch_related(
            "registrations"
        )[:20]
    )
    context: dict[str, Any] = {
        "title": checkpoint.area.name,
        "checkpoint": checkpoint,
        "checks": [
            {
                "c": c,
                "time": clock.local(c.checked_at),
                "receipts": [r.receipt_code for r in c.registrations.all()],
            }
            for c in checks
        ],
        "today": selectors.today_counts(user, [checkpoint]).get(checkpoint.pk, {}),
        "outcomes": CheckOutcome.choices,
        "provinces": PROVINCES,
        "values": {"passengers": 1, "fever_count": 0, "outcome": CheckOutcome.CLEARED},
        "errors": {},
        "mine": selectors.checkpoints_for(user, selectors.RECORD),
        "submission_key": uuid.uuid4().hex,
    }
    context.update(extra)
    return context


@login_required
def record(request: HttpRequest, code: str) -> HttpResponse:
    """The recording page: one vehicle (or traveller on foot) per submit."""
    user = _need(request, selectors.RECORD)
    try:
        checkpoint = selectors.checkpoint_by_code(user, code, selectors.RECORD)
    except OutOfScope as exc:
        raise Http404 from exc
    if request.method != "POST":
        return render(request, "access/checkpoints/record.html", _record_context(user, checkpoint))
    values = {name: request.POST.get(name, "") for name in CHECK_FIELDS}
    key = request.POST.get("submission_key", "")
    try:
        check = services.record_check(user, checkpoint, submission_key=key, **values)
    except InvalidInput as exc:
        errors = exc.by_field()
        context = _record_context(user, checkpoint, values=values, errors=errors)
        # The same key for a corrected form (nothing was written); a fresh one if it was refused.
        if key and "submission_key" not in errors:
            context["submission_key"] = key
        return render(request, "access/checkpoints/record.html", context, status=400)
    except NotPermitted as exc:
        raise PermissionDenied from exc
    linked = check.registrations.count()
    text = ngettext(
        "Check recorded: %(what)s, %(n)d traveller.",
        "Check recorded: %(what)s, %(n)d travellers.",
        check.passengers,
    ) % {"what": check.plate or _("on foot"), "n": check.passengers}
    if linked:
        text += " " + ngettext("%(r)d receipt linked.", "%(r)d receipts linked.", linked) % {
            "r": linked
        }
    messages.success(request, text)
    return redirect(reverse("checkpoints:record", args=[checkpoint.area.code]))


@login_required
def counts(request: HttpRequest) -> HttpResponse:
    """Daily counts per street (and per checkpoint) for a date range, with the totals."""
    user = _need(request, selectors.VIEW)
    form = DateRangeForm(request.GET or None)
    errors: dict[str, list[str]] = {}
    if form.is_bound and not form.is_valid():
        errors = {k: [str(m) for m in v] for k, v in form.errors.items()}
    since, until = form.days() if form.is_bound and not errors else (None, None)
    try:
        since, until = selectors.check_range(since, until, fields=("since", "until"))
    except InvalidInput as exc:
        errors.update(exc.by_field())
        since, until = selectors.check_range(None, None)
    totals = selectors.totals(user, since, until)
    context = {
        "title": _("Checkpoint counts"),
        "since": since,
        "until": until,
        "errors": errors,
        "totals": totals,
        "sentence": totals_sentence(totals, since, until),
        "streets": selectors.daily_counts_per_street(user, since, until),
        "checkpoints": selectors.daily_counts_per_checkpoint(user, since, until),
    }
    return render(request, "access/checkpoints/counts.html", context, status=400 if errors else 200)


@login_required
def setup(request: HttpRequest) -> HttpResponse:
    """Checkpoint places in the user's territory; set one up, change its kind, close it."""
    user = _need(request, "checkpoint.manage")
    if request.method == "POST":
        return _save_setup(request, user)
    places = Area.objects.filter(kind=AreaKind.CHECKPOINT).select_related("parent")
    q = scope_q(user, "path")
    if q is not None:
        places = places.filter(q)
    page = Paginator(places.order_by("path"), 50).get_page(request.GET.get("page"))
    existing = {
        c.area_id: c
        for c in selectors.checkpoints_visible_to(user).filter(area__in=list(page.object_list))
    }
    context = {
        "title": _("Set up checkpoints"),
        "page": page,
        "rows": [{"a": a, "c": existing.get(a.pk)} for a in page],
        "kinds": CheckpointKind.choices,
    }
    return render(request, "access/checkpoints/setup.html", context)


def _save_setup(request: HttpRequest, user: Any) -> HttpResponse:
    code = request.POST.get("code", "")
    try:
        place = selectors.checkpoint_place(user, code)
        services.set_up_checkpoint(
            user,
            place,
            kind=request.POST.get("kind", ""),
            active=request.POST.get("active") == "on",
        )
    except OutOfScope as exc:
        raise Http404 from exc
    except NotPermitted as exc:
        raise PermissionDenied from exc
    except InvalidInput as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("%(name)s saved.") % {"name": place.name})
    return redirect(f"{reverse('checkpoints:setup')}?page={request.POST.get('page', '1')}")
