"""Open311 GeoReport v2 at /open311/v2/ (JSON only): the city's services and its requests.

- `GET services.json` is public: the 32 ticket subclasses as services (`service_code` is the
  subclass code, `group` its class).
- `POST requests.json` (form-encoded, as the spec says) files a ticket through the same intake
  as every channel, as channel "web". With `api_key` (or `Authorization: Bearer`) set to a
  device token allowed to take tickets in (purpose `hotline_connector`) it acts as that
  connector, lands unplaced tickets in the token's area, and may give its own reference as
  `attribute[channel_ref]` (the same reference again answers with the first request). Without
  a key it is an anonymous public submission, rate-limited per address like the public ticket
  form (`settings.TICKET_FORM_RATE`); a logged-in session is not used here, because the POST
  is CSRF-exempt (it is for machines) and must not act for a user a foreign page tricked into
  sending it. `service_code` must be a known subclass, but the classifier decides the
  subclass, as for every channel; `email` and `media_url` are accepted and not stored.
- `GET requests.json` and `GET requests/{id}.json` need a token or session whose roles grant
  `tickets.view` (hotline connector tokens do, so a connector reads back what it filed), and
  show only that caller's territory (decision: no anonymous reads, since a report's text often
  carries names, phones and addresses; every read is audited with the tickets it showed).
  They never show the reporter's name or phone. `service_request_id` is the ticket number;
  status is `closed` when its case is closed, `open` otherwise.

Every error is an Open311 error array, `[{"code": 400, "description": "field: message"}]`,
with the HTTP status of its code. The `.xml` format is not offered (400, saying so). The
OpenAPI document of these endpoints is served at `openapi.json`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from gridguard.accounts.services import authenticate_token
from gridguard.core import audit, clock
from gridguard.core.api import StaffSessionAuth
from gridguard.core.errors import FieldError, InvalidInput, NotPermitted, OutOfScope
from gridguard.core.middleware import client_address
from gridguard.core.scoping import PublicActor, require_permission
from gridguard.tickets import taxonomy
from gridguard.tickets.models import CaseStatus, Channel, Ticket
from gridguard.tickets.selectors.cases import tickets_visible_to
from gridguard.tickets.services import intake

SCHEMA_PATH = Path(__file__).with_name("open311_schema.json")
MAX_IDS = 100
MAX_PAGE_SIZE = 1000  # the spec's default maximum of requests in one answer
MAX_SPAN = dt.timedelta(days=90)  # the spec's longest date range
MAX_NAME = 50
# Field names of the intake as Open311 calls them, so an error names what the client sent.
_FIELD_NAMES = {
    "text": "description",
    "place": "address_string",
    "reporter_phone": "phone",
    "reporter_name": "last_name",
    "channel_ref": "attribute[channel_ref]",
}


class Problem(Exception):
    """One or more Open311 errors with the HTTP status to answer them with."""

    def __init__(self, status: int, errors: list[tuple[str | None, str]]) -> None:
        super().__init__(errors)
        self.status = status
        self.errors = errors

    @classmethod
    def one(cls, status: int, field: str | None, message: str) -> Problem:
        return cls(status, [(field, message)])


PUBLIC = PublicActor("public:open311")


def _errors(status: int, errors: list[tuple[str | None, str]]) -> JsonResponse:
    body = [
        {"code": status, "description": f"{field}: {message}" if field else message}
        for field, message in errors
    ]
    return JsonResponse(body, status=status, safe=False)


def _from_field_errors(errors: list[FieldError]) -> Problem:
    return Problem(400, [(_FIELD_NAMES.get(e.field or "", e.field), e.message) for e in errors])


def open311_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """JSON only, and every failure as an Open311 error array."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, fmt: str = "json", **kwargs: Any) -> HttpResponse:
        try:
            if fmt != "json":
                raise Problem.one(
                    400,
                    "format",
                    _("Only JSON is offered: ask for .json, not .%(f)s.") % {"f": fmt},
                )
            return view(request, *args, **kwargs)
        except Problem as exc:
            return _errors(exc.status, exc.errors)
        except InvalidInput as exc:
            return _errors(400, _from_field_errors(exc.errors).errors)
        except NotPermitted as exc:
            return _errors(403, [(None, str(exc))])
        except OutOfScope:
            return _errors(404, [("service_request_id", _("There is no such request."))])

    return wrapper


