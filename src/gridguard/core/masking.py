"""Masking of identity numbers and phones: the one place that decides what a role sees."""

from __future__ import annotations

from typing import Any

REVEAL_ID = "personal.reveal_id_number"
REVEAL_PHONE = "personal.reveal_phone"


def _can(actor: Any, permission: str) -> bool:
    can = getattr(actor, "can", None)
    return bool(can and can(permission))


def mask_id_number(value: str | None) -> str:
    """3101**********1234: keep the region prefix and the last four characters."""
    if not value:
        return ""
    if len(value) <= 8:
        return value[:1] + "*" * (len(value) - 1)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str | None) -> str:
    """138****5678: keep the carrier prefix and the last four digits."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * (len(value) - 2) + value[-2:]
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str | None) -> str:
    """张*明 / 张*: keep the family name and, for long names, the last character."""
    if not value:
        return ""
    if len(value) <= 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def id_number_for(actor: Any, value: str | None) -> str:
    """The identity number as this actor may see it."""
    return (value or "") if _can(actor, REVEAL_ID) else mask_id_number(value)


def phone_for(actor: Any, value: str | None) -> str:
    """The phone number as this actor may see it."""
    return (value or "") if _can(actor, REVEAL_PHONE) else mask_phone(value)
