"""The demo city's people and health data: residents in every compound, valid identities."""

from __future__ import annotations

import pytest
from django.db.models import Count

from gridguard.accounts.models import User
from gridguard.people.identity import check_identity
from gridguard.people.models import Household, KeyPersonFlag, Person
from gridguard.territory.models import Area
from tests.demo.test_demo import _demo

pytestmark = pytest.mark.django_db


def test_every_compound_has_households_and_residents_with_valid_ids() -> None:
    _demo("--seed", "7", "--people", "20")
    compounds = Area.objects.filter(kind="compound")
    households_per_compound = {
        c.pk: Household.objects.filter(area__path__startswith=c.path).count() for c in compounds
    }
    assert compounds.exists() and all(households_per_compound.values())
    persons = list(Person.objects.all())
    assert len(persons) >= 40 * compounds.count()
    # Every number passes the same check the forms use, and each identity is unique.
    sample = persons[:: max(1, len(persons) // 500)]
    for p in sample:
        assert check_identity(p.id_type, p.id_number).birth_date == p.birth_date
    assert len({p.id_number for p in persons}) == len(persons)
    # Residents live in the compound's buildings, with their household.
    assert not Person.objects.filter(household__isnull=True, registrations__isnull=True).exists()
    sizes = Person.objects.filter(household__isnull=False).values("household")
    assert not sizes.annotate(n=Count("id")).filter(n__gt=4).exists()
    assert KeyPersonFlag.objects.filter(category="elderly_alone").exists()
    resident = User.objects.get(username="resident")
    assert Person.objects.get(user=resident).area.path.startswith(
        Area.objects.get(code=resident.role_bindings.get().area.code).path
    )


def test_travellers_observations_and_checkins_in_every_state() -> None:
    from gridguard.health.models import (
        CheckIn,
        FollowUpTask,
        ObservationAlert,
        ObservationOrder,
        TravellerRegistration,
    )

    _demo("--seed", "7", "--people", "20")
    regs = TravellerRegistration.objects.all()
    assert regs.filter(from_key_area=True).exists() and regs.filter(from_key_area=False).exists()
    assert regs.filter(match_status="unmatched").exists()
    # Every unmatched registration waits at a street; every matched one at a compound.
    assert (
        not regs.filter(match_status="unmatched")
        .exclude(area__kind__in=["street", "township"])
        .exists()
    )
    assert not regs.filter(match_status="matched").exclude(area__kind="compound").exists()
    for r in regs[:50]:
        assert check_identity(r.id_type, r.id_number)
    assert set(FollowUpTask.objects.values_list("status", flat=True)) == {"open", "done"}
    assert not FollowUpTask.objects.exclude(
        area__kind__in=["committee", "village", "street", "township"]
    ).exists()
    assert set(ObservationOrder.objects.values_list("status", flat=True)) == {"active", "released"}
    assert CheckIn.objects.count() > 10 * ObservationOrder.objects.filter(status="released").count()
    assert set(ObservationAlert.objects.values_list("kind", flat=True)) >= {"missed"}
    assert (
        CheckIn.objects.filter(temperature__gte=37.3).exists()
        or ObservationAlert.objects.filter(kind="fever").exists()
    )


def test_pharmacy_purchases_and_mask_reservations() -> None:
    from django.db.models import F

    from gridguard.health.models import (
        FeverMedicinePurchase,
        FollowUpTask,
        MaskQuotaDay,
        MaskReservation,
    )

    _demo("--seed", "7", "--people", "20")
    purchases = FeverMedicinePurchase.objects.all()
    assert purchases.exists() and not purchases.exclude(area__kind="pharmacy").exists()
    # Each purchase is followed up at the buyer's committee.
    for p in purchases[:20]:
        task = FollowUpTask.objects.get(source=f"purchase:{p.pk}")
        assert p.buyer.area.path.startswith(task.area.path) and task.area.kind == "committee"
    statuses = set(MaskReservation.objects.values_list("status", flat=True))
    assert statuses == {"reserved", "picked_up", "expired"}
    assert not MaskQuotaDay.objects.filter(reserved__gt=F("quota")).exists()


def test_every_person_has_a_code_and_observed_ones_are_not_green() -> None:
    from gridguard.health.models import HealthCode, ObservationOrder

    _demo("--seed", "7", "--people", "20")
    assert HealthCode.objects.count() == Person.objects.count()
    observed = ObservationOrder.objects.filter(status="active").values("person_id")
    assert not HealthCode.objects.filter(person_id__in=observed, colour="green").exists()
    assert HealthCode.objects.filter(colour="green").exists()
