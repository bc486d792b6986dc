"""The API's shared parts: authentication (device tokens, sessions) and the one error format.

Every error body is `{"errors": [{"field": ..., "code": ..., "message": ...}]}`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, SessionAuth

from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope


class ErrorItem(Schema):
    field: str | None
    code: str
    message: str
    line: int | None = None


class ErrorBody(Schema):
    errors: list[ErrorItem]


ERROR_RESPONSES: dict[int, type[Schema]] = {
    400: ErrorBody,
    401: ErrorBody,
    403: ErrorBody,
    404: ErrorBody,
    422: ErrorBody,
    429: ErrorBody,
}


def need(request: HttpRequest, *permissions: str) -> Any:
    """The authenticated actor of an API request, if it holds one of `permissions`
    (NotPermitted, answered 403, otherwise)."""
    from gridguard.core.scoping import require_permission

    actor = request.auth  # type: ignore[attr-defined]
    require_permission(actor, *permissions)
    return actor


class DeviceTokenAuth(HttpBearer):
    """`Authorization: Bearer gg_<key id>_<secret>` for devices and integrations."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from gridguard.accounts.services import authenticate_token

        return authenticate_token(token)


class StaffSessionAuth(SessionAuth):
    """The logged-in page user (CSRF-checked for unsafe methods)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None:
            return None
        # A user with a second factor must have passed it before the API answers.
        is_verified = getattr(user, "is_verified", None)
        from django_otp import user_has_device

        if user_has_device(user) and callable(is_verified) and not is_verified():
            return None
        return user


def _body(status: int, errors: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    return status, {"errors": errors}


def _loc_to_field(loc: list[Any] | tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload", "form")]
    return ".".join(parts) or None


def install_error_handlers(api: NinjaAPI) -> None:
    """Map every failure to the one error format."""

    def respond(request: HttpRequest, status: int, errors: list[dict[str, Any]]) -> HttpResponse:
        return api.create_response(request, {"errors": errors}, status=status)

    @api.exception_handler(InvalidInput)
    def invalid_input(request: HttpRequest, exc: InvalidInput) -> HttpResponse:
        return respond(request, 422, [e.as_dict() for e in exc.errors])

    @api.exception_handler(NinjaValidationError)
    def validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors = [
            {
                "field": _loc_to_field(e.get("loc", ())),
                "code": str(e.get("type", "invalid")),
                "message": str(e.get("msg", "invalid")),
            }
            for e in exc.errors
        ]
        return respond(request, 422, errors)

    @api.exception_handler(OutOfScope)
    def out_of_scope(request: HttpRequest, exc: OutOfScope) -> HttpResponse:
        # 404, not 403: a record outside your area is, for you, a record that is not there.
        return respond(request, 404, [{"field": None, "code": "not_found", "message": str(exc)}])

    @api.exception_handler(NotPermitted)
    def not_permitted(request: HttpRequest, exc: NotPermitted) -> HttpResponse:
        return respond(request, 403, [{"field": None, "code": "forbidden", "message": str(exc)}])

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        msg = _("Log in, or send a valid device token (Authorization: Bearer …).")
        return respond(request, 401, [{"field": None, "code": "unauthenticated", "message": msg}])

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = {404: "not_found", 403: "forbidden", 429: "rate_limited"}.get(
            exc.status_code, "error"
        )
        return respond(
            request, exc.status_code, [{"field": None, "code": code, "message": str(exc)}]
        )
