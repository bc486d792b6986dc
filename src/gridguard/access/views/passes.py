"""Entry-pass pages (A1): the committee's list, issue form, request queue and pass detail
(approve, refuse, revoke); the resident's own passes and request form, the phone display with
its 30-second rotating QR, and the printable paper card.

Staff reads go through the scoped selectors (a pass outside the reader's territory is a 404);
a resident reaches only the passes of the person their login is linked to. Reads that show a
person's name unmasked are audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gridguard.access import credential
from gridguard.access.models import EntryPass, PassKind, PassStatus
from gridguard.access.selectors import passes as selectors
from gridguard.access.services import passes as services
from gridguard.core import audit, clock, masking
from gridguard.core.clock import SHANGHAI
from gridguard.core.errors import FieldError, InvalidInput, NotPermitted, OutOfScope

PAGE_SIZE = 50
DEFAULT_DAYS = 30
ISSUE_FIELDS = ("person", "kind", "compound", "gates", "valid_from", "valid_until", "reason")
REQUEST_FIELDS = ("compound", "kind", "valid_from", "valid_until", "reason")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def _need(request: HttpRequest, permission: str) -> Any:
    user: Any = request.user
    if not user.can(permission):
        raise PermissionDenied
    return user


def _parse_local(value: str) -> dt.datetime | None:
    """A datetime-local input ("2026-02-10T08:00") read as Shanghai time."""
    try:
        parsed = dt.datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)


def _local_input(value: dt.datetime) -> str:
    return clock.local(value).strftime(LOCAL_FORMAT)


def _by_field(errors: list[FieldError], known: tuple[str, ...]) -> dict[str, list[str]]:
    """{field: [messages]} for the form; errors of fields the form lacks go under "form"."""
    out: dict[str, list[str]] = {}
    for e in errors:
        name = e.field if e.field in known else "form"
        out.setdefault(str(name), []).append(e.message)
    return out


def _window(values: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """valid_from / valid_until from the form, each bad one a field error."""
    out: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name in ("valid_from", "valid_until"):
        out[name] = _parse_local(values.get(name, ""))
        if out[name] is None:
            errors.append(FieldError(name, "invalid", _("Enter a date and time.")))
    return out, errors


def _reason(values: dict[str, Any], field: str = "reason") -> list[FieldError]:
    if len(values.get(field, "").strip()) > services.MAX_REASON:
        return [
            FieldError(
                field, "too_long", _("At most %(n)d characters.") % {"n": services.MAX_REASON}
            )
        ]
    return []


def qr_svg(text: str) -> SafeString:
    """The text as an inline SVG QR code (error correction M, as decision 0007 plans for),
    sized by CSS. segno writes only path data and our own class, so it is safe to inline."""
    code = segno.make_qr(text, error="m", boost_error=False)
    svg = code.svg_inline(scale=1, border=4, omitsize=True, svgclass="pass-qr", lineclass="")
    return mark_safe(svg)  # noqa: S308 - generated SVG, no user text in it


# --------------------------------------------------------------------------- staff pages


@login_required
@require_GET
def pass_list(request: HttpRequest) -> HttpResponse:
    """Passes of the user's territory, filtered by status, kind and compound; names masked."""
    user = _need(request, "passes.view")
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    code = request.GET.get("compound", "").strip()[:40]
    notes: list[str] = []
    if status and status not in PassStatus.values:
        notes.append(_("Unknown status: not filtered by it."))
        status = ""
    if kind and kind not in PassKind.values:
        notes.append(_("Unknown kind of pass: not filtered by it."))
        kind = ""
    compound = selectors.compound_visible(user, code) if code else None
    if code and compound is None:
        notes.append(_("No such compound in your area: not filtered by it."))
        code = ""
    qs = selectors.passes_visible_to(user, status=status, kind=kind, compound=compound)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {k: v for k, v in (("status", status), ("kind", kind), ("compound", code)) if v}
    return render(
        request,
        "access/passes/list.html",
        {
            "page": page,
            "rows": [{"p": p, "name": masking.mask_name(p.person.name)} for p in page],
            "filters": filters,
            "notes": notes,
            "extra": urlencode(filters) + "&" if filters else "",
            "statuses": PassStatus.choices,
            "kinds": PassKind.choices,
            "compounds": list(selectors.compounds_visible_to(user)[: selectors.PLACE_CHOICES]),
            "can_issue": user.can("passes.issue"),
            "title": _("Entry passes"),
        },
        status=400 if notes else 200,
    )


