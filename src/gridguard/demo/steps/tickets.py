"""Demo citizen tickets (C1, C2): departments with their handlers, four weeks of tickets from
every channel, repeats of one clue merged into one case, and the cases handled.

The departments are the taxonomy's: every committee answers for itself, the city and every
district, street and township have a city-operations centre, and each district one office of
every other department. Each department has a handler.

The tickets are the labelled examples of the team's corpus (`data/tickets/corpus/`), told of
places of the demo city: a clue (one problem at one place) is reported once or, often, again
by other people through other channels within a few days, in other words. Nothing is written
directly: the weeks are replayed in time order with the clock set back, so every ticket goes
through the one intake path (`intake.receive_many`) at the time a hotline connector would
have sent it, and each case is triaged, answered, rated and closed through the handling
services at the time it happened: the deadlines, history, queues and daily reports read as
they would in a real month. Some cases are answered late, some not at all (overdue). The
deadline job is not replayed: the worker reminds and escalates the overdue cases when it runs.

Every random draw is made while planning, before the replay, so the same seed draws the same
tickets whatever the time of day the demo is run (those still ahead of now are left out).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import itertools
import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from gridguard.accounts.models import RoleBinding, User
from gridguard.accounts.roles import Role
from gridguard.core import audit, clock
from gridguard.core.scoping import SYSTEM
from gridguard.demo import names as N
from gridguard.demo.registry import DemoContext, Login, demo_step
from gridguard.demo.steps.people import bulk_staff, password_hash, phone
from gridguard.territory.address_match import forget_index
from gridguard.tickets import classifier, places, taxonomy
from gridguard.tickets.models import Case, CaseStatus, Channel, Department, Ticket
from gridguard.tickets.selectors.report import RISING_MIN
from gridguard.tickets.services import handling, intake
from gridguard.tickets.services.reports import store_report

DAYS = 28  # how far back tickets go
REPORT_DAYS = 7  # daily reports stored for the last week (the report page opens on yesterday)
CLUES_PER_STREET_DAY = 1.0  # new clues a day per street or township, before the day's curve
MAX_CLUES_PER_DAY = 80  # caps the city preset (215 streets): its replay then takes ~30 s
INTAKE_HOURS = (12, 24)  # the hotline connectors send what came in twice a day (Shanghai time)
OPERATOR = "hotline_12345"
OPS_HANDLER = "ops_handler"

# How often each subclass is reported (Shanghai, February 2020: gates, returnees, masks and
# the rules ask most).
# fmt: off
WEIGHTS = {
    "S01": 6, "S02": 3, "S03": 3, "S04": 3, "S05": 2, "S06": 2, "S07": 6, "S08": 3,
    "S09": 4, "S10": 3, "S11": 2, "S12": 1, "S13": 2, "S14": 2, "S15": 2, "S16": 2,
    "S17": 2, "S18": 2, "S19": 2, "S20": 5, "S21": 4, "S22": 3, "S23": 2, "S24": 2,
    "S25": 1, "S26": 2, "S27": 2, "S28": 1, "S29": 2, "S30": 1, "S31": 4, "S32": 3,
}
# fmt: on
# Health-code trouble rises over the last three days, so the report has a rising topic to show:
# a third more clues a day, at least the report's threshold.
RISING = ("S32", 3, 1 / 3)  # subclass, last days, share of the day's clues added
# Where the problem of a subclass is; subclasses not named here name at most a street.
WHERE = {
    **dict.fromkeys(("S01", "S02", "S07", "S08", "S09", "S10", "S11", "S12", "S19", "S24"), "home"),
    **dict.fromkeys(("S04", "S18", "S21", "S29"), "public"),
    **dict.fromkeys(("S03", "S13", "S14", "S15"), "work"),
    "S05": "home",
    "S20": "pharmacy",
    "S27": "checkpoint",
}
# Territory kinds of each kind of place, the first that has places is used.
POOLS = {
    "home": (("compound",),),
    "public": (("market", "shop"), ("compound",)),
    "work": (("office_building", "enterprise"), ("compound",)),
    "pharmacy": (("pharmacy",), ("market", "shop"), ("compound",)),
    "checkpoint": (("checkpoint",),),
}
# Which channel a subclass comes through: the citizen hotline takes everything, the health
# hotline health matters, the construction hotline housing and hygiene.
HEALTH = {"S07", "S09", "S10", "S22", "S23", "S24"}
HOUSING = {"S02", "S05", "S11", "S12"}
REPEATS = (1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4)  # reports of one placed clue
# Share of its deadline a department takes to answer: most in time, some late, a few never.
ON_TIME, LATE = 0.72, 0.20

# The departments' answers, by taxonomy class (what a reporter is sent).
REPLIES = {
    "C01": "居委会已督促物业加强门岗值守，落实出入证查验和测温，电梯楼道每日消毒并公示记录。",
    "C02": "街道已上门检查该单位，督促落实员工测温、佩戴口罩和错峰就餐，并将跟踪复查。",
    "C03": "城运中心已派员现场核查，督促经营管理方落实测温和佩戴口罩要求，卫生问题已安排清运消杀。",
    "C04": "感谢您的建议，已转交街道防控工作组研究，相关措施将结合实际逐步完善。",
    "C05": "居委会已上门核实，相关人员已完成登记并落实居家健康观察；外来人员登记可到居委会办理。",
    "C06": "社区卫生服务中心已会同居委会上门，重申居家观察要求，并安排专人代购物资、上门收垃圾。",
    "C07": "房管部门已会同街道上门检查，责令整改群租问题，督促房东落实人员登记。",
    "C08": "房管部门已核查该处短租情况，要求暂停接待外来人员并落实登记。",
    "C09": "经信部门已会同街道核查，该企业未经备案已责令停工，符合条件后方可复工。",
    "C10": "人社部门已约谈企业，告知疫情期间工资支付和休假的有关规定，督促企业依法处理。",
    "C11": "经信部门已答复租金减免和惠企政策的适用条件与申请渠道，详见区政府网站公告。",
    "C12": "派出所已到场劝散聚集人员，并对组织者进行批评教育。",
    "C13": "商务部门已协调增加供应网点和投放量；口罩预约请按公布的时段在指定药店登记。",
    "C14": "卫生健康部门已联系来电人，告知就近发热门诊和慢病长处方配药的安排。",
    "C15": "民政部门已会同居委会落实独居老人每日联系和助餐送餐服务。",
    "C16": "教育部门已答复入学政策和延期开学、线上教学的安排，详见区教育局通知。",
    "C17": "交通部门已核查道口通行和公共交通防护情况，督促运营单位落实消毒和佩戴口罩要求。",
    "C18": "市场监管部门已立案调查，对哄抬价格和销售假冒防护用品的行为依法查处。",
    "C19": "公安机关已核查，相关信息系谣言，已依法处置，请以官方发布为准。",
    "C20": "城运中心已答复防控政策口径；健康码或出入证的问题已协调核实更正。",
}
PRAISE = ["处理很及时，谢谢。", "门口已经有人管了，满意。", "回复清楚。", ""]
COMPLAINTS = ["回复太笼统，问题还在。", "到现在没人来看过。", "处理太慢了。"]
# District offices named otherwise than the taxonomy's department name.
OFFICE_NAMES = {"police": "公安分局", "health": "卫生健康委"}

# Examples that name a place elsewhere in Shanghai (a district, a road and number, a named
# estate, street or town) would contradict the demo place they are given.
_ELSEWHERE = re.compile(
    "|".join(["上海", "浦东", *(name.removesuffix("区") for _, name in N.DISTRICTS)])
    + r"|[路街]\d+[弄号]|[\u4e00-\u9fa5]{2}(新村|街道|镇(?![上里]))"
)
# A hotline's own prefix ("12320转来：") on an example that another hotline passes on.
_HOTLINE_PREFIX = re.compile(r"^(12345|12319|12320)[^：:，,]{0,8}[：:]")


@dataclass
class Fate:
    """What happens to the case a ticket opens, drawn while planning."""

    triage_after: dt.timedelta
    answer_share: float | None  # share of the deadline taken to answer; None: not answered
    close_after: dt.timedelta | None  # after the answer; None: left answered


@dataclass
class PlannedTicket:
    """One ticket as a channel will send it, with what the demo knows about it."""

    at: dt.datetime
    channel: str
    text: str
    place: str
    subclass: str  # the example's label: what an operator decides in triage
    reporter_name: str
    reporter_phone: str
    reporter: User | None
    fate: Fate
    rating: int | None
    comment: str
    rate_after: dt.timedelta
    ref: str = ""


@cache
def corpus() -> dict[str, dict[str, list[str]]]:
    """The corpus's example texts by subclass and voice, without those naming other places."""
    out: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted((classifier.DATA_DIR / "corpus").glob("S*.jsonl")):
        for row in classifier.read_jsonl(path):
            text = str(row.get("text") or "").strip()
            if len(text) < intake.MIN_TEXT or _ELSEWHERE.search(text):
                continue
            out[str(row["subclass"])][str(row.get("voice") or "operator")].append(text)
    return {s: dict(v) for s, v in out.items()}


