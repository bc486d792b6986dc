"""Property: for any set of facts and any colours given to the rules, the code's colour is the
worst colour of the rules whose fact holds, and its reasons are exactly those rules, by
priority."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridguard.core import clock
from gridguard.health.models import SEVERITY, Colour, HealthCodeRule
from gridguard.health.services import codes
from gridguard.people.models import Person
from tests.codes.test_rules import CASES, T0
from tests.conftest import City

FACTS: dict[str, Callable[[Person, City], object]] = {rule: make for rule, _c, make, _e in CASES}
# Facts whose maker releases an observation order: each needs its own order, and a second
# active order would break the one-active-order constraint, so in-observation comes last.
COLOURS = st.sampled_from(Colour.values)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    present=st.sets(st.sampled_from(sorted(FACTS))),
    colours=st.fixed_dictionaries({rule: COLOURS for rule in FACTS}),
)
def test_colour_is_the_worst_holding_rule(
    city: City, present: set[str], colours: dict[str, str]
) -> None:
    with transaction.atomic():
        for rule, colour in colours.items():
            HealthCodeRule.objects.filter(code=rule).update(colour=colour)
        p = Person.objects.create(
            area=city["compound_a1"], id_type="passport", id_number="E7777777", name="李"
        )
        with clock.frozen(T0):
            for rule in sorted(present, key=lambda r: r == "in-observation"):
                FACTS[rule](p, city)
            result = codes.recompute([p.pk])[p.pk]
        expected = max(
            (colours[r] for r in present), key=lambda c: SEVERITY[Colour(c)], default="green"
        )
        assert result.colour == expected
        priorities = dict(HealthCodeRule.objects.values_list("code", "priority"))
        assert [r["rule"] for r in result.reasons] == sorted(present, key=priorities.__getitem__)
        assert result.expires_at is not None
        assert result.expires_at <= T0 + dt.timedelta(hours=24)
        transaction.set_rollback(True)
