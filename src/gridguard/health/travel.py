"""What a traveller can declare: provinces, symptoms, vehicle numbers, and the key regions.

Kept apart from the service so that the public form, the device API and the demo share one
vocabulary.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from gridguard.health.models import KeyRegion

# The 34 provincial-level divisions, as people write them on forms.
PROVINCES = [
    "北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省",
    "上海市", "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省",
    "湖南省", "广东省", "广西壮族自治区", "海南省", "重庆市", "四川省", "贵州省", "云南省",
    "西藏自治区", "陕西省", "甘肃省", "青海省", "宁夏回族自治区", "新疆维吾尔自治区",
    "台湾省", "香港特别行政区", "澳门特别行政区",
]  # fmt: skip

# Short forms people type ("湖北", "广西", "内蒙古") → the full name.
_SHORT = {p.removesuffix("省").removesuffix("市"): p for p in PROVINCES}
_SHORT.update({"内蒙古": "内蒙古自治区", "广西": "广西壮族自治区", "西藏": "西藏自治区"})
_SHORT.update({"宁夏": "宁夏回族自治区", "新疆": "新疆维吾尔自治区", "香港": "香港特别行政区"})
_SHORT.update({"澳门": "澳门特别行政区", "台湾": "台湾省"})

SYMPTOMS = {
    "fever": _("Fever"),
    "cough": _("Cough"),
    "fatigue": _("Fatigue"),
    "sore_throat": _("Sore throat"),
    "short_breath": _("Shortness of breath"),
    "diarrhoea": _("Diarrhoea"),
}

# Temperatures a thermometer on a person can show; outside is a typing error.
MIN_TEMPERATURE, MAX_TEMPERATURE = 34.0, 42.5

# Plates: province character, letter, 5 or 6 letters/digits (new-energy plates have 6).
_PLATE = re.compile(
    r"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领][A-Z][A-Z0-9]{5,6}$"
)
_TRAIN = re.compile(r"^[GDCZTKYLS]?\d{1,4}$")
_FLIGHT = re.compile(r"^[A-Z0-9]{2}\d{1,4}[A-Z]?$")
VEHICLE_PATTERNS = {"car": _PLATE, "coach": _PLATE, "train": _TRAIN, "flight": _FLIGHT}


def normalise_province(text: str) -> str | None:
    """The full province name for what was typed, or None when it is not a province."""
    t = (text or "").strip()
    if t in PROVINCES:
        return t
    return _SHORT.get(t.removesuffix("省").removesuffix("市"))


@dataclass(frozen=True)
class _Region:
    pk: int
    province: str
    city: str
    since: dt.date
    until: dt.date | None
    observation_days: int


_cache: tuple[float, list[_Region]] = (0.0, [])
_TTL = 30.0  # seconds: an administrator's change reaches every process within this


def forget_key_regions() -> None:
    """Drop the cached list (after an administrator changed it, and in tests)."""
    global _cache
    _cache = (0.0, [])


def _regions() -> list[_Region]:
    global _cache
    loaded_at, regions = _cache
    if time.monotonic() - loaded_at > _TTL:
        regions = [
            _Region(r.pk, r.province, r.city, r.since, r.until, r.observation_days)
            for r in KeyRegion.objects.filter(active=True)
        ]
        _cache = (time.monotonic(), regions)
    return regions


def key_region_for(province: str, city: str, arrival: dt.date) -> tuple[int, int] | None:
    """(key region pk, observation days) when someone arriving on `arrival` from this
    province/city comes from a key area then; a city-level entry beats the province's."""
    city = (city or "").strip()
    best: _Region | None = None
    for r in _regions():
        if r.province != province or r.since > arrival or (r.until and r.until < arrival):
            continue
        if r.city and not (
            city and (city == r.city or city.removesuffix("市") == r.city.removesuffix("市"))
        ):
            continue
        if best is None or (r.city and not best.city):
            best = r
    return (best.pk, best.observation_days) if best else None


def _forget_on_change(**_kwargs: object) -> None:
    forget_key_regions()


# An administrator's edit in this process takes effect at once; other processes within _TTL.
from django.db.models.signals import post_delete, post_save  # noqa: E402

post_save.connect(_forget_on_change, sender=KeyRegion, dispatch_uid="key_regions_saved")
post_delete.connect(_forget_on_change, sender=KeyRegion, dispatch_uid="key_regions_deleted")