@login_required
@require_GET
def requests_queue(request: HttpRequest) -> HttpResponse:
    """Requested passes waiting for a decision, oldest first; names masked."""
    user = _need(request, "passes.view")
    page = Paginator(selectors.requests_queue(user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "access/passes/requests.html",
        {
            "page": page,
            "rows": [{"p": p, "name": masking.mask_name(p.person.name)} for p in page],
            "title": _("Pass requests"),
        },
    )


def _issue_args(user: Any, post: Any) -> tuple[dict[str, Any], list[FieldError]]:
    """The issue form read into issue_pass's arguments; every problem names its field."""
    errors: list[FieldError] = []
    args: dict[str, Any] = {"kind": post.get("kind", ""), "reason": post.get("reason", "")}
    person = selectors.person_for_issue(user, post.get("person", ""))
    if person is None:
        errors.append(FieldError("person", "unknown", _("Search for the person and pick one.")))
    compound = selectors.compound_for_issue(user, post.get("compound", ""))
    if compound is None:
        errors.append(
            FieldError("compound", "unknown", _("Pick a compound where you issue passes."))
        )
    window, window_errors = _window(post)
    errors += window_errors + _reason(post)
    args.update(window)
    gates: list[Any] = []
    if compound is not None:
        gates, unknown = selectors.gates_by_code(compound, post.getlist("gates"))
        errors += [
            FieldError(
                "gates", "unknown", _("%(code)s is not a gate of this compound.") % {"code": c}
            )
            for c in unknown
        ]
    args.update(person=person, compound=compound, gates=gates)
    return args, errors


@login_required
@require_http_methods(["GET", "POST"])
def issue(request: HttpRequest) -> HttpResponse:
    """Issue a pass: search a person of your compounds (name, or full ID number or phone), pick
    kind, compound, gates (none = every gate) and validity. Bad input changes nothing."""
    user = _need(request, "passes.issue")
    compounds = selectors.compounds_for_issue(user)
    now = clock.now()
    source = request.POST if request.method == "POST" else request.GET
    q = source.get("q", "").strip()[:60]
    values: dict[str, Any] = {
        "person": source.get("person", ""),
        "kind": source.get("kind", PassKind.RESIDENT),
        "compound": source.get("compound", compounds[0].code if len(compounds) == 1 else ""),
        "gates": source.getlist("gates"),
        "valid_from": source.get("valid_from", _local_input(now)),
        "valid_until": source.get(
            "valid_until", _local_input(now + dt.timedelta(days=DEFAULT_DAYS))
        ),
        "reason": source.get("reason", ""),
    }
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        args, problems = _issue_args(user, request.POST)
        if not problems:
            person, compound = args.pop("person"), args.pop("compound")
            try:
                entry_pass = services.issue_pass(user, person, compound, **args)
            except InvalidInput as exc:
                problems = exc.errors
            except (NotPermitted, OutOfScope) as exc:
                problems = [FieldError("compound", "not_permitted", str(exc))]
            else:
                messages.success(
                    request,
                    _("Pass %(pass_id)s issued. Print the card or ask the holder to open it.")
                    % {"pass_id": entry_pass.pass_id},
                )
                return redirect("passes:detail", pass_id=entry_pass.pass_id)
        errors = _by_field(problems, ISSUE_FIELDS)
    found = selectors.persons_for_issue(user, q)
    chosen = selectors.person_for_issue(user, values["person"]) if values["person"] else None
    if chosen is not None and chosen not in found:
        found.insert(0, chosen)
    return render(
        request,
        "access/passes/issue.html",
        {
            "q": q,
            "searched": bool(q),
            "found": [
                {"p": p, "id_number": masking.mask_id_number(p.id_number), "pk": str(p.pk)}
                for p in found
            ],
            "values": values,
            "errors": errors,
            "kinds": PassKind.choices,
            "max_days": {str(k): v for k, v in services.MAX_DAYS.items()},
            "compounds": compounds,
            "gates": selectors.gates_of(compounds),
            "title": _("Issue a pass"),
        },
        status=400 if errors else 200,
    )


def _detail_or_404(user: Any, pass_id: str) -> EntryPass:
    try:
        return selectors.pass_detail(user, pass_id)
    except OutOfScope as exc:
        raise Http404(str(exc)) from exc


def _render_detail(
    request: HttpRequest,
    entry_pass: EntryPass,
    errors: dict[str, list[str]] | None = None,
    values: dict[str, str] | None = None,
) -> HttpResponse:
    user: Any = request.user
    person = entry_pass.person
    shows_name = user.can("people.view")
    shown = ["entry_pass"] + (["name"] if shows_name else [])
    if user.can(masking.REVEAL_ID):
        shown.append("id_number")
    audit.record_read(user, person, fields=shown)
    return render(
        request,
        "access/passes/detail.html",
        {
            "entry_pass": entry_pass,
            "person": person,
            "name": person.name if shows_name else masking.mask_name(person.name),
            "id_number": masking.id_number_for(user, person.id_number),
            "gates": list(entry_pass.gates.all()),
            "can_manage": selectors.may_manage(user, entry_pass),
            "errors": errors or {},
            "values": values or {},
            "title": _("Entry pass %(pass_id)s") % {"pass_id": entry_pass.pass_id},
        },
        status=400 if errors else 200,
    )


@login_required
@require_GET
def detail(request: HttpRequest, pass_id: str) -> HttpResponse:
    """One pass of the user's territory: holder, validity, history; approve, refuse or revoke
    it (committee workers). The read is audited."""
    user = _need(request, "passes.view")
    return _render_detail(request, _detail_or_404(user, pass_id))


@login_required
@require_POST
def revoke(request: HttpRequest, pass_id: str) -> HttpResponse:
    """Revoke a pass (a reason is required); scanners refuse it from their next list."""
    user = _need(request, "passes.issue")
    entry_pass = _detail_or_404(user, pass_id)
    values = {"reason": request.POST.get("reason", "")}
    try:
        services.revoke_pass(user, entry_pass, values["reason"])
    except InvalidInput as exc:
        return _render_detail(request, entry_pass, _by_field(exc.errors, ("reason",)), values)
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    except OutOfScope as exc:
        raise Http404(str(exc)) from exc
    messages.success(request, _("Pass revoked."))
    return redirect("passes:detail", pass_id=entry_pass.pass_id)


@login_required
@require_POST
def decide(request: HttpRequest, pass_id: str) -> HttpResponse:
    """Approve (``decision=approve``) or refuse (``decision=refuse`` with a reason) a request."""
    user = _need(request, "passes.issue")
    entry_pass = _detail_or_404(user, pass_id)
    decision = request.POST.get("decision", "")
    values = {"refuse_reason": request.POST.get("refuse_reason", "")}
    if decision not in ("approve", "refuse"):
        errors = {"decision": [_("Choose approve or refuse.")]}
        return _render_detail(request, entry_pass, errors, values)
    try:
        services.decide_request(
            user,
            entry_pass,
            approve=decision == "approve",
            refuse_reason=values["refuse_reason"],
        )
    except InvalidInput as exc:
        known = ("refuse_reason", "status", "valid_until", "valid_from", "kind", "compound")
        return _render_detail(request, entry_pass, _by_field(exc.errors, known), values)
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    except OutOfScope as exc:
        raise Http404(str(exc)) from exc
    messages.success(
        request,
        _("Request approved: the pass is active.")
        if decision == "approve"
        else _("Request refused."),
    )
    return redirect("passes:detail", pass_id=entry_pass.pass_id)


# --------------------------------------------------------------------------- resident pages


@login_required
@require_http_methods(["GET", "POST"])
def my_passes(request: HttpRequest) -> HttpResponse:
    """The resident's own passes, and a form to ask for one at their compound."""
    user: Any = request.user
    person = selectors.own_person(user)
    compounds = selectors.compounds_for_request(user) if person is not None else []
    now = clock.now()
    source = request.POST if request.method == "POST" else {}
    values: dict[str, Any] = {
        "compound": source.get("compound", compounds[0].code if len(compounds) == 1 else ""),
        "kind": source.get("kind", PassKind.RESIDENT),
        "valid_from": source.get("valid_from", _local_input(now)),
        "valid_until": source.get(
            "valid_until", _local_input(now + dt.timedelta(days=DEFAULT_DAYS))
        ),
        "reason": source.get("reason", ""),
    }
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not user.can("passes.request"):
            raise PermissionDenied
        problems: list[FieldError] = []
        compound = next((c for c in compounds if c.code == values["compound"]), None)
        if compound is None:
            problems.append(
                FieldError(
                    "compound", "unknown", _("You can ask for a pass only at your own compound.")
                )
            )
        window, window_errors = _window(values)
        problems += window_errors
        if not problems and compound is not None:
            try:
                entry_pass = services.request_pass(
                    user, compound, kind=values["kind"], reason=values["reason"], **window
                )
            except InvalidInput as exc:
                problems = exc.errors
            except (NotPermitted, OutOfScope) as exc:
                raise PermissionDenied(str(exc)) from exc
            else:
                messages.success(
                    request,
                    _("Request %(pass_id)s sent. Your committee will decide it.")
                    % {"pass_id": entry_pass.pass_id},
                )
                return redirect("passes:me")
        errors = _by_field(problems, REQUEST_FIELDS)
    own = list(selectors.own_passes(user)[:PAGE_SIZE]) if person is not None else []
    if person is not None:
        audit.record_read(user, person, fields=["entry_passes"])
    return render(
        request,
        "access/passes/me.html",
        {
            "person": person,
            "masked_name": masking.mask_name(person.name) if person else "",
            "passes": own,
            "now": now,
            "compounds": compounds,
            "kinds": PassKind.choices,
            "values": values,
            "errors": errors,
            "can_request": user.can("passes.request"),
            "title": _("My passes"),
        },
        status=400 if errors else 200,
    )


def _own_or_404(user: Any, pass_id: str) -> EntryPass:
    try:
        return selectors.own_pass(user, pass_id)
    except OutOfScope as exc:
        raise Http404(str(exc)) from exc


def _display_context(entry_pass: EntryPass) -> dict[str, Any]:
    """What the display fragment shows: the fresh credential as a QR, or why there is none."""
    now = clock.now()
    context: dict[str, Any] = {
        "entry_pass": entry_pass,
        "masked_name": masking.mask_name(entry_pass.person.name),
        "refresh_s": services.display_refresh_seconds(),
        "server_ms": int(now.timestamp() * 1000),
    }
    try:
        text = services.display_credential(entry_pass, now)
    except InvalidInput as exc:
        context["problem"] = exc.errors[0].message
        return context
    _kid, claims = credential.decode_unverified(text)
    context.update(
        credential=text,
        qr=qr_svg(text),
        expires_at=dt.datetime.fromtimestamp(claims.expires_at, tz=dt.UTC),
        expires_ms=claims.expires_at * 1000,
    )
    return context


@login_required
@require_GET
def my_pass(request: HttpRequest, pass_id: str) -> HttpResponse:
    """The holder's phone page: the pass as a QR that changes every 30 seconds, with a clock
    ticking beside it so a volunteer can tell a live screen from a screenshot."""
    user: Any = request.user
    entry_pass = _own_or_404(user, pass_id)
    audit.record_read(user, entry_pass.person, fields=["entry_pass"])
    response = render(
        request,
        "access/passes/display.html",
        {**_display_context(entry_pass), "title": _("My pass")},
    )
    # The page holds a live credential: the back button must not bring back an old one.
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def my_pass_display(request: HttpRequest, pass_id: str) -> HttpResponse:
    """The display fragment alone, fetched by htmx every 30 s. Not audited: the page load was,
    and one audit row per phone every 30 s would say nothing more."""
    user: Any = request.user
    if not user.is_authenticated:
        page = reverse("passes:my_pass", args=[pass_id])
        if request.headers.get("HX-Request"):
            # A plain redirect would put the login page inside the QR's box: have htmx
            # load it as the whole page instead.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = f"{resolve_url(settings.LOGIN_URL)}?next={page}"
            return response
        return redirect_to_login(page)
    entry_pass = _own_or_404(user, pass_id)
    response = render(request, "access/passes/_display.html", _display_context(entry_pass))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def card(request: HttpRequest, pass_id: str) -> HttpResponse:
    """The printable paper card (A6) with the long-lived stored credential, for holders without
    a phone: committee workers print it; holders may print their own. The read is audited."""
    user: Any = request.user
    try:
        entry_pass = selectors.pass_for_card(user, pass_id)
    except OutOfScope as exc:
        raise Http404(str(exc)) from exc
    audit.record_read(user, entry_pass.person, fields=["entry_pass"])
    printable = entry_pass.status == PassStatus.ACTIVE and entry_pass.valid_until > clock.now()
    return render(
        request,
        "access/passes/card.html",
        {
            "entry_pass": entry_pass,
            "masked_name": masking.mask_name(entry_pass.person.name),
            "gates": list(entry_pass.gates.all()),
            "printable": printable and bool(entry_pass.credential),
            "qr": qr_svg(entry_pass.credential) if printable and entry_pass.credential else "",
            "title": _("Pass card %(pass_id)s") % {"pass_id": entry_pass.pass_id},
        },
    )
