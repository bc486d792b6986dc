"""The demo territory as plain rows, computed in memory from a seed (no database touched).

Keeping the plan apart from the load lets tests count a whole Shanghai without loading it, and
lets the benchmark time generation and loading separately.
"""

from __future__ import annotations

import random
from decimal import Decimal

from gridguard.demo import names as N
from gridguard.demo.presets import Scale
from gridguard.territory.bulk import AreaRow

# Shanghai's centre; districts are laid out on a grid around it.
_LAT0, _LON0 = 31.23, 121.47


def _deg(v: float) -> Decimal:
    return Decimal(f"{v:.6f}")


class _Planner:
    def __init__(self, scale: Scale, rnd: random.Random) -> None:
        self.s = scale
        self.rnd = rnd
        self.rows: list[AreaRow] = []

    def add(
        self,
        code: str,
        name: str,
        kind: str,
        parent: AreaRow | None,
        spread: float = 0.0,
        **extra: object,
    ) -> AreaRow:
        lat = float(parent.latitude) if parent and parent.latitude is not None else _LAT0
        lon = float(parent.longitude) if parent and parent.longitude is not None else _LON0
        if spread:
            lat += self.rnd.uniform(-spread, spread)
            lon += self.rnd.uniform(-spread, spread)
        row = AreaRow(
            code=code,
            name=name,
            kind=kind,
            parent_code=parent.code if parent else None,
            latitude=_deg(lat),
            longitude=_deg(lon),
            **extra,  # type: ignore[arg-type]
        )
        self.rows.append(row)
        return row

    def city(self) -> list[AreaRow]:
        city = self.add(N.CITY[0], N.CITY[1], "city", None)
        s, rnd = self.s, self.rnd
        per, rest = divmod(s.streets, s.districts)
        for i, (code, name) in enumerate(N.DISTRICTS[: s.districts]):
            district = self.add(code, name, "district", city, spread=0.25 if s.districts > 1 else 0)
            n_streets = per + (1 if i < rest else 0)
            townships = min(s.townships, n_streets)
            street_words = N.words(rnd, n_streets)
            for j in range(n_streets):
                if j >= n_streets - townships:
                    k = j - (n_streets - townships) + 101  # townships are 1xx in the scheme
                    self.township(district, f"{code}{k:03d}", street_words[j] + "镇")
                else:
                    self.street(district, f"{code}{j + 1:03d}", street_words[j] + "路街道")
            for k in range(1, s.checkpoints_per_district + 1):
                kind_name = rnd.choice(["道口", "卡点", "高速道口", "检查站"])
                self.add(f"{code}K{k:02d}", N.word(rnd) + kind_name, "checkpoint", district, 0.05)
        return self.rows

    def street(self, district: AreaRow, code: str, name: str) -> None:
        s, rnd = self.s, self.rnd
        street = self.add(code, name, "street", district, spread=0.06)
        n_comm = rnd.randint(*s.committees_per_street)
        for j, w in enumerate(N.words(rnd, n_comm), start=1):
            self.committee(street, f"{code}{j:03d}", w + "居委")
        for p in range(1, s.pharmacies_per_street + 1):
            self.add(
                f"{code}P{p:02d}",
                rnd.choice(N.PHARMACY_BRANDS) + f"（{N.word(rnd)}店）",
                "pharmacy",
                street,
                0.01,
            )
        if s.detail:
            self.street_places(street)

    def street_places(self, street: AreaRow) -> None:
        rnd, code = self.rnd, street.code
        for r in (1, 2):
            road = self.add(
                f"{code}R{r:02d}", N.word(rnd) + rnd.choice(N.ROAD_SUFFIX), "road", street, 0.01
            )
            for k in range(1, rnd.randint(2, 3) + 1):
                self.add(
                    f"{road.code}S{k:03d}",
                    f"{road.name}{rnd.randint(1, 999)}号" + rnd.choice(N.SHOP_TRADES),
                    "shop",
                    road,
                    0.002,
                )
        block = self.add(f"{code}J01", N.word(rnd) + "街区", "block", street, 0.01)
        for k in (1, 2):
            self.add(
                f"{block.code}S{k:03d}",
                N.word(rnd) + rnd.choice(N.SHOP_TRADES),
                "shop",
                block,
                0.002,
            )
        office = self.add(
            f"{code}O01", N.word(rnd) + rnd.choice(N.OFFICE_SUFFIX), "office_building", street, 0.01
        )
        self.add(f"{office.code}G01", office.name + "正门", "gate", office)
        market = self.add(
            f"{code}M01", N.word(rnd) + rnd.choice(N.MARKET_SUFFIX), "market", street, 0.01
        )
        self.add(f"{market.code}G01", market.name + "入口", "gate", market)
        for e in (1, 2):
            ent = self.add(
                f"{code}E{e:02d}",
                "上海" + N.word(rnd) + rnd.choice(N.ENTERPRISE_SUFFIX),
                "enterprise",
                street,
                0.01,
            )
            self.add(f"{ent.code}G01", ent.name[:20] + "大门", "gate", ent)

    def committee(self, street: AreaRow, code: str, name: str) -> None:
        s, rnd = self.s, self.rnd
        committee = self.add(code, name, "committee", street, spread=0.01)
        n = rnd.randint(*s.compounds_per_committee)
        if s.extra_compound_chance and rnd.random() < s.extra_compound_chance:
            n += 1
        for c, w in enumerate(N.words(rnd, n), start=1):
            households = rnd.randint(200, 1500)
            compound = self.add(
                f"{code}C{c:03d}",
                w + rnd.choice(N.COMPOUND_SUFFIX),
                "compound",
                committee,
                spread=0.004,
                address=f"{N.word(rnd)}路{rnd.randint(1, 1500)}弄",
                households=households,
                population=int(households * 2.6),
            )
            n_gates = rnd.randint(*s.gates_per_compound)
            for g in range(1, n_gates + 1):
                gate = self.add(
                    f"{compound.code}G{g:02d}",
                    compound.name + N.GATE_NAMES[g - 1],
                    "gate",
                    compound,
                    spread=0.0005,
                )
                if s.detail and g == 1:
                    self.add(f"{gate.code}V01", gate.name + "摄像头", "camera", gate)
            if s.detail:
                self.buildings(compound)

    def buildings(self, parent: AreaRow) -> None:
        rnd = self.rnd
        for b in range(1, rnd.randint(*self.s.buildings_per_compound) + 1):
            building = self.add(
                f"{parent.code}B{b:03d}", f"{parent.name}{b}号楼", "building", parent, spread=0.0005
            )
            for u in range(1, rnd.randint(1, 2) + 1):
                self.add(
                    f"{building.code}U{u}",
                    f"{building.name}{u}单元楼组",
                    "building_group",
                    building,
                )

    def township(self, district: AreaRow, code: str, name: str) -> None:
        s, rnd = self.s, self.rnd
        town = self.add(code, name, "township", district, spread=0.06)
        n = rnd.randint(*s.committees_per_street)
        for j, w in enumerate(N.words(rnd, n), start=1):
            if j <= n // 2:  # a township has residents' committees in its town centre…
                self.committee(town, f"{code}{j:03d}", w + "居委")
                continue
            village = self.add(f"{code}{200 + j:03d}", w + "村", "village", town, spread=0.02)
            for z in range(1, rnd.randint(2, 3) + 1):
                group = self.add(
                    f"{village.code}Z{z:02d}",
                    f"{village.name}{z}组",
                    "village_group",
                    village,
                    spread=0.003,
                )
                if s.detail:
                    self.buildings(group)
        for p in range(1, s.pharmacies_per_street + 1):
            self.add(
                f"{code}P{p:02d}",
                rnd.choice(N.PHARMACY_BRANDS) + f"（{name}店）",
                "pharmacy",
                town,
                0.01,
            )


def plan_territory(scale: Scale, rnd: random.Random) -> list[AreaRow]:
    """Every area of the demo city, parents before children, as rows for bulk_load_areas."""
    return _Planner(scale, rnd).city()
