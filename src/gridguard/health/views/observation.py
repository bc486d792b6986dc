"""Home observation pages: the workers' order list and detail (with the visit actions), the
printable notice, the start form, the alerts and errands queues, and the resident's phone page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridguard.core import audit, clock, masking
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.health.models import ErrandKind, ErrandStatus, ObservationOrder, OrderStatus
from gridguard.health.selectors import observation as selectors
from gridguard.health.services import errands as errand_services
from gridguard.health.services import observation as services

PAGE_SIZE = 50


def _order(request: HttpRequest, pk: int) -> ObservationOrder:
    try:
        return selectors.order_for(request.user, pk)
    except NotPermitted as exc:
        raise PermissionDenied from exc
    except OutOfScope as exc:
        raise Http404 from exc


def _need(request: HttpRequest, permission: str) -> None:
    if not request.user.can(permission):  # type: ignore[union-attr]
        raise PermissionDenied


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    """Orders in the worker's territory, filtered by status, newest first."""
    _need(request, "observation.view")
    status = request.GET.get("status", OrderStatus.ACTIVE)
    if status not in OrderStatus.values:
        status = ""
    qs = selectors.orders_visible_to(
        request.user, status=status or None, q=request.GET.get("q", "")
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    user = request.user
    rows = [
        {
            "o": o,
            "name": o.person.name if user.can("people.view") else masking.mask_name(o.person.name),  # type: ignore[union-attr]
            "id_number": masking.id_number_for(user, o.person.id_number),
        }
        for o in page
    ]
    return render(
        request,
        "health/observation/list.html",
        {
            "page": page,
            "rows": rows,
            "status": status,
            "statuses": OrderStatus.choices,
            "extra": f"status={status}&",
        },
    )


def _detail(
    request: HttpRequest,
    order: ObservationOrder,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    audit.record_read(user, order, fields=["name", "id_number", "phone", "temperatures"])
    can_manage = user.can_at("observation.manage", order.area.path)  # type: ignore[union-attr]
    ctx = {
        "order": order,
        "person": order.person,
        "id_number": masking.id_number_for(user, order.person.id_number),
        "phone": masking.phone_for(user, order.person.phone),
        "checkins": selectors.checkins_of(order),
        "alerts": selectors.alerts_of(order),
        "errands": selectors.errands_of(order),
        "errand_kinds": ErrandKind.choices,
        "can_manage": can_manage,
        "can_checkin": user.can_at("observation.checkin", order.area.path),  # type: ignore[union-attr]
        "can_ack": user.can_at("observation.alerts", order.area.path),  # type: ignore[union-attr]
        "can_release_now": clock.today() >= order.ends_on,
        "active": order.status == OrderStatus.ACTIVE,
        "errors": errors or {},
    }
    return render(request, "health/observation/detail.html", ctx, status=status)


@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _order(request, pk))


def _act(request: HttpRequest, pk: int, action: Any, done: str) -> HttpResponse:
    """Run one service call for an order from a detail-page form; errors beside the form."""
    order = _order(request, pk)
    try:
        action(order)
    except NotPermitted as exc:
        raise PermissionDenied from exc
    except OutOfScope as exc:
        raise Http404 from exc
    except InvalidInput as exc:
        return _detail(request, selectors.order_for(request.user, pk), exc.by_field(), status=422)
    messages.success(request, done)
    return redirect("observation:detail", pk=pk)


@login_required
@require_POST
def serve_notice(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, lambda o: services.serve_notice(request.user, o), _("Notice served."))


@login_required
@require_POST
def record_commitment(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda o: services.record_commitment(request.user, o),
        _("Commitment recorded."),
    )


@login_required
@require_POST
def visit_checkin(request: HttpRequest, pk: int) -> HttpResponse:
    p = request.POST
    return _act(
        request,
        pk,
        lambda o: services.check_in(
            request.user,
            o,
            p.get("temperature", ""),
            "visit",
            symptoms=[s for s in p.get("symptoms", "").split(",") if s.strip()],
            note=p.get("note", ""),
        ),
        _("Temperature recorded."),
    )


@login_required
@require_POST
def report_breach(request: HttpRequest, pk: int) -> HttpResponse:
    detail = request.POST.get("detail", "")
    return _act(
        request,
        pk,
        lambda o: services.report_breach(request.user, o, detail),
        _("Breach reported."),
    )


@login_required
@require_POST
def release(request: HttpRequest, pk: int) -> HttpResponse:
    p = request.POST
    return _act(
        request,
        pk,
        lambda o: services.release(
            request.user,
            o,
            p.get("note", ""),
            early=p.get("early") == "1",
            reason=p.get("reason", ""),
        ),
        _("Observation released."),
    )


@login_required
@require_POST
def request_errand(request: HttpRequest, pk: int) -> HttpResponse:
    p = request.POST
    return _act(
        request,
        pk,
        lambda o: errand_services.request_errand(
            request.user, o, p.get("kind", ""), p.get("detail", "")
        ),
        _("Errand requested."),
    )


@login_required
def notice(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable notice (居家隔离医学观察告知书) with the person's commitment."""
    order = _order(request, pk)
    audit.record_read(request.user, order, fields=["name", "id_number"])
    committee = services.responsible_committee(order.area)
    return render(
        request,
        "health/observation/notice.html",
        {
            "order": order,
            "person": order.person,
            "id_number": masking.mask_id_number(order.person.id_number),
            "committee": committee,
            "slots": order.order_type.slots,
        },
    )


@login_required
def start(request: HttpRequest) -> HttpResponse:
    """Start an order for a person (?person=<id>)."""
    _need(request, "observation.manage")
    try:
        person = selectors.person_for(request.user, int(request.GET.get("person") or 0))
    except (ValueError, OutOfScope) as exc:
        raise Http404 from exc
    values: dict[str, Any] = {
        "order_type": "home",
        "starts_on": clock.today().isoformat(),
        "place_address": person.address,
        "reason": "",
        "health_worker": "",
        "committee_worker": "",
    }
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in values}
        try:
            starts_on = dt.date.fromisoformat(values["starts_on"]) if values["starts_on"] else None
        except ValueError:
            errors["starts_on"] = [_("Enter a date such as 2020-02-10.")]
            starts_on = None
        if not errors:
            try:
                order = services.start_order(
                    request.user,
                    person,
                    values["order_type"],
                    starts_on,
                    values["place_address"],
                    health_worker=selectors.user_by_pk(values["health_worker"]),
                    committee_worker=selectors.user_by_pk(values["committee_worker"]),
                    reason=values["reason"],
                )
            except InvalidInput as exc:
                errors = exc.by_field()
            except (NotPermitted, OutOfScope) as exc:
                raise PermissionDenied from exc
            else:
                messages.success(request, _("Observation started."))
                return redirect("observation:detail", pk=order.pk)
        status = 422
    workers = selectors.volunteers_for(person.area, "observation.manage")
    return render(
        request,
        "health/observation/start.html",
        {
            "person": person,
            "name": person.name,
            "id_number": masking.id_number_for(request.user, person.id_number),
            "values": values,
            "errors": errors,
            "types": selectors.order_types(),
            "workers": workers,
        },
        status=status,
    )


@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    """Open alerts, highest level and oldest first, with acknowledgement."""
    _need(request, "observation.view")
    page = Paginator(selectors.alerts_visible_to(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "health/observation/alerts.html",
        {"page": page, "can_ack": request.user.can("observation.alerts")},  # type: ignore[union-attr]
    )


@login_required
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        alert = selectors.alert_for(request.user, pk)
        services.acknowledge(request.user, alert, request.POST.get("note", ""))
    except NotPermitted as exc:
        raise PermissionDenied from exc
    except OutOfScope as exc:
        raise Http404 from exc
    except InvalidInput as exc:
        for e in exc.errors:
            messages.error(request, e.message)
    else:
        messages.success(request, _("Alert acknowledged."))
    return redirect("observation:alerts")


@login_required
def errands(request: HttpRequest) -> HttpResponse:
    """Errands of the territory: open and assigned first; assign a volunteer, close."""
    status = request.GET.get("status", "")
    if status not in ErrandStatus.values:
        status = ""
    try:
        qs = selectors.errands_visible_to(request.user, status=status or None)
    except NotPermitted as exc:
        raise PermissionDenied from exc
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    user = request.user
    rows = [
        {
            "e": e,
            "name": masking.mask_name(e.order.person.name),
            "volunteers": selectors.volunteers_for(e.area)
            if e.status in selectors.OPEN_ERRANDS
            else [],
        }
        for e in page
    ]
    return render(
        request,
        "health/observation/errands.html",
        {
            "page": page,
            "rows": rows,
            "status": status,
            "statuses": ErrandStatus.choices,
            "can_manage": user.can("errands.manage"),  # type: ignore[union-attr]
            "extra": f"status={status}&",
        },
    )


def _errand_action(request: HttpRequest, pk: int, action: Any, done: str) -> HttpResponse:
    try:
        errand = selectors.errand_for(request.user, pk)
        action(errand)
    except NotPermitted as exc:
        raise PermissionDenied from exc
    except OutOfScope as exc:
        raise Http404 from exc
    except InvalidInput as exc:
        for e in exc.errors:
            messages.error(request, e.message)
    else:
        messages.success(request, done)
    return redirect("observation:errands")


@login_required
@require_POST
def assign_errand(request: HttpRequest, pk: int) -> HttpResponse:
    volunteer = selectors.user_by_pk(request.POST.get("volunteer"))
    return _errand_action(
        request,
        pk,
        lambda e: errand_services.assign_errand(request.user, e, volunteer),
        _("Errand assigned."),
    )


@login_required
@require_POST
def close_errand(request: HttpRequest, pk: int) -> HttpResponse:
    outcome = request.POST.get("outcome", "")
    return _errand_action(
        request,
        pk,
        lambda e: errand_services.close_errand(request.user, e, outcome),
        _("Errand closed."),
    )


# --- the resident's phone page ---------------------------------------------------------------


def _me(
    request: HttpRequest, errors: dict[str, list[str]] | None = None, status: int = 200
) -> HttpResponse:
    person_id = services.person_id_of(request.user)
    order = selectors.own_order(person_id)
    ctx: dict[str, Any] = {"order": order, "errors": errors or {}, "linked": person_id is not None}
    if order is not None:
        audit.record_read(request.user, order, fields=["temperatures"])
        day, index, done = selectors.current_slot(order)
        ctx.update(
            masked_name=masking.mask_name(order.person.name),
            active=order.status == OrderStatus.ACTIVE and order.starts_on <= day <= order.ends_on,
            slot_day=day,
            slot_time=services.slot_times(order.order_type)[index],
            slot_done=done,
            board=selectors.slot_board(order),
            errands=selectors.own_errands(order),
            errand_kinds=ErrandKind.choices,
            days_left=(order.ends_on - clock.today()).days + 1,
        )
    return render(request, "health/observation/me.html", ctx, status=status)


@login_required
def me(request: HttpRequest) -> HttpResponse:
    return _me(request)


def _my_action(request: HttpRequest, action: Any, done: str) -> HttpResponse:
    order = selectors.own_order(services.person_id_of(request.user))
    if order is None:
        raise Http404
    try:
        action(order)
    except (NotPermitted, OutOfScope) as exc:
        raise PermissionDenied from exc
    except InvalidInput as exc:
        return _me(request, exc.by_field(), status=422)
    messages.success(request, done)
    return redirect("observation:me")


@login_required
@require_POST
def my_checkin(request: HttpRequest) -> HttpResponse:
    temperature = request.POST.get("temperature", "")
    symptoms = request.POST.getlist("symptoms")
    return _my_action(
        request,
        lambda o: services.check_in(request.user, o, temperature, "self", symptoms=symptoms),
        _("Thank you: your temperature was recorded."),
    )


@login_required
@require_POST
def my_errand(request: HttpRequest) -> HttpResponse:
    kind, detail = request.POST.get("kind", ""), request.POST.get("detail", "")
    return _my_action(
        request,
        lambda o: errand_services.request_errand(request.user, o, kind, detail),
        _("Your request was sent to the committee."),
    )
