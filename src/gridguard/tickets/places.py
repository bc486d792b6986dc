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
    r"上海市?|(?:黄浦|徐汇|长宁|静安|普陀|虹口|杨浦|闵行|宝山|嘉定|浦东|金山|松江|青浦|奉贤|崇明)(?:新区|区|(?![路街道大]))|[\u4e00-\u9fa5]{1,2}[^\W小社园校景城市片发税厂营住辖山矿学院示范]新?区"
    r"|[\u4e00-\u9fa5]{2,4}(?:街道|镇)"
)

# 里 names Shanghai lanes (步高里) but also ends 公里, 这里, 家里 …; 村委, 政府, 邻居, 居委,
# 市场监管, 进站, 厂区 are not places either.
_COMPOUND = (
    "小区|花园|新村|新苑|新城|公寓|家园|大厦|商厦|广场|商务楼|大楼|山庄|别墅|公馆|村(?![委里民口])|苑|坊|"
    "(?<![公这那哪家心夜城村区店厂里厢舍末间堂群楼院屋房车手眼梦会局市园场站箱锅周])里(?![面头边])|城|(?<!政)府|庭|湾|园|"
    "(?<![邻独定同民起旧新安群])居(?![委民住家室然])|邨"
)
_VENUE = (
    "超市|大卖场|菜场|菜市场|农贸市场|生鲜市场|市场(?!监管|价格|供应)|药房|药店|医院|诊所|卫生服务中心|发热门诊|"
    "小学|中学|幼儿园|学校|大学|学院|公司|工厂|厂(?![区长房])|酒店|宾馆|旅馆|饭店|餐厅|酒楼|棋牌室|麻将馆|"
    "茶馆|网吧|浴室|足浴店|健身房|理发店|便利店|水果店|面馆|银行|营业厅|地铁站|火车站|汽车站|"
    "道口|收费站|检查站|工业园|产业园|园区|商场|商城|写字楼|工地|物业|民宿|公园|(?<![进出到])站"
)
_NAME = r"[\u4e00-\u9fa5A-Za-z0-9]"
_ROAD_NUMBER = re.compile(rf"({_NAME}{{1,6}}?(?:路|街|大道|公路|巷))(\d{{1,5}})(?:弄|号|支弄)")
_ROAD = re.compile(rf"({_NAME}{{2}}(?:路|大道|公路))(?![口边上旁])")
# 银行卡 is a bank card, not a bank.
_SUFFIX = re.compile(rf"(?=({_VENUE}|{_COMPOUND}))(?!银行卡)")
# Words between a name and its suffix that people drop or add freely: 康鑫大药房 is 康鑫药房,
# 悦居服务公寓 is 悦居公寓, 申达服饰有限公司 is 申达服饰公司.
_MODIFIER = re.compile(r"(?:大|服务式?|有限|有限责任|股份有限|股份|连锁|便民|社区)+$")

# A firm's trade and legal form: shared by firms that are not the same firm.
_TRADE = (
    "物流|快递|电子|科技|网络|服饰|服装|五金|制品|贸易|实业|包装|材料|餐饮|食品|医药|装修|生鲜|"
    "信息|建设|建筑|机械|文化|传媒|汽配|汽修|印刷|纺织|家具|建材"
)
_LEGAL = "有限责任公司|股份有限公司|有限公司|集团|分公司|总店|分店|店"
# Words that sit before a suffix without naming anything (a name made only of them is none).
_GENERIC = re.compile(
    r"(?:我们|我家|要求|希望|建议|询问|咨询|反映|举报|投诉|关于|所有|进入|进出|离开|回到|来到|前往|"
    rf"所在|住在|{_TRADE}|你们|他们|咱们|本|该|这个|那个|这|那|整个|附近|周边|隔壁|对面|楼下|楼上|"
    r"老旧|居民|所住|住的|各个|各|全|每个|很多|有的|部分|一些|多个|一家|一个|个别|某|这家|那家|"
    r"哪家|每家|他家|小区|一处|某处|的|了|在|到|去|是|这里|那里|家里|门口|大门|小门|公共|老|新|大|小)+"
)
# Numbers and directions that tell apart compounds of one name (曹杨一村, 梅岭北苑).
_MARKERS = set("一二三四五六七八九十东西南北中")
# Names of one kind of venue that people use for each other.
_SYNONYMS = (
    (re.compile(r"社区医院|社区卫生中心|社区卫生服务站|社区服务中心"), "社区卫生服务中心"),
    (re.compile(r"菜市场|农贸市场"), "菜场"),
)
# Function words, and the ends of road addresses (梅川路梅岭苑 is 梅岭苑 on 梅川路).
_STOP_CHARS = set("的了在到去是与及把被就也还又说叫让住找请路弄号巷")


