"""Writes for accounts: users, role bindings, device tokens. One transaction each, audited."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gridguard.accounts.models import (
    TOKEN_PREFIX,
    ApiToken,
    RoleBinding,
    TokenPurpose,
    User,
    hash_secret,
)
from gridguard.accounts.roles import Role
from gridguard.core import audit, clock, leansql
from gridguard.core.errors import FieldError, InvalidInput, NotPermitted
from gridguard.core.scoping import require_in_scope
from gridguard.territory.models import Area


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise InvalidInput.one(
            "role",
            "unknown_role",
            _("Unknown role “%(role)s”. Known roles: %(known)s")
            % {"role": role, "known": ", ".join(Role.values)},
        )


def create_user(
    actor: Any,
    *,
    username: str,
    password: str,
    display_name: str = "",
    phone: str = "",
    bindings: list[tuple[str, Area]] | None = None,
    validate: bool = True,
) -> User:
    """Create a user with role bindings. The actor must manage accounts over every area."""
    errors: list[FieldError] = []
    if not username or len(username) > 150:
        errors.append(FieldError("username", "required", _("A user name is required.")))
    elif User.objects.filter(username=username).exists():
        errors.append(FieldError("username", "taken", _("This user name is taken.")))
    if validate:
        try:
            validate_password(password, User(username=username))
        except ValidationError as exc:
            errors.extend(FieldError("password", "weak", str(m)) for m in exc.messages)
    for role, _area in bindings or []:
        try:
            _check_role(role)
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        user = User.objects.create_user(
            username=username, password=password, display_name=display_name, phone=phone
        )
        audit.record(actor, "accounts.user.create", user)
        for role, area in bindings or []:
            bind_role(actor, user=user, role=role, area=area)
    return user


def bind_role(actor: Any, *, user: User, role: str, area: Area) -> RoleBinding:
    """Give `user` role `role` over `area`. The actor must manage accounts there."""
    _check_role(role)
    require_in_scope(actor, area)
    if not actor.can_at("accounts.manage", area.path):
        raise NotPermitted()
    with transaction.atomic():
        binding, created = RoleBinding.objects.get_or_create(
            user=user,
            role=role,
            area=area,
            defaults={"granted_by": actor if isinstance(actor, User) else None},
        )
        if not created and not binding.active:
            binding.active = True
            binding.save(update_fields=["active"])
        audit.record(actor, "accounts.role.bind", binding, detail={"role": role, "user": user.pk})
        # System administrators keep the master data in the admin, which needs is_staff.
        if role == Role.SYSTEM_ADMIN and not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
    user.forget_bindings()
    return binding


def issue_token(
    actor: Any,
    *,
    name: str,
    purpose: str,
    area: Area,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Issue a device token; returns the token row and the secret, shown only this once."""
    errors: list[FieldError] = []
    if not name.strip():
        errors.append(FieldError("name", "required", _("Give the token a name.")))
    if purpose not in TokenPurpose.values:
        errors.append(
            FieldError(
                "purpose",
                "unknown_purpose",
                _("Unknown purpose “%(p)s”. Known: %(known)s")
                % {"p": purpose, "known": ", ".join(TokenPurpose.values)},
            )
        )
    if expires_at is not None:
        # Naive means Shanghai time; stored in UTC (PostgreSQL refuses offsets past ±15:59,
        # which ISO 8601 allows up to ±23:59).
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=clock.SHANGHAI)
        expires_at = expires_at.astimezone(UTC)
    if expires_at is not None and expires_at <= clock.now():
        errors.append(FieldError("expires_at", "in_past", _("The expiry is in the past.")))
    if errors:
        raise InvalidInput(errors)
    require_in_scope(actor, area)
    if not actor.can_at("tokens.manage", area.path):
        raise NotPermitted()
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            name=name.strip(),
            purpose=purpose,
            area=area,
            key_id=key_id,
            secret_hash=hash_secret(secret),
            created_by=actor if isinstance(actor, User) else None,
            expires_at=expires_at,
        )
        audit.record(actor, "accounts.token.issue", token, detail={"purpose": purpose})
    return token, f"{TOKEN_PREFIX}{key_id}_{secret}"


def revoke_token(actor: Any, token: ApiToken) -> ApiToken:
    """Revoke a token: devices using it get 401 from their next request to this process, and
    within `settings.TOKEN_CACHE_SECONDS` from every other server process."""
    require_in_scope(actor, token.area)
    if not actor.can_at("tokens.manage", token.area.path):
        raise NotPermitted()
    with transaction.atomic():
        if token.revoked_at is None:
            token.revoked_at = clock.now()
            token.save(update_fields=["revoked_at"])
        audit.record(actor, "accounts.token.revoke", token)
    forget_checked_token(token.key_id)
    return token


# key id → (read at, token): checked tokens this process trusts for TOKEN_CACHE_SECONDS.
_checked_tokens: dict[str, tuple[float, ApiToken]] = {}


def _token_row(key_id: str) -> ApiToken | None:
    """The token with this key id, from this process's cache if read recently enough."""
    ttl = settings.TOKEN_CACHE_SECONDS
    now = time.monotonic()
    cached = _checked_tokens.get(key_id)
    if cached is not None and now - cached[0] < ttl:
        return cached[1]
    # One prepared SELECT (a gate scans many times a second): no ORM compiling.
    token = leansql.get_with_related(ApiToken, "area", key_id=key_id)
    if token is None:
        _checked_tokens.pop(key_id, None)
    elif ttl > 0:
        if len(_checked_tokens) > 10_000:
            _checked_tokens.clear()
        _checked_tokens[key_id] = (now, token)
    return token


def forget_checked_token(key_id: str) -> None:
    """Make this process read the token again on its next use (after a revocation)."""
    _checked_tokens.pop(key_id, None)


def authenticate_token(raw: str) -> ApiToken | None:
    """The usable token matching `gg_<key id>_<secret>`, or None.

    Each request's secret is checked against the stored hash; the row itself is kept for
    `settings.TOKEN_CACHE_SECONDS`, so a revocation made in another server process takes effect
    within that time (decision 0006).
    """
    if not raw.startswith(TOKEN_PREFIX):
        return None
    key_id, _sep, secret = raw[len(TOKEN_PREFIX) :].partition("_")
    if not key_id or not secret:
        return None
    token = _token_row(key_id)
    if token is None or not secrets.compare_digest(token.secret_hash, hash_secret(secret)):
        return None
    now = clock.now()
    if not token.usable(now):
        return None
    # Record use at most once a minute: a scanner sends many requests a second.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def deactivate_user(actor: Any, user: User) -> User:
    """Switch a user off: they can no longer log in and their roles open nothing.

    Bindings and history stay, so the audit trail still names them. The actor must manage
    accounts over every area the user holds a role in (an operator of one street cannot switch
    off a city-wide administrator).
    """
    if not actor.can("accounts.manage"):
        raise NotPermitted()
    for binding in RoleBinding.objects.filter(user=user).select_related("area"):
        require_in_scope(actor, binding.area)
        if not actor.can_at("accounts.manage", binding.area.path):
            raise NotPermitted()
    with transaction.atomic():
        if user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
        audit.record(actor, "accounts.user.deactivate", user)
    user.forget_bindings()
    return user