@demo_step(order=800, name="tickets")
def tickets(ctx: DemoContext) -> None:
    """Departments and handlers, then four weeks of tickets replayed through intake and
    handling, and the daily reports of the last week."""
    if not ctx.kind("district") or not corpus():
        return
    forget_index()  # the territory was bulk-loaded: the address index is read afresh
    departments = _departments(ctx)
    operator = _people(ctx, departments)
    now = clock.now()
    planned = _plan(ctx, now)
    with _quiet_notifications(), audit.batched():
        done = _Replay(ctx, operator, now).run(planned)
    c = done
    cases = Case.objects.count()
    overdue = Case.objects.filter(status=CaseStatus.DISPATCHED, due_at__lt=now).count()
    merged = Ticket.objects.filter(merge_score__isnull=False).count()
    detail = {
        "departments": len(departments),
        "tickets": c["tickets"],
        "cases": cases,
        "merged": merged,
        "answered": c["answered"],
        "closed": c["closed"],
        "rated": c["rated"],
        "overdue": overdue,
        "reports": c["reports"],
    }
    audit.record(SYSTEM, "demo.tickets", detail=detail)
    ctx.log(
        f"tickets: {c['tickets']:,} tickets in {cases:,} cases ({merged:,} repeats merged), "
        f"{c['answered']:,} answered, {c['closed']:,} closed, {overdue:,} overdue; "
        f"{len(departments):,} departments, {c['reports']} daily reports"
    )


