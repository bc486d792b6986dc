"""Pools for realistic Chinese place names (data, not UI text, so Chinese is right here)."""

from __future__ import annotations

import random

# The 16 districts of Shanghai with their national codes.
DISTRICTS: list[tuple[str, str]] = [
    ("310101", "黄浦区"),
    ("310104", "徐汇区"),
    ("310105", "长宁区"),
    ("310106", "静安区"),
    ("310107", "普陀区"),
    ("310109", "虹口区"),
    ("310110", "杨浦区"),
    ("310112", "闵行区"),
    ("310113", "宝山区"),
    ("310114", "嘉定区"),
    ("310115", "浦东新区"),
    ("310116", "金山区"),
    ("310117", "松江区"),
    ("310118", "青浦区"),
    ("310120", "奉贤区"),
    ("310151", "崇明区"),
]
CITY = ("3101", "上海市")

# Syllables that read like Shanghai road and neighbourhood names.
_FIRST = list(
    dict.fromkeys(
        "南北东西中新长和平安康华兴福宁泰瑞江海浦虹静徐漕田林枫梅桃兰竹松柏金银宝嘉明光"
        "曹凌龙华淮顺昌永定广延丰乐惠祥庆德盛仁义礼智信春夏秋冬云天星月山水湖"
    )
)
_SECOND = list("京汉阳安宁江海山川桥浦泾塘港湾园林路城里坊苑庄湖河口泉溪峰岭花阁")
# Built once: sampling from it is then cheap, even 6,000 times for the city preset.
_POOL = [a + b for a in _FIRST for b in _SECOND if a != b]
COMPOUND_SUFFIX = ["小区", "花园", "新村", "公寓", "苑", "家园", "大厦", "一村", "二村", "坊"]
GATE_NAMES = ["北门", "南门", "东门", "西门", "东北门", "西南门"]
ROAD_SUFFIX = ["路", "街", "弄", "大道"]
MARKET_SUFFIX = ["菜场", "农贸市场", "生鲜市场"]
PHARMACY_BRANDS = ["华氏大药房", "雷允上药房", "第一医药", "童涵春堂", "国大药房", "益丰大药房"]
ENTERPRISE_SUFFIX = ["实业有限公司", "科技有限公司", "食品有限公司", "物流有限公司", "制造有限公司"]
SHOP_TRADES = ["便利店", "面馆", "水果店", "理发店", "五金店", "早餐店", "药店", "烟杂店"]
OFFICE_SUFFIX = ["大厦", "广场", "中心", "商务楼"]


def words(rnd: random.Random, n: int) -> list[str]:
    """n different two-character words (falls back to three characters when more are asked)."""
    if n <= len(_POOL):
        return rnd.sample(_POOL, n)
    return rnd.sample(_POOL + [a + b + c for a in _FIRST[:20] for b in _FIRST for c in _SECOND], n)


def word(rnd: random.Random) -> str:
    """One two-character word."""
    return rnd.choice(_FIRST) + rnd.choice(_SECOND)
