"""Place keys and same-clue decisions on the kinds of pairs that decide merge quality."""

from __future__ import annotations

import pytest

from gridguard.tickets import classifier, matching, places


def report(place: str, text: str) -> matching.Report:
    model = classifier.current()
    return matching.Report.of(text, place, model.predict(text), model)


def joins(new: matching.Report, case: list[matching.Report]) -> bool:
    """Whether `new` joins the case made of `case`'s reports (the only candidate)."""
    return matching.best_case(new, [(1, case)]) is not None


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("宝山区顾村镇菊盛苑", "顾村菊盛苑"),
        ("菊盛苑", "宝山区菊盛苑8号楼"),
        ("徐汇 康鑫大药房", "田林东路康鑫药房"),
        ("黄浦区打浦桥街道悦居服务公寓", "悦居公寓"),
        ("普陀区梅川路梅岭苑", "梅岭苑"),
    ],
)
def test_one_place_written_two_ways_shares_a_key(a: str, b: str) -> None:
    assert set(places.strong(places.keys(a))) & set(places.strong(places.keys(b)))


@pytest.mark.parametrize(
    "text",
    [
        "要求居委会处理",
        "要填银行卡号",
        "要求政府协调",
        "车辆绵延数公里",
        "我们小区门口",
        "要求市场监管",
    ],
)
def test_words_that_end_like_places_are_not_places(text: str) -> None:
    assert places.strong(places.keys(text)) == []


def test_numbered_compounds_of_one_name_are_different_places_with_one_root() -> None:
    assert places.keys("枣阳五村") == ["c:枣阳五村"] and places.keys("枣阳六村") == ["c:枣阳六村"]
    assert places.root("c:枣阳五村") == places.root("r:枣阳路188") == "枣阳"
    assert places.keys("普陀区淞南镇淞南菜场") == ["v:淞南菜场"]  # a venue's 南 is its name


def test_building_numbers_are_not_road_numbers() -> None:
    assert places.buildings("三号楼", "十二号楼", "第一中学", "1号线") == {"3", "12"}
    assert places.buildings("闸殷路125弄18号") == {"18"}
    assert places.buildings("殷阳苑18号楼") == {"18"}
    assert places.buildings("金沙江路2021号") == set()


def test_a_road_address_and_a_compound_name_join_through_a_report_naming_both() -> None:
    case = [
        report("杨浦区殷阳苑", "市民来电反映：殷阳苑18号楼一户从湖北返沪未登记，要求核实。"),
        report("闸殷路125弄", "来电人反映闸殷路125弄（殷阳苑）有一家人从湖北回来没有报告。"),
    ]
    new = report("杨浦区闸殷路125弄18号", "来电人称邻居一家刚从湖北回沪，没有登记，要求上门核查。")
    assert joins(new, case)
    # Without the report that names both, a road address is only near a compound.
    alone = matching.place_match(new, case[0])
    assert alone in (matching.NEAR, matching.NONE)


def test_neighbouring_compounds_with_one_root_are_different_places() -> None:
    a = report("殷阳苑", "殷阳苑门口没人值守，外来人员随便进出")
    b = report("殷阳新村", "殷阳新村门口没人值守，外来人员随便进出")
    assert matching.place_match(a, b) == matching.CONFLICT
    assert not joins(a, [b])


def test_two_buildings_of_one_compound_are_different_clues() -> None:
    a = report("林川苑22号楼", "林川苑22号楼居家观察人员天天下楼散步")
    b = report("林川苑5号楼", "林川苑5号楼居家观察人员天天下楼散步")
    assert not joins(a, [b])


def test_two_branches_of_one_chain_on_different_roads_are_different_places() -> None:
    a = report("仙霞路益寿堂药房", "仙霞路益寿堂药房口罩10元一只，疑似假冒，要求查处。")
    b = report("天山路益寿堂药房", "天山路益寿堂药房口罩10元一只，疑似假冒，要求查处。")
    assert matching.place_match(a, b) == matching.CONFLICT


def test_a_firm_named_without_its_trade_word_is_the_same_firm() -> None:
    a = report("江桥 顺通物流", "顺通物流江桥仓 分拣线上人挨人 口罩要自己买 没人测温")
    b = report(
        "嘉定区江桥镇", "市民致电称江桥镇一家物流公司（顺通）仓库员工上百人同时上班，未测温。"
    )
    assert matching.place_match(a, b) == matching.SAME
    assert joins(b, [a])


def test_a_road_address_near_two_compounds_of_one_root_ties_to_neither() -> None:
    miao = [report("闻喜苑", "闻喜苑东门装修队随便进出，保安不登记")]
    xincun = [report("闻喜新村", "闻喜新村大门口无人值守，菜贩随便进来")]
    new = report("闻喜路251弄", "闻喜路251弄小区门口不登记不测温，外来人员随便进")
    assert matching.place_match(new, miao[0]) == matching.NEAR
    assert matching.best_case(new, [(1, miao), (2, xincun)]) is None
    assert matching.best_case(new, [(1, miao)]) is not None


def test_the_same_problem_at_the_same_place_joins_and_another_problem_does_not() -> None:
    gate = report("A1小区", "市民来电反映：A1小区门口保安不查出入证，外来人员随便进出。")
    again = report("A1小区1号楼", "我住A1小区，门卫根本不管，谁都能进来，太吓人了")
    cards = report("A1小区", "A1小区活动室天天有人打麻将，十几个人聚在一起不戴口罩")
    assert joins(again, [gate])
    assert not joins(cards, [gate])


def test_two_placeless_reports_join_only_on_a_shared_rare_word_or_most_of_the_wording() -> None:
    """The same complaint from two people who say nowhere is not one clue, however sure the
    pair model is; a forwarded copy is. (A model that would join any pair shows the rule.)"""
    import dataclasses

    eager = dataclasses.replace(classifier.current(), merge_bias=50.0)
    first = report("", "我的随申码突然变成黄码了，我一直在家没出过门，找谁都说不清楚。")
    other = report("", "健康码显示黄色，本人春节没有离开上海，要求说明原因。")
    copy = report("", "我的随申码突然变成黄码了，一直在家没出过门，找谁都说不清楚。")
    assert matching.best_case(other, [(1, [first])], eager) is None
    assert matching.best_case(copy, [(1, [first])], eager) is not None
    placed = report("A1小区", "A1小区健康码显示黄色，本人春节没有离开上海。")
    assert matching.best_case(placed, [(1, [first])], eager) is not None
