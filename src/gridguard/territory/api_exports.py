"""`GET /api/v1/territory/export`: the caller's territory (or one subtree) as a CSV or XLSX file.

`within=CODE` narrows to a subtree, `format=csv|xlsx`, `what=areas|responsible`. Needs
`territory.export`; errors use the one error format (403 without the permission, 404 for an
area outside the caller's territory).
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, StreamingHttpResponse
from django.utils.http import content_disposition_header
from ninja import Query, Router

from gridguard.core.api import ERROR_RESPONSES
from gridguard.core.errors import NotPermitted
from gridguard.territory import exports, selectors

router = Router(tags=["territory"])

_FILE = {
    "200": {
        "description": "The file (CSV with the import's columns, or an XLSX workbook).",
        "content": {
            exports.FORMATS["csv"]: {"schema": {"type": "string"}},
            exports.FORMATS["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get("", response=ERROR_RESPONSES, openapi_extra={"responses": _FILE})
def export(
    request: HttpRequest,
    within: str | None = None,
    fmt: Literal["csv", "xlsx"] = Query("csv", alias="format"),
    what: Literal["areas", "responsible"] = "areas",
) -> Any:
    """Download the caller's areas (or current responsible persons, phones masked unless the
    role needs them); the export is audited with its row count."""
    actor = request.auth  # type: ignore[attr-defined]
    if not actor.can("territory.export"):
        raise NotPermitted()
    area = selectors.area_by_code(actor, within) if within else None
    out = exports.EXPORTERS[what](actor, within=area, fmt=fmt)
    response = StreamingHttpResponse(out.chunks, content_type=out.content_type)
    response["Content-Disposition"] = content_disposition_header(True, out.filename)
    response["X-Row-Count"] = str(out.count)
    return response