def _token(request: HttpRequest) -> Any | None:
    """The device token sent as `api_key` or `Authorization: Bearer`; None when none was
    sent, and a 403 when one was sent and is not valid."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    raw = header[7:].strip() if header.lower().startswith("bearer ") else ""
    raw = raw or request.POST.get("api_key", "") or request.GET.get("api_key", "")
    if not raw:
        return None
    token = authenticate_token(raw)
    if token is None:
        raise Problem.one(403, "api_key", _("This API key is not valid (or revoked, or expired)."))
    return token


def _reader(request: HttpRequest) -> Any:
    """Who reads requests: a token, else the logged-in user (second factor passed); they need
    `tickets.view`."""
    actor = _token(request) or StaffSessionAuth().authenticate(request, None)
    if actor is None:
        raise Problem.one(
            401, "api_key", _("Send an API key, or log in, to read requests (tickets.view).")
        )
    require_permission(actor, "tickets.view")
    return actor


# --- services --------------------------------------------------------------------------------


@require_GET
@open311_view
def services(request: HttpRequest) -> HttpResponse:
    """The 32 subclasses of the ticket taxonomy as Open311 services (public)."""
    body = [
        {
            "service_code": s.code,
            "service_name": s.label(),
            "description": f"{s.priority_label()} / {s.class_label()} / {s.label()}",
            "metadata": False,
            "type": "realtime",
            "keywords": ", ".join(dict.fromkeys((s.name, s.en, s.class_name, s.class_en))),
            "group": s.class_label(),
        }
        for s in taxonomy.subclasses().values()
    ]
    return JsonResponse(body, safe=False)


# --- reading requests ------------------------------------------------------------------------


def _when(value: dt.datetime | None) -> str | None:
    return clock.local(value).isoformat(timespec="seconds") if value is not None else None


def _request_row(t: Ticket) -> dict[str, Any]:
    """One request as Open311 shows it: no reporter's name or phone."""
    case = t.case
    sub = taxonomy.subclass(case.subclass)
    moments = [
        m
        for m in (case.last_reported_at, case.dispatched_at, case.replied_at, case.closed_at)
        if m is not None
    ]
    return {
        "service_request_id": t.number,
        "status": "closed" if case.status == CaseStatus.CLOSED else "open",
        "status_notes": case.reply or None,
        "service_name": sub.label() if sub is not None else case.subclass,
        "service_code": case.subclass,
        "description": t.text,
        "agency_responsible": case.department.name if case.department is not None else None,
        "service_notice": None,
        "requested_datetime": _when(t.received_at),
        "updated_datetime": _when(max(moments)),
        "expected_datetime": _when(case.due_at),
        "address": t.place_text or case.place_text or None,
        "address_id": t.area.code if t.place_matched else None,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
        "case_number": case.number,
    }


def _csv_param(request: HttpRequest, name: str, limit: int = MAX_IDS) -> list[str]:
    values = [v.strip() for v in request.GET.get(name, "").split(",") if v.strip()]
    if len(values) > limit:
        raise Problem.one(400, name, _("Give at most %(n)d values.") % {"n": limit})
    return values


def _date_param(request: HttpRequest, name: str) -> dt.datetime | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    try:
        when = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise Problem.one(
            400, name, _("Give a date and time in ISO 8601 (2020-02-14T09:30:00+08:00).")
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=clock.SHANGHAI)


def _int_param(request: HttpRequest, name: str, default: int, top: int) -> int:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= top:
        raise Problem.one(400, name, _("Give a whole number from 1 to %(n)d.") % {"n": top})
    return int(raw)


def _filtered(request: HttpRequest, actor: Any) -> QuerySet[Ticket]:
    """The spec's filters: `service_request_id` overrides the others; dates default to the
    last 90 days and may span at most 90 days."""
    qs = tickets_visible_to(actor)
    ids = _csv_param(request, "service_request_id")
    if ids:
        return qs.filter(number__in=ids)
    codes = _csv_param(request, "service_code", limit=len(taxonomy.subclasses()))
    unknown = [c for c in codes if taxonomy.subclass(c) is None]
    if unknown:
        raise Problem.one(
            400,
            "service_code",
            _("Unknown service code “%(c)s” (see services.json).") % {"c": unknown[0]},
        )
    statuses = _csv_param(request, "status", limit=2)
    if any(s not in ("open", "closed") for s in statuses):
        raise Problem.one(400, "status", _("The status is open or closed."))
    start, end = _date_param(request, "start_date"), _date_param(request, "end_date")
    if end is None:
        end = start + MAX_SPAN if start is not None else clock.now()
    if start is None:
        start = end - MAX_SPAN
    if end < start:
        raise Problem.one(400, "end_date", _("The end date is before the start date."))
    if end - start > MAX_SPAN:
        raise Problem.one(400, "end_date", _("A search spans at most 90 days."))
    qs = qs.filter(received_at__gte=start, received_at__lte=end)
    if codes:
        qs = qs.filter(case__subclass__in=codes)
    if statuses == ["open"]:
        qs = qs.filter(~Q(case__status=CaseStatus.CLOSED))
    elif statuses == ["closed"]:
        qs = qs.filter(case__status=CaseStatus.CLOSED)
    return qs


