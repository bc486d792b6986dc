"""Account endpoints: who am I, and device tokens (issue, list, revoke)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.pagination import CursorPagination, paginate

from gridguard.accounts import selectors, services
from gridguard.accounts.models import TokenPurpose
from gridguard.core.api import ERROR_RESPONSES
from gridguard.core.errors import NotPermitted, OutOfScope
from gridguard.core.scoping import paths_of
from gridguard.territory.selectors import area_by_code

router = Router(tags=["accounts"])


class MeOut(Schema):
    kind: str
    label: str
    roles: list[str]
    scope: list[str]


@router.get("/me", response={200: MeOut, **ERROR_RESPONSES})
def me(request: HttpRequest) -> Any:
    """The caller: a user with roles, or a device token with its purpose; and its territory."""
    actor = request.auth  # type: ignore[attr-defined]
    roles = sorted(actor.roles()) if hasattr(actor, "roles") else [actor.purpose]
    return {
        "kind": "user" if hasattr(actor, "roles") else "token",
        "label": actor.audit_label(),
        "roles": roles,
        "scope": list(paths_of(actor)),
    }


class TokenIn(Schema):
    name: str
    purpose: TokenPurpose
    area_code: str
    expires_at: dt.datetime | None = None


class TokenOut(Schema):
    id: int
    name: str
    purpose: str
    key_id: str
    area_code: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    @staticmethod
    def resolve_area_code(obj: Any) -> str:
        return str(obj.area.code)


class TokenIssuedOut(TokenOut):
    token: str


def _manager(request: HttpRequest) -> Any:
    actor = request.auth  # type: ignore[attr-defined]
    if not hasattr(actor, "roles") or not actor.can("tokens.manage"):
        raise NotPermitted()
    return actor


@router.get("/tokens", response={200: list[TokenOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("-id",))
def list_tokens(request: HttpRequest) -> Any:
    """Device tokens in the caller's territory (never their secrets)."""
    return selectors.tokens_visible_to(_manager(request))


@router.post("/tokens", response={201: TokenIssuedOut, **ERROR_RESPONSES})
def issue_token(request: HttpRequest, payload: TokenIn) -> Any:
    """Issue a token bound to an area and a purpose; the secret is in this answer only."""
    actor = _manager(request)
    area = area_by_code(actor, payload.area_code)
    token, secret = services.issue_token(
        actor, name=payload.name, purpose=payload.purpose, area=area, expires_at=payload.expires_at
    )
    # The row itself, not a dict: the schema's resolvers read attributes (area.code).
    token.token = secret  # type: ignore[attr-defined]
    return Status(201, token)


@router.post("/tokens/{token_id}/revoke", response={200: TokenOut, **ERROR_RESPONSES})
def revoke_token(request: HttpRequest, token_id: int) -> Any:
    """Revoke a token now."""
    actor = _manager(request)
    token = selectors.tokens_visible_to(actor).filter(pk=token_id).first()
    if token is None:
        raise OutOfScope()
    return services.revoke_token(actor, token)
