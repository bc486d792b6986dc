"""Kinds of areas and places, their codes and which kind may sit under which."""

from __future__ import annotations

import re

from django.db import models
from django.utils.translation import gettext_lazy as _


class AreaKind(models.TextChoices):
    CITY = "city", _("City")
    DISTRICT = "district", _("District")
    STREET = "street", _("Street")
    TOWNSHIP = "township", _("Township")
    COMMITTEE = "committee", _("Residents' committee")
    VILLAGE = "village", _("Village committee")
    COMPOUND = "compound", _("Residential compound")
    BUILDING = "building", _("Residential building")
    BUILDING_GROUP = "building_group", _("Building group")
    GATE = "gate", _("Gate")
    BLOCK = "block", _("Street block")
    ROAD = "road", _("Road")
    VILLAGE_GROUP = "village_group", _("Village group")
    OFFICE_BUILDING = "office_building", _("Office building")
    SHOP = "shop", _("Street shop")
    MARKET = "market", _("Market")
    ENTERPRISE = "enterprise", _("Enterprise")
    PHARMACY = "pharmacy", _("Pharmacy")
    CHECKPOINT = "checkpoint", _("Checkpoint")
    CAMERA = "camera", _("Camera point")


K = AreaKind
ADMINISTRATIVE = {K.CITY, K.DISTRICT, K.STREET, K.TOWNSHIP, K.COMMITTEE, K.VILLAGE}
PLACE_KINDS = [k for k in AreaKind if k not in ADMINISTRATIVE]

# National-scheme digits for administrative levels (city 4, district 6, street 9, committee 12).
ADMIN_CODE_LENGTH = {
    K.CITY: 4,
    K.DISTRICT: 6,
    K.STREET: 9,
    K.TOWNSHIP: 9,
    K.COMMITTEE: 12,
    K.VILLAGE: 12,
}
# Our own segments below: parent code + one letter + 1-5 digits.
SEGMENT_LETTER = {
    K.COMPOUND: "C",
    K.BUILDING: "B",
    K.BUILDING_GROUP: "U",
    K.GATE: "G",
    K.BLOCK: "J",
    K.ROAD: "R",
    K.VILLAGE_GROUP: "Z",
    K.OFFICE_BUILDING: "O",
    K.SHOP: "S",
    K.MARKET: "M",
    K.ENTERPRISE: "E",
    K.PHARMACY: "P",
    K.CHECKPOINT: "K",
    K.CAMERA: "V",
}
_STREETS: set[AreaKind] = {K.STREET, K.TOWNSHIP}
_COMMITTEES = {K.COMMITTEE, K.VILLAGE}
_PLACES_WITH_GATES = {K.COMPOUND, K.MARKET, K.OFFICE_BUILDING, K.ENTERPRISE}
ALLOWED_PARENTS: dict[str, set[AreaKind]] = {
    K.CITY: set(),
    K.DISTRICT: {K.CITY},
    K.STREET: {K.DISTRICT},
    K.TOWNSHIP: {K.DISTRICT},
    K.COMMITTEE: _STREETS,
    K.VILLAGE: _STREETS,
    K.COMPOUND: _COMMITTEES,
    K.BUILDING: {K.COMPOUND, K.VILLAGE_GROUP},
    K.BUILDING_GROUP: {K.BUILDING},
    K.GATE: _PLACES_WITH_GATES,
    K.BLOCK: _STREETS | _COMMITTEES,
    K.ROAD: _STREETS | _COMMITTEES,
    K.VILLAGE_GROUP: {K.VILLAGE},
    K.OFFICE_BUILDING: _STREETS | _COMMITTEES,
    K.SHOP: _STREETS | _COMMITTEES | {K.BLOCK, K.ROAD},
    K.MARKET: _STREETS | _COMMITTEES,
    K.ENTERPRISE: _STREETS | _COMMITTEES,
    K.PHARMACY: _STREETS | _COMMITTEES,
    K.CHECKPOINT: {K.DISTRICT} | _STREETS,
    K.CAMERA: set(AreaKind) - {K.CITY, K.CAMERA},
}
SEGMENT_RE = re.compile(r"^([A-Z])(\d{1,5})$")
# AreaKind.values builds a new list on every call; bulk loads check tens of thousands of rows.
KIND_VALUES: frozenset[str] = frozenset(AreaKind.values)
# Plain-string keys: enum members hash and compare slower than str in these hot lookups.
_ADMIN_LENGTH: dict[str, int] = {k.value: n for k, n in ADMIN_CODE_LENGTH.items()}
_LETTER: dict[str, str] = {k.value: c for k, c in SEGMENT_LETTER.items()}


def code_problem(kind: str, code: str, parent_kind: str | None, parent_code: str | None) -> str:
    """Why `code` is not a valid code for a `kind` under the given parent ('' when it is)."""
    return code_problem_field(kind, code, parent_kind, parent_code)[1]


def code_problem_field(
    kind: str, code: str, parent_kind: str | None, parent_code: str | None
) -> tuple[str, str]:
    """(field, message) naming what is wrong: "kind" or "code"; ("", "") when all is well."""
    problem = _kind_problem(kind, parent_kind)
    if problem:
        return "kind", problem
    problem = _code_problem(kind, code, parent_code)
    return ("code", problem) if problem else ("", "")


def _kind_problem(kind: str, parent_kind: str | None) -> str:
    if kind not in KIND_VALUES:
        return str(_("unknown kind “%(kind)s”") % {"kind": kind})
    allowed = ALLOWED_PARENTS[kind]
    if parent_kind is None:
        if allowed:
            return str(_("a %(kind)s needs a parent") % {"kind": kind})
    elif parent_kind not in allowed:
        return str(
            _("a %(kind)s cannot sit under a %(parent)s") % {"kind": kind, "parent": parent_kind}
        )
    return ""


def _code_problem(kind: str, code: str, parent_code: str | None) -> str:
    n = _ADMIN_LENGTH.get(kind)
    if n is not None:
        if not (code.isdigit() and code.isascii() and len(code) == n):
            return str(
                _("a %(kind)s code has %(n)d digits, “%(code)s” does not")
                % {"kind": kind, "n": n, "code": code}
            )
    else:
        letter = _LETTER[kind]
        rest = code[len(parent_code or "") :]
        m = SEGMENT_RE.match(rest)
        if not m or m.group(1) != letter:
            return str(
                _("a %(kind)s code is its parent's code, then “%(letter)s” and 1-5 digits")
                % {"kind": kind, "letter": letter}
            )
    if parent_code is not None and not code.startswith(parent_code):
        return str(
            _("code “%(code)s” does not start with its parent's code “%(parent)s”")
            % {"code": code, "parent": parent_code}
        )
    return ""