# --- departments and the people who handle tickets ------------------------------------------


def _departments(ctx: DemoContext) -> list[Department]:
    """The taxonomy's departments: committees at their committee, a city-operations centre at
    the city and every district, street and township, every other department's office at the
    district."""
    kinds = taxonomy.departments()
    city = ctx.key["city"]
    # The city operations centre (一网统管) takes what no district or street can be found for.
    rows = [Department(area=city, kind="street_ops", name=f"{city.name}城运中心")]
    for district in ctx.kind("district"):
        rows.append(Department(area=district, kind="street_ops", name=f"{district.name}城运中心"))
        for kind, name in kinds.items():
            if kind in ("street_ops", "committee"):
                continue
            office = OFFICE_NAMES.get(kind, name)
            rows.append(Department(area=district, kind=kind, name=district.name + office))
    for street in ctx.kind("street") + ctx.kind("township"):
        rows.append(Department(area=street, kind="street_ops", name=f"{street.name}城运中心"))
    for committee in ctx.kind("committee") + ctx.kind("village"):
        suffix = "会" if committee.name.endswith("居委") else "委会"
        rows.append(Department(area=committee, kind="committee", name=committee.name + suffix))
    Department.objects.bulk_create(rows, batch_size=2000)
    # Read back: keys are needed for the handlers, and not every database returns them.
    made = list(Department.objects.select_related("area").order_by("area__path", "kind"))
    audit.record(SYSTEM, "demo.departments", detail={"departments": len(made)})
    return made


