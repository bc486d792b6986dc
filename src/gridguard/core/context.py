"""Per-request context (who, from where) for the audit trail, set by middleware."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str = ""
    channel: str = "system"  # web, api, cli, system


_SYSTEM = RequestContext()
_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "gridguard_request", default=None
)


def current() -> RequestContext:
    """The context of the request being served (or the system context)."""
    return _current.get() or _SYSTEM


def set_current(ctx: RequestContext) -> contextvars.Token[RequestContext | None]:
    return _current.set(ctx)


def reset(token: contextvars.Token[RequestContext | None]) -> None:
    _current.reset(token)
