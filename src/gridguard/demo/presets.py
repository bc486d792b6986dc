"""How big a demo city is: one district for a laptop, all of Shanghai for the load test."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Scale:
    """Counts per level. Ranges are inclusive (lo, hi) and drawn from the seeded generator."""

    name: str
    districts: int = 1
    streets: int = 8  # in all, spread evenly over the districts
    townships: int = 1  # of those streets, how many are townships with villages
    committees_per_street: tuple[int, int] = (8, 9)
    compounds_per_committee: tuple[int, int] = (2, 3)
    # Chance of one compound more than the low end (keeps Shanghai's 13,000+ steady).
    extra_compound_chance: float = 0.0
    gates_per_compound: tuple[int, int] = (2, 4)
    # Per-place detail (buildings, building groups, shops, roads…). Off for the city preset.
    detail: bool = True
    buildings_per_compound: tuple[int, int] = (4, 8)
    checkpoints_per_district: int = 4
    pharmacies_per_street: int = 2
    grid_cells_per_committee: int = 2
    people: int = 200  # staff on duty: grid workers and gate volunteers
    residents_per_compound: tuple[int, int] = (40, 80)
    # Share of residents who arrived as travellers over the demo period, and of those how
    # many are in (or finished) home observation.
    traveller_share: float = 0.06

    def with_people(self, people: int | None) -> Scale:
        return self if people is None else replace(self, people=people)


PRESETS: dict[str, Scale] = {
    # One district (Huangpu-sized): ~60 committees, ~150 compounds; seconds on SQLite.
    "default": Scale(name="default"),
    # Shanghai in 2020: 16 districts, 215 streets/townships, 6,000+ residents' committees,
    # 13,000+ compounds with 2-6 entrances each. Territory only, no per-building detail.
    "shanghai": Scale(
        name="shanghai",
        districts=16,
        streets=215,
        townships=0,
        committees_per_street=(28, 28),
        compounds_per_committee=(2, 2),
        extra_compound_chance=0.2,
        gates_per_compound=(2, 6),
        detail=False,
        checkpoints_per_district=10,
        pharmacies_per_street=1,
        grid_cells_per_committee=1,
        people=400,
        residents_per_compound=(6, 8),
        traveller_share=0.01,
    ),
}