def _people(ctx: DemoContext, departments: list[Department]) -> User:
    """The city's 12345 hotline operator, the street ops handler login, and one handler for
    every department (the demo's committee workers and department handler answer for their
    own). Returns the operator."""
    city = ctx.key["city"]
    operator = _login(ctx, OPERATOR, Role.HOTLINE_OPERATOR, city)
    mine: dict[tuple[str, int], User] = {}
    street = ctx.key["street_1"]
    mine[("street_ops", street.pk)] = _login(ctx, OPS_HANDLER, Role.DEPARTMENT_HANDLER, street)
    for username, kind, key in (
        ("committee_worker", "committee", "committee_1"),
        ("committee_worker_2", "committee", "committee_2"),
        ("department_handler", "health", "district_1"),
    ):
        user = ctx.users.get(username)
        if user is not None and key in ctx.key:
            mine[(kind, ctx.key[key].pk)] = user
    rest = [d for d in departments if (d.kind, d.area_id) not in mine]
    committees = [d for d in rest if d.kind == "committee"]
    offices = [d for d in rest if d.kind != "committee"]
    # A committee's own staff answer its tickets; other departments have a handler.
    staff = bulk_staff(ctx, "committee_staff", Role.COMMITTEE_WORKER, [d.area for d in committees])
    staff += bulk_staff(ctx, "ticket_handler", Role.DEPARTMENT_HANDLER, [d.area for d in offices])
    handlers = dict(zip([(d.kind, d.area_id) for d in committees + offices], staff, strict=True))
    handlers.update(mine)
    through = Department.handlers.through
    through.objects.bulk_create(
        [
            through(department_id=d.pk, user_id=handlers[(d.kind, d.area_id)].pk)
            for d in departments
        ],
        batch_size=2000,
    )
    return operator


def _login(ctx: DemoContext, username: str, role: str, area: Any) -> User:
    """A printed demo login, with the demo password hashed once (as the checkpoint official's)."""
    user = User.objects.create(
        username=username,
        password=password_hash(ctx),
        display_name=ctx.fake.name(),
        phone=phone(ctx),
    )
    RoleBinding.objects.create(user=user, role=role, area=area)
    audit.record(SYSTEM, "demo.staff.create", user, detail={"role": role})
    ctx.users[username] = user
    ctx.logins.append(Login(username, role, area.name, area.code))
    return user


# --- planning: every ticket and every fate, drawn up front ------------------------------------


@dataclass
class _Place:
    """A place tickets name: its name, the kind of place, its street's name and district."""

    name: str
    kind: str
    street: str
    district: Any


def _places(ctx: DemoContext) -> dict[str, list[_Place]]:
    """Places to report, by kind of place. Only places whose place key is theirs alone: two
    places people name alike would have their clues merged."""
    by_id = {a.pk: a for a in ctx.areas}

    def up(area: Any, kinds: tuple[str, ...]) -> Any:
        while area is not None and area.kind not in kinds:
            area = by_id.get(area.parent_id)
        return area

    owners: Counter[str] = Counter()
    candidates: dict[str, list[tuple[str, _Place]]] = defaultdict(list)
    for kind in sorted({k for pools in POOLS.values() for ks in pools for k in ks}):
        for area in ctx.kind(kind):
            strong = places.strong(places.keys(area.name))
            if not strong:
                continue
            owners[strong[0]] += 1
            street = up(area, ("street", "township"))
            street_name = street.name if street else ""
            place = _Place(area.name, kind, street_name, up(area, ("district",)))
            candidates[kind].append((strong[0], place))
    return {kind: [p for key, p in found if owners[key] == 1] for kind, found in candidates.items()}


def _pool(where: str, found: dict[str, list[_Place]]) -> list[_Place]:
    for kinds in POOLS[where]:
        pool = [p for k in kinds for p in found.get(k, [])]
        if pool:
            return pool
    return []


