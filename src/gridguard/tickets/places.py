"""Place keys: what a ticket says about where, reduced to keys two reports of the same place
share however they are written.

Reporters name a place by a compound (桃源小区, 枫林苑), a road and number (枫林路128弄), or a
venue (联华超市, 徐汇区中心医院发热门诊), with or without the city, district and street in
front. A key is the kind of place, the last few characters of its name before the suffix (the
part people keep when they shorten it), and for roads the number: "c:桃源小区", "r:枫林路128",
"v:联华超市". Generic words ("我们小区", "楼下超市") are not keys. Two tickets about one place
share a key; a road named without a number is only a weak key ("w:枫林路").
"""

from __future__ import annotations

import re
import unicodedata

# City, district, street and town names in front of a place: dropped before keys are read.
# The character before 区 rules out the words that end in 区 without being a district.
_ADMIN = re.compile(
    r"上海市?|[\u4e00-\u9fa5]{1,2}[^\W小社园校景城市片发税厂营住辖山矿学院示范]新?区"
    r"|[\u4e00-\u9fa5]{2,4}(?:街道|镇)"
)

_COMPOUND = (
    "小区|花园|新村|公寓|家园|大厦|广场|商务楼|大楼|山庄|别墅|公馆|村|苑|坊|里|城|府|庭|湾|园|居|邨"
)
_VENUE = (
    "超市|大卖场|菜场|菜市场|农贸市场|生鲜市场|市场|药房|药店|医院|诊所|卫生服务中心|发热门诊|"
    "小学|中学|幼儿园|学校|大学|学院|公司|工厂|厂|酒店|宾馆|旅馆|饭店|餐厅|酒楼|棋牌室|麻将馆|"
    "茶馆|网吧|浴室|足浴店|健身房|理发店|便利店|水果店|面馆|银行|营业厅|地铁站|火车站|汽车站|"
    "道口|收费站|检查站|工业园|产业园|园区|商场|商城|写字楼|工地|物业|民宿|公园|站"
)
_NAME = r"[\u4e00-\u9fa5A-Za-z0-9]"
_ROAD_NUMBER = re.compile(rf"({_NAME}{{1,6}}?(?:路|街|大道|公路|巷))(\d{{1,5}})(?:弄|号|支弄)")
_ROAD = re.compile(rf"({_NAME}{{2}}(?:路|大道|公路))(?![口边上旁])")
_SUFFIX = re.compile(rf"(?=({_VENUE}|{_COMPOUND}))")

# Words that sit before a suffix without naming anything.
_GENERIC = re.compile(
    r"^(我们|我家|你们|他们|咱们|本|该|这个|那个|这|那|整个|附近|周边|隔壁|对面|楼下|楼上|"
    r"老旧|居民|所在|所住|住的|各个|各|全|每个|很多|有的|部分|一些|多个|一家|一个|个别|某|"
    r"小区|老|新|大|小|的|了|在|到|去|是|和|及|有|里|家|门|区|公|个|些)"
)
_STOP_CHARS = set("的了在到去是和与及从把被给向对为就都也还又说叫让住找请")


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"\s+", "", text)


def _name_before(text: str, end: int, width: int) -> str:
    """Up to `width` name characters just before `end`, stopping at a function word."""
    start = end
    while start > 0 and end - start < width:
        ch = text[start - 1]
        if not re.match(_NAME, ch) or ch in _STOP_CHARS:
            break
        start -= 1
    return text[start:end]


def keys(*texts: str) -> list[str]:
    """The place keys found in the given texts (place field first, then the ticket text),
    most specific first, each once."""
    found: dict[str, int] = {}
    for raw in texts:
        text = _ADMIN.sub("|", _clean(raw))
        for m in _ROAD_NUMBER.finditer(text):
            road = m.group(1)[-3:]
            found.setdefault(f"r:{road}{int(m.group(2))}", 0)
        for m in _SUFFIX.finditer(text):
            suffix = m.group(1)
            pos = m.start()
            name = _name_before(text, pos, 4)
            if len(name) < 2:
                continue
            # The part of the name right before the suffix, 2 characters (3 for one-character
            # suffixes like 苑, which otherwise make too short a key).
            short = name[-3:] if len(suffix) == 1 else name[-2:]
            if _GENERIC.match(short) or _GENERIC.match(name[-2:]) or short.isdigit():
                continue
            kind = "v" if re.fullmatch(_VENUE, suffix) else "c"
            found.setdefault(f"{kind}:{short}{suffix}", 1)
        for m in _ROAD.finditer(text):
            found.setdefault(f"w:{m.group(1)}", 2)
    return [k for k, _ in sorted(found.items(), key=lambda kv: kv[1])]


def strong(place_keys: list[str]) -> list[str]:
    """The keys specific enough to say two reports are about one place."""
    return [k for k in place_keys if not k.startswith("w:")]


def compatible(a: list[str], b: list[str]) -> float:
    """How sure we are that two reports are about the same place, from their keys: 1 when
    they share a specific key, 0.5 when they share only a road, 0 otherwise."""
    sa, sb = set(strong(a)), set(strong(b))
    if sa & sb:
        return 1.0
    if set(a) & set(b):
        # Same road: the same place unless each names a different number or compound on it.
        return 0.0 if (sa and sb) else 0.5
    return 0.0
