"""Pages: the gate volunteer's phone page (A2): the gates one may scan at, and the scan page.

The scan page is a shell: static/gridguard/gate/gate.js fetches the gate bundle from the API
(decision 0008), verifies passes in the browser and logs scans online or queues them offline.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from gridguard.access.models import Verdict
from gridguard.core.scoping import WHOLE_CITY, paths_of
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area, AreaQuerySet
from gridguard.territory.selectors import places_of_kind

SCAN = "gate.scan"


def _scan_paths(actor: Any) -> tuple[str, ...]:
    """The subtrees where the actor may scan: the parts of its territory under a binding whose
    role grants gate.scan (every such binding is part of the territory, since they are staff)."""
    return tuple(p for p in paths_of(actor) if actor.can_at(SCAN, p))


def scannable_gates(actor: Any) -> AreaQuerySet:
    """Active gates inside the actor's territory where it holds gate.scan."""
    qs = places_of_kind(actor, AreaKind.GATE).filter(active=True)
    paths = _scan_paths(actor)
    if WHOLE_CITY in paths:
        return qs
    if not paths:
        return qs.none()
    q = Q()
    for p in paths:
        q |= Q(path__startswith=p)
    return qs.filter(q)


@login_required
def gate_list(request: HttpRequest) -> HttpResponse:
    """The gates the user may scan at (a volunteer bound to a compound: that compound's)."""
    query = request.GET.get("q", "").strip()[:60]
    qs = scannable_gates(request.user).select_related("parent").order_by("path")
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(code__startswith=query))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "access/gate/list.html",
        {
            "title": _("Gate scanning"),
            "page": page,
            "query": query,
            "extra": f"q={query}&" if query else "",
        },
    )


def _strings() -> dict[str, Any]:
    """Every word gate.js shows, translated here (the JavaScript has no catalogue)."""
    return {
        "reasons": {value: str(label) for value, label in Verdict.choices},
        "headline": {"ok": _("Let in"), "refuse": _("Refuse")},
        "kinds": {
            "resident": _("Resident"),
            "worker": _("Returning worker"),
            "visitor": _("Visitor (temporary)"),
        },
        "valid_until": _("valid until"),
        "online": _("Online"),
        "offline": _("Offline: checking on this phone"),
        "no_bundle": _(
            "No gate data on this phone yet: connect to the network once before scanning."
        ),
        "bundle_age": _("Gate data from %(age)s ago"),
        "bundle_stale": _("Gate data is old: connect to the network to refresh it."),
        "queued": _("%(n)s waiting to upload"),
        "queue_empty": _("Nothing waiting to upload"),
        "uploading": _("Uploading…"),
        "upload_failed": _("Upload failed (%(why)s): will try again."),
        "no_network": _("no network"),
        "log_in_again": _("Log in again to upload the scans waiting on this phone."),
        "logged": _("Logged"),
        "saved_offline": _("Saved on this phone: it uploads when the network is back."),
        "server_said": _("Server"),
        "flagged_two_gates": _("Warning: this pass was let in at another gate moments ago."),
        "fever_from": _("Fever from %(t)s °C"),
        "temp_invalid": _("Enter a temperature between 34.0 and 42.5 °C, or leave it empty."),
        "camera_off": _("Scan with camera"),
        "camera_stop": _("Stop camera"),
        "camera_failed": _("The camera could not start: type or paste the pass text instead."),
        "scan_next": _("Scan next"),
        "insecure": _(
            "This page must be opened over https: without it the phone cannot check passes."
        ),
        "minutes": _("%(n)s min"),
        "hours": _("%(n)s h"),
        "seconds": _("%(n)s s"),
        "rejected": _("Refused by the server"),
        "discard": _("Discard"),
        "checking": _("Checking…"),
    }


@never_cache
def service_worker(request: HttpRequest) -> HttpResponse:
    """The gate page's service worker, served under /gate/ so that its scope covers the
    gate pages (a worker under /static/ could only control /static/). No login: it holds
    no data, and the browser fetches it again to look for updates even after a logout."""
    return render(
        request,
        "access/gate/sw.js",
        {"scope": reverse("gate:list"), "static_root": static("")},
        content_type="application/javascript; charset=utf-8",
    )


@never_cache
@login_required
def scan(request: HttpRequest, gate_code: str) -> HttpResponse:
    """The scan page for one gate: 404 when the gate is not one the user may scan at."""
    gate = scannable_gates(request.user).select_related("parent").filter(code=gate_code).first()
    if gate is None:
        raise Http404(_("No such gate among yours."))
    compound: Area | None = gate.parent
    return render(
        request,
        "access/gate/scan.html",
        {
            "title": gate.name,
            "gate": gate,
            "compound": compound,
            "api_root": reverse("api:api-root"),
            "service_worker": reverse("gate:sw"),
            "strings": _strings(),
        },
    )