def _plan(ctx: DemoContext, now: dt.datetime) -> list[PlannedTicket]:
    """The tickets of the last DAYS days, oldest first, with their channel references."""
    rnd = ctx.rnd
    found = _places(ctx)
    streets = ctx.kind("street") + ctx.kind("township")
    by_id = {a.pk: a for a in ctx.areas}
    today = clock.today()
    codes = [s for s in WEIGHTS if s in corpus()]
    out: list[PlannedTicket] = []
    for back in range(DAYS - 1, -1, -1):
        day = today - dt.timedelta(days=back)
        # Tickets peak in the second week (returnees, masks) and fall on weekends.
        peak = 0.6 + 0.8 * math.exp(-(((DAYS - 1 - back - 8) / 7) ** 2))
        weekend = 0.75 if day.weekday() >= 5 else 1.0
        n = round(len(streets) * CLUES_PER_STREET_DAY * peak * weekend * rnd.uniform(0.8, 1.2))
        drawn = rnd.choices(codes, [WEIGHTS[s] for s in codes], k=min(n, MAX_CLUES_PER_DAY))
        if back < RISING[1]:
            drawn += [RISING[0]] * max(RISING_MIN, int(len(drawn) * RISING[2]))
        for subclass in drawn:
            out += _clue(ctx, day, subclass, found, streets, by_id)
    out += _residents_clue(ctx, today, found)
    out = sorted((t for t in out if t.at <= now), key=lambda t: t.at)
    seq: Counter[str] = Counter()
    for t in out:
        seq[t.channel] += 1
        t.ref = _reference(t.channel, clock.local(t.at).date(), seq[t.channel])
    return out


def _clue(
    ctx: DemoContext,
    day: dt.date,
    subclass: str,
    found: dict[str, list[_Place]],
    streets: list[Any],
    by_id: dict[int, Any],
) -> list[PlannedTicket]:
    """The reports of one clue: first on `day`; a clue at a named place often again, through
    other channels, by other people, in other words, within a few days."""
    rnd = ctx.rnd
    pool = _pool(WHERE[subclass], found) if subclass in WHERE else []
    named = bool(pool)
    if pool:
        where = rnd.choice(pool)
        reports = rnd.choice(REPEATS)
    else:
        street = rnd.choice(streets)
        # Questions and suggestions name the caller's street, or nothing.
        street_name = street.name if rnd.random() < 0.7 else ""
        where = _Place("", "", street_name, by_id[street.parent_id])
        reports = 1
    first = dt.datetime.combine(
        day, dt.time(rnd.choice(range(7, 23)), rnd.randrange(60)), tzinfo=clock.SHANGHAI
    )
    used: set[str] = set()
    texts: set[str] = set()
    out: list[PlannedTicket] = []
    for i in range(reports):
        at = first if i == 0 else _again(ctx, first)
        channel = _channel(ctx, subclass, used, suggestion=not named)
        used.add(channel)
        text = _text(ctx, subclass, channel, texts)
        text, place_text = _placed(ctx, text, channel, where, named=named)
        out.append(_ticket(ctx, at, channel, text, place_text, subclass))
    return out


def _again(ctx: DemoContext, first: dt.datetime) -> dt.datetime:
    """When someone else reports the clue again: in the daytime of the next few days."""
    day = first.date() + dt.timedelta(days=ctx.rnd.choice((0, 0, 1, 1, 2, 3)))
    at = dt.datetime.combine(
        day, dt.time(ctx.rnd.randint(7, 21), ctx.rnd.randrange(60)), tzinfo=clock.SHANGHAI
    )
    return at if at > first else first + dt.timedelta(minutes=ctx.rnd.randint(20, 120))


