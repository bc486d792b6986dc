"""Export pages: download an area's subtree (or its responsible persons) as CSV or XLSX.

`/territory/export/<code>.<fmt>`; `?what=responsible` for the responsible persons. A role
without `territory.export` gets 403; an area outside the user's territory is a 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from gridguard.core.errors import NotPermitted, OutOfScope
from gridguard.territory import exports, selectors


@login_required
@require_GET
def export_area(request: HttpRequest, code: str, fmt: str) -> StreamingHttpResponse:
    """Stream the export of one area's subtree in the user's territory."""
    user: Any = request.user
    what = request.GET.get("what", "areas")
    if fmt not in exports.FORMATS or what not in exports.EXPORTERS:
        raise Http404(_("Unknown export."))
    if not user.can("territory.export"):
        raise PermissionDenied
    try:
        area = selectors.area_by_code(user, code)
        out = exports.EXPORTERS[what](user, within=area, fmt=fmt)
    except OutOfScope as exc:
        raise Http404(str(exc)) from exc
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    response = StreamingHttpResponse(out.chunks, content_type=out.content_type)
    response["Content-Disposition"] = content_disposition_header(True, out.filename)
    response["X-Row-Count"] = str(out.count)
    return response
