"""Middleware that records where a request comes from, for the audit trail."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from gridguard.core import context


def client_address(group: str, request: HttpRequest) -> str:
    """The rate-limit key of a request: its address. django-ratelimit's own "ip" key fails (a
    server error) on a request without one, as some WSGI servers and test harnesses send;
    such callers share one counter."""
    return request.META.get("REMOTE_ADDR") or "unknown"


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = "api" if request.path.startswith("/api/") else "web"
        token = context.set_current(
            context.RequestContext(ip=request.META.get("REMOTE_ADDR", ""), channel=channel)
        )
        try:
            return self.get_response(request)
        finally:
            context.reset(token)


class RefuseNulBytesMiddleware:
    """Answer 400 to a request whose parameters hold a NUL character.

    PostgreSQL text cannot hold NUL, so such a value would fail deep inside a query as a 500;
    no person types one. Checked once here for every page and API call: query string, form
    fields and JSON bodies (where it is written `\\u0000`).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            field = self._field_with_nul(request)
        except RequestDataTooBig:
            # The first place the body is read: a body over the limit is refused here, saying
            # what the limit is, rather than as Django's bare 400 page.
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
            message = _("The request is larger than %(mb)d MB: send it in smaller parts.") % {
                "mb": limit
            }
            return self._refuse(request, 413, None, "too_large", message)
        if field is None:
            return self.get_response(request)
        message = _("%(field)s: contains a NUL character") % {"field": field}
        return self._refuse(request, 400, field, "nul_character", message)

    @staticmethod
    def _refuse(
        request: HttpRequest, status: int, field: str | None, code: str, message: str
    ) -> HttpResponse:
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"errors": [{"field": field, "code": code, "message": message}]}, status=status
            )
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")

    @staticmethod
    def _field_with_nul(request: HttpRequest) -> str | None:
        for params in (request.GET, request.POST if request.method == "POST" else None):
            if params is None:
                continue
            for key, values in params.lists():
                if "\x00" in key or any("\x00" in v for v in values):
                    return key.replace("\x00", "") or "?"
        if request.content_type == "application/json" and b"\\u0000" in request.body:
            return "body"
        return None