def _residents_clue(
    ctx: DemoContext, today: dt.date, found: dict[str, list[_Place]]
) -> list[PlannedTicket]:
    """The demo resident's own report from their compound's gate, three days ago, which
    neighbours repeat by phone the next day: their "my tickets" page has a case to follow."""
    resident = ctx.users.get("resident")
    compound = ctx.key.get("compound_1")
    if resident is None or compound is None:
        return []
    place = next((p for p in found.get("compound", []) if p.name == compound.name), None)
    if place is None:
        return []
    at = dt.datetime.combine(today - dt.timedelta(days=3), dt.time(20, 15), tzinfo=clock.SHANGHAI)
    texts: set[str] = set()
    text = _text(ctx, "S01", Channel.WEB, texts)
    own = _ticket(ctx, at, Channel.WEB, text, place.name, "S01")
    own.reporter, own.reporter_name, own.reporter_phone = resident, resident.display_name, ""
    own.rating = None  # left for the demo user to give
    own.fate.answer_share = 0.5
    out = [own]
    for hours in (13.5, 15.0):
        text = _text(ctx, "S01", Channel.CITIZEN_HOTLINE, texts)
        _, place_text = _placed(ctx, text, Channel.CITIZEN_HOTLINE, place, named=True)
        t = at + dt.timedelta(hours=hours)
        out.append(_ticket(ctx, t, Channel.CITIZEN_HOTLINE, text, place_text, "S01"))
    return out


def _channel(ctx: DemoContext, subclass: str, used: set[str], *, suggestion: bool) -> str:
    """A channel this subclass comes through, one not used yet for the clue where there is."""
    weights = {
        Channel.CITIZEN_HOTLINE: 5.0,
        Channel.HEALTH_HOTLINE: 4.0 if subclass in HEALTH else 0.3,
        Channel.CONSTRUCTION_HOTLINE: 3.0 if subclass in HOUSING else 0.0,
        Channel.WEB: 3.0,
        Channel.OPINION: 6.0 if subclass == "S06" else (2.0 if suggestion else 1.0),
    }
    fresh = {c: w for c, w in weights.items() if w and c not in used} or weights
    return str(ctx.rnd.choices(list(fresh), list(fresh.values()))[0])


def _text(ctx: DemoContext, subclass: str, channel: str, taken: set[str]) -> str:
    """An example of the subclass in a voice the channel carries, not one the clue has yet:
    hotlines send their operators' summaries, the web form residents' own words, the
    opinion platform suggestions (or residents' words)."""
    by_voice = corpus()[subclass]
    if channel in (Channel.CITIZEN_HOTLINE, Channel.HEALTH_HOTLINE, Channel.CONSTRUCTION_HOTLINE):
        voices: tuple[str, ...] = ("operator",)
    elif channel == Channel.WEB:
        voices = ("resident", "web")
    else:
        voices = ("suggestion", "resident")
    examples = [e for v in voices for e in by_voice.get(v, [])] or [
        e for es in by_voice.values() for e in es
    ]
    fresh = [e for e in examples if e not in taken] or examples
    text = ctx.rnd.choice(fresh)
    taken.add(text)
    if channel in (Channel.HEALTH_HOTLINE, Channel.CONSTRUCTION_HOTLINE):
        # The health and construction hotlines pass their calls on with their own prefix.
        text = f"{channel}转来：" + _HOTLINE_PREFIX.sub("", text)
    elif channel == Channel.CITIZEN_HOTLINE:
        m = _HOTLINE_PREFIX.match(text)
        if m and m.group(1) != Channel.CITIZEN_HOTLINE:
            text = text[m.end() :]
    return text


def _placed(
    ctx: DemoContext, text: str, channel: str, place: _Place, *, named: bool
) -> tuple[str, str]:
    """The text and place field as the channel records them: a hotline operator writes the
    full address, a resident on the web the place's own name, sometimes in the text itself."""
    district = place.district.name if place.district is not None else ""
    if channel == Channel.WEB:
        if named and ctx.rnd.random() < 0.4:
            return f"{place.name}，{text}", ""
        if place.kind != "compound" and ctx.rnd.random() < 0.5:
            # A shop or a market is found by its street (compounds by their own name).
            return text, place.street + place.name
        return text, place.name or place.street
    if channel == Channel.OPINION:
        return text, place.street + place.name
    return text, district + place.street + place.name


