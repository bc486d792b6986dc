"""Placing free-text Chinese addresses in the territory tree.

`match_address("上海市黄浦区南京东路街道贵州路A1小区3号楼502")` returns the compound (or the
deepest area it can be sure of) and whether it reached a compound. Unmatched addresses are
never dropped: callers keep the text and park the record at the deepest area found.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field

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


@dataclass
class _Index:
    """Names by kind: {kind: {normalised name: [areas]}} and the name lengths per kind, so a
    match looks up the address's substrings instead of scanning every compound."""

    loaded_at: float = 0.0
    root_path: str = ""
    root_pk: int = 0
    by_kind: dict[str, dict[str, list[_Named]]] = field(default_factory=dict)
    lengths: dict[str, list[int]] = field(default_factory=dict)


_index = _Index()


def forget_index(**_kwargs: object) -> None:
    """Drop the cached name index (after a territory change, and in tests)."""
    global _index
    _index = _Index()


post_save.connect(forget_index, sender=Area, dispatch_uid="address_index_saved")
post_delete.connect(forget_index, sender=Area, dispatch_uid="address_index_deleted")


def _load() -> _Index:
    """The cached index (matching runs on every registration; the territory changes rarely)."""
    global _index
    if _index.root_path and time.monotonic() - _index.loaded_at <= _TTL:
        return _index
    top = Area.objects.filter(parent__isnull=True).order_by("path").first()
    if top is None:
        raise LookupError("the territory is empty")
    index = _Index(loaded_at=time.monotonic(), root_path=top.path, root_pk=top.pk)
    rows = (
        Area.objects.filter(kind__in=_INDEX_KINDS)
        .exclude(name="")
        .values_list("id", "kind", "path", "name")
    )
    for pk, kind, path, name in rows:
        norm = normalise_address(name)
        if norm:
            index.by_kind.setdefault(kind, {}).setdefault(norm, []).append(
                _Named(pk, kind, path, norm)
            )
    index.lengths = {k: sorted({len(n) for n in names}) for k, names in index.by_kind.items()}
    _index = index
    return index


def _found(index: _Index, kind: str, text: str, under: str) -> list[_Named]:
    """Areas of `kind` under path `under` whose name occurs in `text`."""
    names = index.by_kind.get(kind)
    if not names:
        return []
    seen: dict[int, _Named] = {}
    for n in index.lengths[kind]:
        for i in range(len(text) - n + 1):
            for a in names.get(text[i : i + n], ()):
                if a.path.startswith(under):
                    seen[a.pk] = a
    return list(seen.values())


def place_address(text: str, *, within: Area | None = None) -> tuple[int, bool, str]:
    """`match_address` without fetching the area: (area pk, matched, normalised text), from
    the in-memory index alone (callers placing many addresses fetch the areas together)."""
    norm = normalise_address(text)
    index = _load()
    deepest_path = within.path if within is not None else index.root_path
    deepest_pk: int | None = within.pk if within is not None else None
    for kind in (AreaKind.DISTRICT, AreaKind.STREET, AreaKind.TOWNSHIP):
        found = _found(index, kind, norm, deepest_path)
        if len(found) == 1:
            deepest_path, deepest_pk = found[0].path, found[0].pk
    compounds = _found(index, AreaKind.COMPOUND, norm, deepest_path)
    if compounds:
        best = max(compounds, key=lambda a: len(a.name))
        ties = [a for a in compounds if len(a.name) == len(best.name)]
        if len(ties) == 1:
            return best.pk, True, norm
    if deepest_pk is None:
        deepest_pk = index.root_pk
    return deepest_pk, False, norm


def match_address(text: str, *, within: Area | None = None) -> AddressMatch:
    """Match `text` to a compound (the longest compound name found in it, inside the deepest
    administrative area whose name is found too)."""
    pk, matched, norm = place_address(text, within=within)
    return AddressMatch(Area.objects.get(pk=pk), matched, norm)
