"""The demo generator's extension point: an ordered registry of steps sharing one context.

A capability adds its demo data by writing a function in its own module:

    @demo_step(order=300, name="passes")
    def passes(ctx: DemoContext) -> None:
        for compound in ctx.kind("compound"): ...

and importing that module from `gridguard.demo.steps`. Steps run in `order`, each in its own
transaction, with the seeded `ctx.rnd` and `ctx.fake` (so the same seed gives the same city as
long as the steps before it draw the same numbers).
"""

from __future__ import annotations

import os
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from faker import Faker

from gridguard.demo.presets import Scale

# A fixed, documented default so a fresh checkout can log in; set GRIDGUARD_DEMO_PASSWORD on
# any machine others can reach.
DEFAULT_DEMO_PASSWORD = "GridGuard-Demo-2020"  # noqa: S105 - documented demo password


def demo_password() -> str:
    """The password of every demo login."""
    return os.environ.get("GRIDGUARD_DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD


@dataclass
class Login:
    """One demo login, for the table printed at the end."""

    username: str
    role: str
    area_name: str
    area_code: str


@dataclass
class DemoContext:
    """What the steps share: the seeded generators, the scale, and what was made so far."""

    scale: Scale
    seed: int
    password: str = field(default_factory=demo_password)
    rnd: random.Random = field(init=False)
    fake: Faker = field(init=False)
    areas: list[Any] = field(default_factory=list)  # every Area, in path order
    by_kind: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    by_code: dict[str, Any] = field(default_factory=dict)
    key: dict[str, Any] = field(default_factory=dict)  # named areas: "street_1", "gate_1" …
    users: dict[str, Any] = field(default_factory=dict)  # username -> User
    logins: list[Login] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    log: Callable[[str], None] = print

    def __post_init__(self) -> None:
        self.rnd = random.Random(self.seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(self.seed)

    def kind(self, kind: str) -> list[Any]:
        """The areas of one kind made so far, in path order."""
        return self.by_kind.get(kind, [])

    def set_areas(self, areas: list[Any]) -> None:
        """Replace the known areas (after the territory is loaded)."""
        self.areas = areas
        self.by_kind = defaultdict(list)
        for a in areas:
            self.by_kind[a.kind].append(a)
        self.by_code = {a.code: a for a in areas}

    def children(self, area: Any, kind: str) -> list[Any]:
        """Direct children of `area` of one kind."""
        return [a for a in self.kind(kind) if a.parent_id == area.pk]


@dataclass(frozen=True)
class Step:
    order: int
    name: str
    fn: Callable[[DemoContext], None]


_STEPS: dict[str, Step] = {}


def demo_step(*, order: int, name: str) -> Callable[[Callable[[DemoContext], None]], Any]:
    """Register a demo step; a second step with the same name replaces the first."""

    def register(fn: Callable[[DemoContext], None]) -> Callable[[DemoContext], None]:
        _STEPS[name] = Step(order, name, fn)
        return fn

    return register


def steps() -> list[Step]:
    """Registered steps in run order (importing gridguard.demo.steps registers ours)."""
    import gridguard.demo.steps  # noqa: F401 - registers the built-in steps

    return sorted(_STEPS.values(), key=lambda s: (s.order, s.name))


def run_demo(ctx: DemoContext, only: set[str] | None = None) -> DemoContext:
    """Run every step (or the named ones) in order, one transaction each."""
    for step in steps():
        if only is not None and step.name not in only:
            continue
        t0 = time.perf_counter()
        # Each step draws from its own stream, seeded by the seed and its name: steps whose
        # draws depend on the time of day (slots already passed, shifts still ahead) must not
        # change what the later steps draw, or the same seed would not give the same city.
        ctx.rnd = random.Random(f"{ctx.seed}:{step.name}")
        with transaction.atomic():
            step.fn(ctx)
        ctx.timings[step.name] = time.perf_counter() - t0
    return ctx
