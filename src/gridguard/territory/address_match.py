"""Placing free-text Chinese addresses in the territory tree.

`match_address("上海市黄浦区南京东路街道贵州路A1小区3号楼502")` returns the compound (or the
deepest area it can be sure of) and whether it reached a compound. Unmatched addresses are
never dropped: callers keep the text and park the record at the deepest area found.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass

from django.db.models.signals import post_delete, post_save

from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area


@dataclass(frozen=True)
class AddressMatch:
    """Where an address landed: `area` is a compound when `matched`, else the deepest
    administrative area recognised (street, district or the city)."""

    area: Area
    matched: bool
    normalised: str


def normalise_address(text: str) -> str:
    """Half-width, no spaces or punctuation, upper-case letters."""
    s = unicodedata.normalize("NFKC", text or "").upper()
    return re.sub(r"[\s,.;:()\-_#\u3001\u3002\u2014]", "", s)


@dataclass(frozen=True)
class _Named:
    pk: int
    kind: str
    path: str
    name: str  # normalised


_INDEX_KINDS = (AreaKind.DISTRICT, AreaKind.STREET, AreaKind.TOWNSHIP, AreaKind.COMPOUND)
_TTL = 60.0  # seconds: territory edits in another process reach this one within a minute
_index: tuple[float, list[_Named], str] = (0.0, [], "")


def forget_index(**_kwargs: object) -> None:
    """Drop the cached name index (after a territory change, and in tests)."""
    global _index
    _index = (0.0, [], "")


post_save.connect(forget_index, sender=Area, dispatch_uid="address_index_saved")
post_delete.connect(forget_index, sender=Area, dispatch_uid="address_index_deleted")


def _named_areas() -> tuple[list[_Named], str]:
    """(districts, streets, townships and compounds with a name; the root's path), cached:
    matching runs on every registration, and the territory changes rarely."""
    global _index
    loaded_at, named, root = _index
    if time.monotonic() - loaded_at > _TTL or not root:
        top = Area.objects.filter(parent__isnull=True).order_by("path").first()
        if top is None:
            raise LookupError("the territory is empty")
        named = [
            _Named(pk, kind, path, normalise_address(name))
            for pk, kind, path, name in Area.objects.filter(kind__in=_INDEX_KINDS)
            .exclude(name="")
            .values_list("id", "kind", "path", "name")
        ]
        root = top.path
        _index = (time.monotonic(), named, root)
    return named, root


def match_address(text: str, *, within: Area | None = None) -> AddressMatch:
    """Match `text` to a compound (the longest compound name found in it, inside the deepest
    administrative area whose name is found too)."""
    norm = normalise_address(text)
    named, root_path = _named_areas()
    deepest_path = within.path if within is not None else root_path
    deepest_pk: int | None = within.pk if within is not None else None
    for kind in (AreaKind.DISTRICT, AreaKind.STREET, AreaKind.TOWNSHIP):
        found = [
            a
            for a in named
            if a.kind == kind and a.path.startswith(deepest_path) and a.name and a.name in norm
        ]
        if len(found) == 1:
            deepest_path, deepest_pk = found[0].path, found[0].pk
    compounds = [
        a
        for a in named
        if a.kind == AreaKind.COMPOUND and a.path.startswith(deepest_path) and a.name in norm
    ]
    if compounds:
        best = max(compounds, key=lambda a: len(a.name))
        ties = [a for a in compounds if len(a.name) == len(best.name)]
        if len(ties) == 1:
            return AddressMatch(Area.objects.get(pk=best.pk), True, norm)
    if deepest_pk is None:
        return AddressMatch(Area.objects.get(path=deepest_path), False, norm)
    return AddressMatch(Area.objects.get(pk=deepest_pk), False, norm)
