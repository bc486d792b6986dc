"""Pages of the person registry (P1): search, a person's record, editing, the duplicates
queue with side-by-side comparison, and the merge history with undo."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridguard.core import audit, masking
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.people import merging, selectors, services
from gridguard.people.models import Person
from gridguard.territory.models import Area

PAGE_SIZE = 50
READ_FIELDS = ["name", "id_number", "phone", "address", "birth_date"]


def _need(request: HttpRequest, permission: str) -> Any:
    user: Any = request.user
    if not user.can(permission):
        raise PermissionDenied
    return user


def _shown(user: Any, p: Person) -> dict[str, Any]:
    """A person as this user may see them (ID number and phone masked by role)."""
    return {
        "p": p,
        "id_number": masking.id_number_for(user, p.id_number),
        "phone": masking.phone_for(user, p.phone),
    }


def _person_or_404(user: Any, pk: int) -> Person:
    try:
        return selectors.person_detail(user, pk)
    except OutOfScope as exc:
        raise Http404(str(exc)) from exc


@login_required
def person_list(request: HttpRequest) -> HttpResponse:
    """Search persons by name, ID number or phone (exact), in the user's area; paged."""
    user = _need(request, "people.view")
    q = request.GET.get("q", "").strip()[:60]
    qs = selectors.persons_visible_to(user, q).order_by("name", "pk")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "people/list.html",
        {
            "q": q,
            "page": page,
            "rows": [_shown(user, p) for p in page],
            "extra": urlencode({"q": q}) + "&" if q else "",
            "can_merge": user.can("people.merge"),
            "title": _("Persons"),
        },
    )


@login_required
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One person's record, masked by role; the read is audited."""
    user = _need(request, "people.view")
    person = _person_or_404(user, pk)
    audit.record_read(user, person, fields=READ_FIELDS)
    related = selectors.related_records(person)
    return render(
        request,
        "people/detail.html",
        {
            **_shown(user, person),
            "related": related,
            "household": [_shown(user, m) for m in related["household"]],
            "can_edit": user.can("people.edit"),
            "title": person.name,
        },
    )


def _edit_values(person: Person) -> dict[str, str]:
    return {
        "name": person.name,
        "phone": person.phone,
        "address": person.address,
        "area": str(person.area.code),
    }


@login_required
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change name, phone, address or place of a person (people.edit)."""
    user = _need(request, "people.edit")
    person = _person_or_404(user, pk)
    values = _edit_values(person)
    field_errors: dict[str, list[str]] = {}
    other_errors: list[str] = []
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in values}
        fields: dict[str, Any] = {
            "name": values["name"],
            "phone": values["phone"],
            "address": values["address"],
        }
        if values["area"] != str(person.area.code):
            fields["area"] = Area.objects.filter(code=values["area"]).first()
        try:
            services.update_person(user, person, **fields)
        except InvalidInput as exc:
            for e in exc.errors:
                if e.field:
                    field_errors.setdefault(e.field, []).append(e.message)
                else:
                    other_errors.append(e.message)
        except (NotPermitted, OutOfScope) as exc:
            raise PermissionDenied(str(exc)) from exc
        else:
            messages.success(request, _("Saved."))
            return redirect("people:detail", pk=person.pk)
    return render(
        request,
        "people/edit.html",
        {
            "p": person,
            "values": values,
            "phone_shown": masking.phone_for(user, person.phone),
            "field_errors": field_errors,
            "other_errors": other_errors,
            "title": _("Edit %(name)s") % {"name": person.name},
        },
        status=422 if field_errors or other_errors else 200,
    )


@login_required
def duplicates(request: HttpRequest) -> HttpResponse:
    """Open possible duplicates, each pair side by side, with the decision buttons."""
    user = _need(request, "people.view")
    qs = selectors.duplicate_pairs(user).order_by("-found_at", "pk")
    page = Paginator(qs, 20).get_page(request.GET.get("page"))
    pairs = [
        {"pair": pair, "first": _shown(user, pair.first), "second": _shown(user, pair.second)}
        for pair in page
    ]
    return render(
        request,
        "people/duplicates.html",
        {
            "page": page,
            "pairs": pairs,
            "can_merge": user.can("people.merge"),
            "title": _("Possible duplicates"),
        },
    )


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Not a duplicate", or "merge into this one" (survivor = the chosen record)."""
    user = _need(request, "people.merge")
    try:
        pair = selectors.duplicate_pair(user, pk)
    except OutOfScope as exc:
        raise Http404(str(exc)) from exc
    decision = request.POST.get("decision", "")
    try:
        if decision == "merge":
            survivor = request.POST.get("survivor", "")
            record = merging.merge(
                user,
                pair,
                survivor=int(survivor) if survivor.isdigit() else -1,
                reason=request.POST.get("reason", ""),
                force=request.POST.get("force") == "1",
            )
            messages.success(
                request,
                _("Merged: %(n)d records moved to the kept person.")
                % {"n": sum(len(v) for d in record.moved.values() for v in d.values())},
            )
        else:
            merging.decide_pair(user, pair, decision)
            messages.success(request, _("Marked as not a duplicate."))
    except InvalidInput as exc:
        for e in exc.errors:
            messages.error(request, e.message)
    except (NotPermitted, OutOfScope) as exc:
        raise PermissionDenied(str(exc)) from exc
    return redirect("people:duplicates")


@login_required
def merge_history(request: HttpRequest) -> HttpResponse:
    """Merges in the user's area, newest first, with "undo" for open ones."""
    user = _need(request, "people.view")
    qs = selectors.merges_visible_to(user).order_by("-merged_at", "-pk")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "people/merges.html",
        {
            "page": page,
            "can_merge": user.can("people.merge"),
            "title": _("Merge history"),
        },
    )


@login_required
@require_POST
def undo_merge(request: HttpRequest, pk: int) -> HttpResponse:
    user = _need(request, "people.merge")
    try:
        record = selectors.merge_detail(user, pk)
    except OutOfScope as exc:
        raise Http404(str(exc)) from exc
    try:
        merging.unmerge(user, record)
    except InvalidInput as exc:
        for e in exc.errors:
            messages.error(request, e.message)
    except (NotPermitted, OutOfScope) as exc:
        raise PermissionDenied(str(exc)) from exc
    else:
        messages.success(request, _("The merge was undone."))
    return redirect("people:merges")


@login_required
@require_POST
def settle(request: HttpRequest, pk: int) -> HttpResponse:
    """Put a person in the household of a room at the place they live."""
    user = _need(request, "people.edit")
    person = _person_or_404(user, pk)
    try:
        household = services.settle_in_household(user, person, room=request.POST.get("room", ""))
    except InvalidInput as exc:
        messages.error(request, _("Room: %(m)s") % {"m": exc.errors[0].message})
    except (NotPermitted, OutOfScope) as exc:
        raise PermissionDenied(str(exc)) from exc
    else:
        messages.success(request, _("Now in household %(h)s.") % {"h": household})
    return redirect("people:detail", pk=person.pk)
