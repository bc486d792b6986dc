"""Placing free-text Chinese addresses in the territory tree.

`match_address("上海市黄浦区南京东路街道贵州路A1小区3号楼502")` returns the compound (or the
deepest area it can be sure of) and whether it reached a compound. Unmatched addresses are
never dropped: callers keep the text and park the record at the deepest area found.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

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


def match_address(text: str, *, within: Area | None = None) -> AddressMatch:
    """Match `text` to a compound (the longest compound name found in it, inside the deepest
    administrative area whose name is found too)."""
    norm = normalise_address(text)
    root = within or Area.objects.filter(parent__isnull=True).order_by("path").first()
    if root is None:
        raise LookupError("the territory is empty")
    deepest = root
    for kind in (AreaKind.DISTRICT, AreaKind.STREET, AreaKind.TOWNSHIP):
        candidates = [
            a
            for a in Area.objects.filter(kind=kind, path__startswith=deepest.path).only(
                "id", "name", "path", "code", "kind", "parent_id"
            )
            if a.name and normalise_address(a.name) in norm
        ]
        if len(candidates) == 1:
            deepest = candidates[0]
    compounds = [
        a
        for a in Area.objects.filter(kind=AreaKind.COMPOUND, path__startswith=deepest.path).only(
            "id", "name", "path", "code", "kind", "parent_id"
        )
        if a.name and normalise_address(a.name) in norm
    ]
    if compounds:
        best = max(compounds, key=lambda a: len(a.name))
        ties = [a for a in compounds if len(a.name) == len(best.name)]
        if len(ties) == 1:
            return AddressMatch(Area.objects.get(pk=best.pk), True, norm)
    return AddressMatch(Area.objects.get(pk=deepest.pk), False, norm)
