"""Pages: notices and answers to common questions (C3).

Staff see the notices and answers of their territory, publish new ones to an area (and so its
subtree) and withdraw them. Residents open `/notices/for/<area code>/` on a phone, without
logging in: the current notices for their compound and the answers to common questions,
grouped by subclass (public information).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridguard.core.errors import FieldError, InvalidInput, NotPermitted, OutOfScope
from gridguard.territory.kinds import ADMINISTRATIVE, AreaKind
from gridguard.territory.models import Area
from gridguard.territory.selectors import areas_visible_to
from gridguard.tickets import taxonomy
from gridguard.tickets.selectors import notices as selectors
from gridguard.tickets.services import notices as services

MAX_AREAS = 500
NOTICE_FIELDS = ("area", "title", "body", "until")
ANSWER_FIELDS = ("area", "question", "answer", "subclasses")


def _need(request: HttpRequest) -> Any:
    user: Any = request.user
    if not any(user.can(p) for p in selectors.STAFF):
        raise PermissionDenied
    return user


def _area(user: Any, code: str) -> Area:
    """The area with this code in the user's territory; InvalidInput naming `area` if none."""
    code = (code or "").strip()[:40]
    if not code:
        raise InvalidInput.one("area", "required", _("Choose the area."))
    found = areas_visible_to(user).filter(code=code).first()
    if found is None:
        raise InvalidInput.one(
            "area", "unknown", _("There is no area with this code in your territory.")
        )
    return found


def _context(user: Any, request: HttpRequest, **extra: Any) -> dict[str, Any]:
    kinds = [*ADMINISTRATIVE, AreaKind.COMPOUND]
    context: dict[str, Any] = {
        "title": _("Notices and answers"),
        "notices": Paginator(selectors.notices_visible_to(user), 50).get_page(
            request.GET.get("page")
        ),
        "answers": Paginator(selectors.answers_visible_to(user), 50).get_page(
            request.GET.get("apage")
        ),
        "can_publish": user.can(services.PUBLISH),
        "areas": list(areas_visible_to(user).filter(kind__in=kinds).order_by("path")[:MAX_AREAS]),
        "subclass_choices": taxonomy.subclass_choices(),
        "notice_values": {},
        "answer_values": {},
        "notice_errors": {},
        "answer_errors": {},
    }
    context.update(extra)
    return context


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The staff list of notices and answers, with the forms to publish them."""
    user = _need(request)
    if request.method != "POST":
        return render(request, "tickets/notices.html", _context(user, request))
    kind = request.POST.get("kind", "notice")
    if kind == "answer":
        values: dict[str, Any] = {f: request.POST.get(f, "") for f in ANSWER_FIELDS}
        values["subclasses"] = request.POST.getlist("subclasses")
    else:
        values = {f: request.POST.get(f, "") for f in NOTICE_FIELDS}
    area: Area | None = None
    area_errors: list[FieldError] = []
    try:
        area = _area(user, values["area"])
    except InvalidInput as exc:
        area_errors = exc.errors
    try:
        if kind == "answer":
            services.publish_answer(
                user,
                area=area,
                question=values["question"],
                answer=values["answer"],
                subclasses=values["subclasses"],
            )
            done = _("Answer published to %(area)s.")
        else:
            services.publish_notice(
                user, area=area, title=values["title"], body=values["body"], until=values["until"]
            )
            done = _("Notice published to %(area)s.")
    except InvalidInput as exc:
        found = area_errors + [e for e in exc.errors if not (area_errors and e.field == "area")]
        errors = InvalidInput(found).by_field()
        errors["other"] = errors.pop("__all__", [])
        extra = (
            {"answer_values": values, "answer_errors": errors}
            if kind == "answer"
            else {"notice_values": values, "notice_errors": errors}
        )
        return render(request, "tickets/notices.html", _context(user, request, **extra), status=400)
    except (NotPermitted, OutOfScope) as exc:
        raise PermissionDenied from exc
    messages.success(request, done % {"area": area.name if area else ""})
    return redirect(reverse("tickets_notices:index"))


@login_required
@require_POST
def withdraw_notice(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw a notice of the user's territory."""
    user = _need(request)
    notice = selectors.notice_for(user, pk)
    if notice is None:
        raise Http404
    try:
        services.withdraw_notice(user, notice)
    except (NotPermitted, OutOfScope) as exc:
        raise PermissionDenied from exc
    messages.success(request, _("Notice withdrawn: %(title)s") % {"title": notice.title})
    return redirect(reverse("tickets_notices:index"))


@login_required
@require_POST
def withdraw_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw an answer of the user's territory."""
    user = _need(request)
    answer = selectors.answer_for(user, pk)
    if answer is None:
        raise Http404
    try:
        services.withdraw_answer(user, answer)
    except (NotPermitted, OutOfScope) as exc:
        raise PermissionDenied from exc
    messages.success(request, _("Answer withdrawn: %(q)s") % {"q": answer.question})
    return redirect(reverse("tickets_notices:index"))


def for_place(request: HttpRequest, code: str) -> HttpResponse:
    """The residents' phone page of a compound or area: current notices and answers to
    common questions, grouped by subclass. Public: no login."""
    place = selectors.public_place(code)
    if place is None:
        raise Http404
    context = {
        "title": _("Notices for %(place)s") % {"place": place.name},
        "place": place,
        "notices": selectors.notices_for_place(place),
        "groups": selectors.answers_by_subclass(place),
    }
    return render(request, "tickets/notice_place.html", context)
