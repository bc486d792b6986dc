"""Checks shared by the pharmacy services: permissions, the pharmacy, keys and numbers."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from gridguard.core.errors import FieldError, InvalidInput, NotPermitted, OutOfScope
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area

MIN_TEMPERATURE, MAX_TEMPERATURE = Decimal("34"), Decimal("42.5")
MAX_KEY = 64


def require(actor: Any, permission: str, area: Area) -> None:
    """NotPermitted unless a role grants `permission`; OutOfScope unless it covers `area`."""
    if not actor.can(permission):
        raise NotPermitted()
    can_at = getattr(actor, "can_at", None)
    if callable(can_at) and not can_at(permission, area.path):
        raise OutOfScope()


def check_pharmacy(area: Any, field: str = "pharmacy") -> Area:
    if not isinstance(area, Area) or area.kind != AreaKind.PHARMACY:
        raise InvalidInput.one(field, "kind", _("Choose a pharmacy."))
    return area


def check_key(key: Any) -> str:
    key = str(key or "").strip()
    if not key or len(key) > MAX_KEY:
        raise InvalidInput.one(
            "submission_key", "required", _("The form is missing its submission key; reload it.")
        )
    return key


def parse_int(
    value: Any, field: str, low: int, high: int, message: str
) -> tuple[int, list[FieldError]]:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        return 0, [FieldError(field, "invalid", message)]
    if not low <= number <= high:
        return number, [FieldError(field, "range", message)]
    return number, []


def parse_temperature(value: Any) -> tuple[Decimal | None, list[FieldError]]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, []
    message = _("Enter a temperature between 34 and 42.5 °C.")
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        t = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None, [FieldError("temperature", "invalid", message)]
    if not t.is_finite() or not MIN_TEMPERATURE <= t <= MAX_TEMPERATURE:
        return None, [FieldError("temperature", "range", message)]
    return t.quantize(Decimal("0.1")), []
