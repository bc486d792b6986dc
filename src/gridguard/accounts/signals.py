"""Logins, logouts and failed logins go to the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from gridguard.core import audit


def _area_path(user: Any) -> str:
    paths = user.scope_paths() if hasattr(user, "scope_paths") else ()
    return paths[0] if paths else ""


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit.record(user, "login", user, area_path=_area_path(user))


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit.record(user, "logout", user, area_path=_area_path(user))


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any) -> None:
    audit.record(None, "login.failed", detail={"username": str(credentials.get("username", ""))})