def _clean(text: str) -> str:
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))
    for pattern, common in _SYNONYMS:
        text = pattern.sub(common, text)
    return text


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
        covered = -1
        for m in _SUFFIX.finditer(text):
            suffix = m.group(1)
            pos = m.start()
            if pos < covered:
                continue  # 站 inside 检查站, 园 inside 花园: the longer suffix already counted
            covered = pos + len(suffix)
            raw = _name_before(text, pos, 10)
            name = _MODIFIER.sub("", raw)
            start = pos - len(raw)
            if not name and start and text[start - 1] in "路街":
                # A venue named by its road (真光路菜场, 四川北路社区卫生服务中心).
                name = _name_before(text, start - 1, 2)
            if len(name) < 2:
                continue
            # The part of the name right before the suffix: 2 characters, what people keep
            # when they shorten a name (宝山区顾村镇菊盛苑, 顾村菊盛苑 and 菊盛苑 are one).
            short = name[-2:]
            kind = "v" if re.fullmatch(_VENUE, suffix) else "c"
            if kind == "c" and short[-1] in _MARKERS and len(name) >= 3:
                # 枣阳五村 and 枣阳六村, 梅岭苑 and 梅岭北苑: the number or direction is part of
                # the name, the two characters before it are the root.
                short = name[-3:]
            if _GENERIC.fullmatch(short) or short.isdigit():
                continue
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


_ROAD_NAME = re.compile(rf"{_NAME}{{2}}(?:路|大道|公路|街|巷)(?:\d+(?:弄|支弄|号))?")
_NUMBERS = re.compile(r"\d+(?:号楼|号|弄|支弄|室|栋|幢|楼)")
_KIND_WORDS = re.compile(rf"{_LEGAL}|{_VENUE}|{_TRADE}")
_QUOTED = re.compile(r"[“\"「『（(]([^”\"」』）)]{2,16})[”\"」』）)]")


def name_text(place: str, text: str = "") -> str:
    """The words of a report that can name its place or subject: the place field without
    city, district, street and numbers, and whatever the text puts in quotes or brackets
    (一家药房（益寿堂）, 卖家“口罩直供小陈”)."""
    # Roads are compared as roads (keys), kinds of venue and trades are shared by different
    # places (枫泾道口, 罗泾道口; 蓝鲸网络科技, 蓝海网络科技): names are what is left. A
    # compound's suffix stays: 梅岭苑 is not 梅岭北苑.
    place = _ROAD_NAME.sub("|", _ADMIN.sub("|", _clean(place)))
    parts = [_NUMBERS.sub("|", place), *_QUOTED.findall(_clean(text))]
    return _KIND_WORDS.sub("|", "|".join(parts))


def root(key: str) -> str:
    """The name part of a road or compound key, without road number or suffix
    (r:赤峰路63 and c:赤峰苑 → 赤峰): many compounds are named after their road."""
    body = key[2:]
    if key.startswith(("r:", "w:")):
        body = re.sub(r"(路|街|大道|公路|巷)?\d*$", "", body)
    else:
        m = re.search(rf"({_VENUE}|{_COMPOUND})$", body)
        body = body[: m.start()] if m else body
        if key.startswith("c:") and len(body) > 2 and body[-1] in _MARKERS:
            body = body[:-1]
    return body[-2:]


_BUILDING = re.compile(r"(?<![路街道巷\d])(\d{1,3})(?:号楼|幢|栋|号)(?![线床])")


_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}
_CN_NUMBER = re.compile(r"(?<![\u4e00-\u9fa5])([一二三四五六七八九十]{1,3})(?=号楼|幢|栋|号(?!线))")


def _arabic(match: re.Match[str]) -> str:
    """一 → 1, 十二 → 12, 二十三 → 23 (building numbers as people say them)."""
    text = match.group(1)
    if "十" not in text:
        return "".join(str(_CN_DIGITS[c]) for c in text)
    tens, _, units = text.partition("十")
    return str((_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(units, 0)))


def buildings(*texts: str) -> set[str]:
    """The building numbers the texts name (18号楼, 125弄18号 → "18", 三号楼 → "3"); road
    numbers are not buildings (金沙江路2021号)."""
    out: set[str] = set()
    for t in texts:
        text = _CN_NUMBER.sub(_arabic, _clean(t))
        out.update(m.group(1).lstrip("0") for m in _BUILDING.finditer(text))
    return out


def without_roads(text: str) -> str:
    """The text with road names and numbers blanked out (赤峰路63弄 → |): what is left can
    name a compound, a venue or a firm."""
    return _ROAD_NAME.sub("|", _clean(text))


_KIND_SEARCH = re.compile(rf"{_VENUE}|{_COMPOUND}|{_TRADE}")


def names_a_kind(gram: str) -> bool:
    """Whether a bigram holds a kind of place or trade (新村, 岭苑, 物流): shared by many
    places, so no use to find one."""
    return bool(_KIND_SEARCH.search(gram))