def _list(request: HttpRequest) -> HttpResponse:
    actor = _reader(request)
    qs = _filtered(request, actor)
    page = _int_param(request, "page", 1, 1_000_000)
    size = _int_param(request, "page_size", MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    rows = list(qs.order_by("-received_at", "-pk")[(page - 1) * size : page * size])
    # A report's text may carry names and addresses: who read which is audited.
    audit.record(actor, "open311.read", None, detail={"tickets": [t.number for t in rows]})
    return JsonResponse([_request_row(t) for t in rows], safe=False)


@require_GET
@open311_view
def request_detail(request: HttpRequest, request_id: str) -> HttpResponse:
    """One request by its ticket number (in the caller's territory), as a one-item array."""
    actor = _reader(request)
    found = tickets_visible_to(actor).filter(number=request_id).first()
    if found is None:
        raise Problem.one(404, "service_request_id", _("There is no such request."))
    audit.record(actor, "open311.read", found)
    return JsonResponse([_request_row(found)], safe=False)


# --- filing a request ------------------------------------------------------------------------


def _form_rate(group: str, request: HttpRequest) -> str:
    return str(settings.TICKET_FORM_RATE)


def _place(post: Any) -> str:
    """`address_string`, else the coordinates as text (an operator places it); one of the two
    is required."""
    address = post.get("address_string", "").strip()
    lat, long = post.get("lat", "").strip(), post.get("long", "").strip()
    coords = ""
    if lat or long:
        try:
            lat_f, long_f = float(lat), float(long)
        except ValueError:
            raise Problem.one(
                400, "lat" if not _is_float(lat) else "long", _("Give lat and long as numbers.")
            ) from None
        if not (-90 <= lat_f <= 90):
            raise Problem.one(400, "lat", _("The latitude lies between -90 and 90."))
        if not (-180 <= long_f <= 180):
            raise Problem.one(400, "long", _("The longitude lies between -180 and 180."))
        coords = f"({lat_f:.6f}, {long_f:.6f})"
    if not address and not coords:
        raise Problem.one(
            400, "address_string", _("Say where: give address_string, or lat and long.")
        )
    return address or coords


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _reporter_name(post: Any) -> str:
    first, last = post.get("first_name", "").strip(), post.get("last_name", "").strip()
    # Chinese names are written family name first, without a space.
    if (first + last).isascii():
        return f"{first} {last}".strip()
    return f"{last}{first}"


def _file(request: HttpRequest) -> HttpResponse:
    token = _token(request)
    if token is not None:
        require_permission(token, "tickets.intake")
    elif is_ratelimited(
        request,
        group="tickets.open311",
        key=client_address,
        rate=_form_rate,
        method="POST",
        increment=True,
    ):
        raise Problem.one(429, None, _("Too many requests from your address; try again later."))
    post = request.POST
    code = post.get("service_code", "").strip()
    if not code:
        raise Problem.one(400, "service_code", _("Choose a service (see services.json)."))
    if taxonomy.subclass(code) is None:
        raise Problem.one(
            400,
            "service_code",
            _("Unknown service code “%(c)s” (see services.json).") % {"c": code},
        )
    place = _place(post)
    name = _reporter_name(post)
    if len(name) > MAX_NAME:
        raise Problem.one(400, "last_name", _("A name is at most 50 characters."))
    row = {
        "channel": Channel.WEB,
        # Only a connector's own reference is honoured: an anonymous client must not find
        # another person's request by guessing its reference.
        "channel_ref": post.get("attribute[channel_ref]", "") if token is not None else "",
        "text": post.get("description", ""),
        "place": place,
        "reporter_name": name,
        "reporter_phone": post.get("phone", ""),
    }
    actor = token if token is not None else PUBLIC
    outcome = intake.receive_many(
        actor, [row], permission="tickets.intake" if token is not None else ""
    )[0]
    if outcome.errors or outcome.ticket is None:
        raise _from_field_errors(outcome.errors)
    body = [
        {
            "service_request_id": outcome.ticket.number,
            "service_notice": _("Received. Quote this number when you ask about it."),
            "account_id": None,
        }
    ]
    return JsonResponse(body, status=201 if outcome.created else 200, safe=False)


@csrf_exempt
@require_http_methods(["GET", "POST"])
@open311_view
def requests(request: HttpRequest) -> HttpResponse:
    """GET: requests in the caller's territory; POST: file a new request."""
    return _file(request) if request.method == "POST" else _list(request)


# --- the OpenAPI document ---------------------------------------------------------------------


@cache
def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


@require_GET
def openapi(request: HttpRequest) -> HttpResponse:
    """The OpenAPI 3 document of the Open311 endpoints."""
    return JsonResponse(_schema())