def _ticket(
    ctx: DemoContext,
    at: dt.datetime,
    channel: str,
    text: str,
    place: str,
    subclass: str,
) -> PlannedTicket:
    rnd = ctx.rnd
    roll = rnd.random()
    if roll < ON_TIME:
        share: float | None = rnd.uniform(0.1, 0.9)
    elif roll < ON_TIME + LATE:
        share = rnd.uniform(1.1, 2.5)
    else:
        share = None
    closes = rnd.random() < 0.7
    rates = rnd.random() < 0.45
    stars = rnd.choices((5, 4, 3, 2, 1), (45, 30, 12, 8, 5))[0]
    comment = rnd.choice(PRAISE) if stars >= 4 else rnd.choice(COMPLAINTS)
    anonymous = channel in (Channel.WEB, Channel.OPINION) and rnd.random() < 0.3
    rates = rates and not anonymous  # no one to send the answer to, no one to rate it
    return PlannedTicket(
        at=at.astimezone(dt.UTC),
        channel=channel,
        text=text,
        place=place,
        subclass=subclass,
        reporter_name="" if anonymous else ctx.fake.name(),
        reporter_phone="" if anonymous else phone(ctx),
        reporter=None,
        fate=Fate(
            triage_after=dt.timedelta(hours=rnd.uniform(1, 30)),
            answer_share=share,
            close_after=dt.timedelta(hours=rnd.uniform(24, 96)) if closes else None,
        ),
        rating=stars if rates else None,
        comment=comment,
        rate_after=dt.timedelta(hours=rnd.uniform(2, 48)),
    )


def _reference(channel: str, day: dt.date, n: int) -> str:
    """The channel's own reference number, as each channel writes them."""
    prefix = {
        Channel.CITIZEN_HOTLINE: "",
        Channel.CONSTRUCTION_HOTLINE: "JS",
        Channel.HEALTH_HOTLINE: "WJ",
        Channel.WEB: "WEB-",
        Channel.OPINION: "YJ-",
    }[Channel(channel)]
    return f"{prefix}{day:%y%m%d}{n:05d}"


# --- the replay ---------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_notifications() -> Iterator[None]:
    """The replay's replies to reporters are past: hundreds of log lines would hide the demo's
    own output."""
    logger = logging.getLogger("gridguard.notify")
    before = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(before)


def _batch_time(at: dt.datetime, now: dt.datetime) -> dt.datetime:
    """When the channel's connector sends a ticket received at `at` (never after now)."""
    local = clock.local(at)
    for hour in INTAKE_HOURS:
        if local.hour < hour:
            start = dt.datetime.combine(local.date(), dt.time.min, tzinfo=clock.SHANGHAI)
            return min(now, (start + dt.timedelta(hours=hour)).astimezone(dt.UTC))
    return now  # pragma: no cover - the last intake hour is midnight


