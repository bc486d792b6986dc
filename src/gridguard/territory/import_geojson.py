"""Boundaries import (T1): a GeoJSON FeatureCollection whose features name areas by code.

Each feature has `properties.code` and a Polygon or MultiPolygon geometry. Every feature is
checked before anything is written; problems name the feature by its index
(`features[3].properties.code`). All boundaries are set, or none.
"""

from __future__ import annotations

import json
from numbers import Real
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from gridguard.core import audit, clock
from gridguard.core.errors import FieldError, InvalidInput, NotPermitted
from gridguard.core.scoping import covers
from gridguard.territory.import_table import common_path
from gridguard.territory.models import Area

LOOKUP_CHUNK = 900
BATCH = 500


def _position_problem(pos: Any) -> str:
    if not isinstance(pos, list) or len(pos) not in (2, 3):
        return _("a position is [longitude, latitude]")
    if not all(isinstance(v, Real) and not isinstance(v, bool) for v in pos):
        return _("a position holds numbers only")
    lon, lat = pos[0], pos[1]
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return _("position %(p)s is outside longitude -180..180, latitude -90..90") % {"p": pos}
    return ""


def _polygon_problem(rings: Any) -> str:
    if not isinstance(rings, list) or not rings:
        return _("a polygon is a non-empty list of rings")
    for ring in rings:
        if not isinstance(ring, list) or len(ring) < 4:
            return _("a ring has at least four positions")
        for pos in ring:
            if problem := _position_problem(pos):
                return problem
        if ring[0] != ring[-1]:
            return _("a ring must end where it starts")
    return ""


def geometry_problem(geometry: Any) -> str:
    """'' if `geometry` is a well-formed GeoJSON Polygon or MultiPolygon, else the problem."""
    if not isinstance(geometry, dict) or geometry.get("type") not in {"Polygon", "MultiPolygon"}:
        return _("the geometry must be a Polygon or a MultiPolygon")
    coords = geometry.get("coordinates")
    if geometry["type"] == "Polygon":
        return _polygon_problem(coords)
    if not isinstance(coords, list) or not coords:
        return _("a MultiPolygon is a non-empty list of polygons")
    for polygon in coords:
        if problem := _polygon_problem(polygon):
            return problem
    return ""


def _parse(text: str | bytes) -> list[Any]:
    """The features of a FeatureCollection, or InvalidInput saying why there are none."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput.one("file", "encoding", _("The file is not UTF-8 text.")) from exc
    if not text.strip():
        raise InvalidInput.one("file", "empty", _("The file is empty."))
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            [
                FieldError(
                    "file",
                    "invalid_json",
                    _("The file is not JSON: %(e)s (column %(c)d)")
                    % {"e": exc.msg, "c": exc.colno},
                    line=exc.lineno,
                )
            ]
        ) from exc
    except RecursionError as exc:
        # json.loads recurses per nesting level: "[[[[…" would otherwise crash the import.
        raise InvalidInput.one(
            "file", "invalid_json", _("The file is not GeoJSON: it is nested too deeply.")
        ) from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InvalidInput.one(
            "type", "invalid", _("The file must be a GeoJSON FeatureCollection.")
        )
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        raise InvalidInput.one("features", "empty", _("The FeatureCollection has no features."))
    return features


def import_boundaries(actor: Any, geojson_text: str | bytes, *, filename: str = "") -> int:
    """Set `Area.boundary` from a FeatureCollection; returns how many areas were set."""
    if not actor.can("territory.import"):
        raise NotPermitted()
    features = _parse(geojson_text)
    errors: list[FieldError] = []
    wanted: dict[str, tuple[int, Any]] = {}
    for i, feature in enumerate(features):
        where = f"features[{i}]"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            errors.append(FieldError(where, "invalid", _("This is not a GeoJSON Feature.")))
            continue
        props = feature.get("properties")
        code = props.get("code") if isinstance(props, dict) else None
        if not isinstance(code, str) or not code.strip():
            errors.append(
                FieldError(
                    f"{where}.properties.code", "required", _("Each feature needs properties.code.")
                )
            )
        if problem := geometry_problem(feature.get("geometry")):
            errors.append(FieldError(f"{where}.geometry", "invalid", problem))
        if not isinstance(code, str) or not code.strip():
            continue
        code = code.strip().upper()
        if code in wanted:
            errors.append(
                FieldError(
                    f"{where}.properties.code",
                    "duplicate",
                    _("code “%(code)s” is also in features[%(other)d]")
                    % {"code": code, "other": wanted[code][0]},
                )
            )
            continue
        wanted[code] = (i, feature.get("geometry"))
    areas = _areas(actor, list(wanted))
    for code, (i, _geometry) in wanted.items():
        area = areas.get(code)
        if area is None:
            errors.append(
                FieldError(
                    f"features[{i}].properties.code",
                    "unknown",
                    _("there is no area “%(code)s” in your territory") % {"code": code},
                )
            )
        elif not actor.can_at("territory.import", area.path):
            errors.append(
                FieldError(
                    f"features[{i}].properties.code",
                    "not_permitted",
                    _("Your role does not allow this here."),
                )
            )
    if errors:
        raise InvalidInput(errors)
    now = clock.now()
    for code, (_i, geometry) in wanted.items():
        areas[code].boundary = geometry
        areas[code].updated_at = now
    with transaction.atomic():
        Area.objects.bulk_update(list(areas.values()), ["boundary", "updated_at"], batch_size=BATCH)
        audit.record(
            actor,
            "territory.boundaries.import",
            area_path=common_path([a.path for a in areas.values()]),
            object_type="territory.area",
            detail={"file": filename, "count": len(areas)},
        )
    return len(areas)


def _areas(actor: Any, codes: list[str]) -> dict[str, Area]:
    """The areas among `codes` that the actor covers (others count as unknown)."""
    found: dict[str, Area] = {}
    for i in range(0, len(codes), LOOKUP_CHUNK):
        for area in Area.objects.filter(code__in=codes[i : i + LOOKUP_CHUNK]).only(
            "pk", "code", "path"
        ):
            if covers(actor, area.path):
                found[area.code] = area
    return found
