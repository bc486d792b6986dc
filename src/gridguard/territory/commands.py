"""Helpers the management commands share: an `--area CODE` option and service errors named
by the option the operator typed."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from gridguard.core.errors import InvalidInput, OutOfScope
from gridguard.core.scoping import SYSTEM
from gridguard.territory import selectors
from gridguard.territory.models import Area


def area_option(code: str, option: str = "--area") -> Area:
    """The area with this code (commands run as the system actor), or a CommandError naming
    the option."""
    try:
        return selectors.area_by_code(SYSTEM, code)
    except OutOfScope as exc:
        raise CommandError(
            _("%(opt)s: no area with code “%(code)s”") % {"opt": option, "code": code}
        ) from exc


def invalid_to_command_error(exc: InvalidInput, options: dict[str, str]) -> CommandError:
    """Name the command-line option behind each field the service rejected."""
    parts = [
        f"{options.get(e.field, e.field)}: {e.message}" if e.field else e.message
        for e in exc.errors
    ]
    return CommandError("; ".join(parts))