class _Replay:
    """The weeks in time order: every action runs with the clock set to its moment."""

    def __init__(self, ctx: DemoContext, operator: User, now: dt.datetime) -> None:
        self.ctx = ctx
        self.operator = operator
        self.now = now
        self.queue: list[tuple[dt.datetime, int, str, Any]] = []
        self.order = itertools.count()
        self.plans: dict[int, PlannedTicket] = {}  # ticket pk -> its plan
        self.on_case: dict[int, list[Ticket]] = defaultdict(list)
        self.done: Counter[str] = Counter()  # what was done, for the log line

    def at(self, when: dt.datetime, action: str, payload: Any) -> None:
        """Do `action` at `when`, unless that is still ahead."""
        if when <= self.now:
            heapq.heappush(self.queue, (when, next(self.order), action, payload))

    def run(self, planned: list[PlannedTicket]) -> Counter[str]:
        # A district's hotline leaves what it cannot place at the district; a city-wide demo
        # keeps it at the city, so one intake a batch serves every district (each intake reads
        # the whole department directory: thousands of offices at city scale).
        districts = self.ctx.kind("district")
        home = districts[0] if len(districts) == 1 else self.ctx.key["city"]
        batches: dict[dt.datetime, list[PlannedTicket]] = defaultdict(list)
        for t in planned:
            batches[_batch_time(t.at, self.now)].append(t)
        for when, rows in batches.items():
            for i in range(0, len(rows), intake.MAX_BATCH):
                self.at(when, "intake", (home, rows[i : i + intake.MAX_BATCH]))
        today = clock.local(self.now).date()
        for back in range(REPORT_DAYS, 0, -1):
            day = today - dt.timedelta(days=back)
            morning = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(7), clock.SHANGHAI)
            self.at(morning, "report", day)
        while self.queue:
            when, _, action, payload = heapq.heappop(self.queue)
            with clock.frozen(when):
                getattr(self, action)(payload)
        return self.done

    def intake(self, payload: tuple[Any, list[PlannedTicket]]) -> None:
        """One connector batch through the intake, and what the new cases will go through."""
        home, rows = payload
        sent = [
            {
                "channel": t.channel,
                "channel_ref": t.ref,
                "received_at": clock.local(t.at).isoformat(timespec="seconds"),
                "text": t.text,
                "place": t.place,
                "reporter_name": t.reporter_name,
                "reporter_phone": t.reporter_phone,
                "reporter": t.reporter,
            }
            for t in rows
        ]
        outcomes = intake.receive_many(self.operator, sent, fallback_area=home)
        for t, outcome in zip(rows, outcomes, strict=True):
            if outcome.errors or outcome.ticket is None:
                raise ValueError(f"demo ticket refused: {outcome.errors}")
            ticket = outcome.ticket
            self.done["tickets"] += 1
            self.plans[ticket.pk] = t
            self.on_case[ticket.case.pk].append(ticket)
            if ticket.merge_score is not None:
                continue  # joined an open case: that case's fate is already drawn
            case = ticket.case
            if case.status == CaseStatus.TRIAGE:
                self.at(clock.now() + t.fate.triage_after, "triage", (case.pk, t))
            elif case.status == CaseStatus.DISPATCHED:
                self._plan_answer(case, t)

    def _plan_answer(self, case: Case, t: PlannedTicket) -> None:
        if t.fate.answer_share is None or case.dispatched_at is None or case.due_at is None:
            return
        self.at(
            case.dispatched_at + (case.due_at - case.dispatched_at) * t.fate.answer_share,
            "answer",
            (case.pk, t),
        )

    def triage(self, payload: tuple[int, PlannedTicket]) -> None:
        """The hotline operator decides a case the classifier was unsure of."""
        case_pk, t = payload
        case = Case.objects.select_related("area").get(pk=case_pk)
        if case.status != CaseStatus.TRIAGE:
            return
        case = handling.triage(self.operator, case, subclass=t.subclass)
        self.done["triaged"] += 1
        if case.status == CaseStatus.DISPATCHED:
            self._plan_answer(case, t)

    def answer(self, payload: tuple[int, PlannedTicket]) -> None:
        """The department's handler answers; reporters rate it, the operator closes it."""
        case_pk, t = payload
        case = Case.objects.select_related("area", "department").get(pk=case_pk)
        if case.status != CaseStatus.DISPATCHED or case.department is None:
            return
        handler = case.department.handlers.order_by("pk").first() or self.operator
        sub = taxonomy.subclass(case.subclass)
        reply = REPLIES.get(sub.class_code if sub else "", REPLIES["C20"])
        handling.answer(handler, case, reply=reply)
        self.done["answered"] += 1
        now = clock.now()
        for ticket in self.on_case[case_pk]:
            plan = self.plans[ticket.pk]
            if plan.rating is not None:
                self.at(now + plan.rate_after, "rate", ticket)
        if t.fate.close_after is not None:
            self.at(now + t.fate.close_after, "close", case_pk)

    def rate(self, ticket: Ticket) -> None:
        plan = self.plans[ticket.pk]
        handling.rate(ticket, rating=plan.rating, comment=plan.comment, actor=plan.reporter)
        self.done["rated"] += 1

    def close(self, case_pk: int) -> None:
        case = Case.objects.select_related("area").get(pk=case_pk)
        if case.status == CaseStatus.ANSWERED:
            handling.close(self.operator, case)
            self.done["closed"] += 1

    def report(self, day: dt.date) -> None:
        """The daily report of every district, stored the next morning as the job would."""
        for district in self.ctx.kind("district"):
            self.done["reports"] += int(store_report(SYSTEM, district, day)[1])
