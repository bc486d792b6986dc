"""Merging duplicate persons moves every related row; unmerge restores exactly."""

from __future__ import annotations

import pytest
from django.apps import apps

from gridguard.core.errors import InvalidInput, NotPermitted
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.people import merging
from gridguard.people.models import DuplicatePair, DuplicateStatus, Person, PersonMerge
from tests import factories
from tests.conftest import City
from tests.people import makers

pytestmark = pytest.mark.django_db


def _two(city: City) -> tuple[Person, Person]:
    keep = factories.person(city["compound_a1"], name="李娜")
    gone = factories.person(
        city["compound_a1"], name="李娜", id_type="passport", id_number="E12345678"
    )
    return keep, gone


def _snapshot(person: Person) -> dict[str, dict[str, list[int]]]:
    return merging.rows_pointing_at(person)


def test_merge_moves_every_related_row_and_unmerge_restores_exactly(city: City) -> None:
    keep, gone = _two(city)
    made = makers.one_of_each(gone, city)
    # The maker covers every relation any app has to Person (a new one fails here).
    labels = {r.related_model._meta.label_lower for r in merging.person_relations()}
    assert labels <= set(made), labels - set(made)
    before_keep, before_gone = _snapshot(keep), _snapshot(gone)
    assert before_keep == {}

    record = merging.merge(SYSTEM, (keep, gone))

    assert set(record.moved) == labels
    for label, pk in made.items():
        model = apps.get_model(label)
        field = next(f for f in record.moved[label])
        assert getattr(model.objects.get(pk=pk), f"{field}_id") == keep.pk, label
    assert _snapshot(gone) == {}
    gone.refresh_from_db()
    assert gone.merged_into_id == keep.pk

    merging.unmerge(SYSTEM, record)

    assert _snapshot(gone) == before_gone
    assert _snapshot(keep) == before_keep
    gone.refresh_from_db()
    record.refresh_from_db()
    assert gone.merged_into_id is None
    assert record.undone_at is not None


def test_unmerge_moves_back_only_the_recorded_rows(city: City) -> None:
    keep, gone = _two(city)
    own = factories.followup(keep, keep.area)
    theirs = factories.followup(gone, gone.area)
    record = merging.merge(SYSTEM, (keep, gone))
    later = factories.followup(keep, keep.area)  # made for the survivor after the merge
    merging.unmerge(SYSTEM, record)
    own.refresh_from_db()
    theirs.refresh_from_db()
    later.refresh_from_db()
    assert (own.person_id, theirs.person_id, later.person_id) == (keep.pk, gone.pk, keep.pk)


def test_survivor_keeps_its_health_code_and_the_merged_one_stays(city: City) -> None:
    keep, gone = _two(city)
    mine = makers.health_code(keep, "green")
    other = makers.health_code(gone, "red")
    record = merging.merge(SYSTEM, (keep, gone))
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.person_id == keep.pk
    assert other.person_id == gone.pk
    assert "health.healthcode" not in record.moved
    entry = AuditEntry.objects.get(action="person.merge")
    assert entry.detail["kept"] == {"health.healthcode": {"person": [other.pk]}}


def test_merged_health_code_moves_when_survivor_has_none(city: City) -> None:
    keep, gone = _two(city)
    code = makers.health_code(gone, "yellow")
    record = merging.merge(SYSTEM, (keep, gone))
    code.refresh_from_db()
    assert code.person_id == keep.pk
    merging.unmerge(SYSTEM, record)
    code.refresh_from_db()
    assert code.person_id == gone.pk


def test_two_active_observations_refuse_the_merge_and_write_nothing(city: City) -> None:
    keep, gone = _two(city)
    factories.order(keep)
    theirs = factories.order(gone)
    flag = makers.health_code(gone)
    with pytest.raises(InvalidInput) as exc:
        merging.merge(SYSTEM, (keep, gone))
    assert exc.value.errors[0].code == "conflict"
    theirs.refresh_from_db()
    flag.refresh_from_db()
    assert theirs.person_id == gone.pk and flag.person_id == gone.pk
    assert not PersonMerge.objects.exists()
    gone.refresh_from_db()
    assert gone.merged_into_id is None


def test_an_ended_observation_does_not_block_a_merge(city: City) -> None:
    keep, gone = _two(city)
    factories.order(keep)
    ended = factories.order(gone, status="ended")
    record = merging.merge(SYSTEM, (keep, gone))
    ended.refresh_from_db()
    assert ended.person_id == keep.pk
    assert record.moved["health.observationorder"] == {"person": [ended.pk]}


def test_two_valid_resident_ids_need_force_and_a_reason(city: City) -> None:
    keep = factories.person(city["compound_a1"])
    gone = factories.person(city["compound_a1"])
    with pytest.raises(InvalidInput) as exc:
        merging.merge(SYSTEM, (keep, gone))
    assert exc.value.errors[0].field == "force"
    with pytest.raises(InvalidInput):
        merging.merge(SYSTEM, (keep, gone), force=True)
    record = merging.merge(SYSTEM, (keep, gone), force=True, reason="号码录错")
    assert record.merged_id == gone.pk
    entry = AuditEntry.objects.get(action="person.merge")
    assert entry.detail["forced"] is True and entry.detail["reason"] == "号码录错"


def test_merge_through_a_pair_closes_it_and_undo_reopens_it(city: City) -> None:
    keep, gone = _two(city)
    pair = DuplicatePair.objects.create(first=keep, second=gone, reason="name_birth")
    user = city.users["committee_a1"]
    record = merging.merge(user, pair, survivor=gone.pk)
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.MERGED
    assert record.survivor_id == gone.pk and record.merged_id == keep.pk
    assert record.merged_by_id == user.pk
    merging.unmerge(user, record)
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.OPEN
    actions = list(AuditEntry.objects.order_by("pk").values_list("action", flat=True))
    assert actions[-2:] == ["person.merge", "person.unmerge"]


def test_survivor_must_be_in_the_pair(city: City) -> None:
    keep, gone = _two(city)
    other = factories.person(city["compound_a1"], id_type="passport", id_number="G0000001")
    pair = DuplicatePair.objects.create(first=keep, second=gone, reason="phone")
    with pytest.raises(InvalidInput) as exc:
        merging.merge(SYSTEM, pair, survivor=other.pk)
    assert exc.value.errors[0].code == "not_in_pair"


def test_merging_an_already_merged_record_is_refused(city: City) -> None:
    keep, gone = _two(city)
    third = factories.person(city["compound_a1"], id_type="passport", id_number="G7777777")
    merging.merge(SYSTEM, (keep, gone))
    with pytest.raises(InvalidInput) as exc:
        merging.merge(SYSTEM, (third, gone))
    assert exc.value.errors[0].code == "already_merged"


def test_undo_twice_is_refused(city: City) -> None:
    keep, gone = _two(city)
    record = merging.merge(SYSTEM, (keep, gone))
    merging.unmerge(SYSTEM, record)
    with pytest.raises(InvalidInput):
        merging.unmerge(SYSTEM, record)


def test_login_link_moves_to_the_survivor_and_back(city: City) -> None:
    keep, gone = _two(city)
    resident = city.users["resident_a1"]
    Person.objects.filter(user=resident).update(user=None)
    gone.user = resident
    gone.save()
    record = merging.merge(SYSTEM, (keep, gone))
    keep.refresh_from_db()
    assert keep.user_id == resident.pk
    merging.unmerge(SYSTEM, record)
    keep.refresh_from_db()
    gone.refresh_from_db()
    assert keep.user_id is None and gone.user_id == resident.pk


def test_resolve_follows_the_chain(city: City) -> None:
    keep, gone = _two(city)
    merging.merge(SYSTEM, (keep, gone))
    gone.refresh_from_db()
    assert merging.resolve(gone) == keep


def test_merge_announces_both_persons(city: City) -> None:
    from gridguard.people.signals import facts_changed

    seen: list[list[int]] = []

    def listen(sender: type, person_ids: list[int], **kw: object) -> None:
        seen.append(person_ids)

    facts_changed.connect(listen, dispatch_uid="test-merge-listen")
    try:
        keep, gone = _two(city)
        record = merging.merge(SYSTEM, (keep, gone))
        merging.unmerge(SYSTEM, record)
    finally:
        facts_changed.disconnect(dispatch_uid="test-merge-listen")
    assert seen == [sorted([keep.pk, gone.pk])] * 2


def test_decide_not_duplicate_and_permissions(city: City) -> None:
    keep, gone = _two(city)
    pair = DuplicatePair.objects.create(first=keep, second=gone, reason="phone")
    with pytest.raises(NotPermitted):
        merging.decide_pair(city.users["operator_a"], pair, "not_duplicate")
    with pytest.raises(NotPermitted):
        merging.merge(city.users["volunteer_a1"], pair)
    with pytest.raises(InvalidInput):
        merging.decide_pair(city.users["committee_a1"], pair, "maybe")
    merging.decide_pair(city.users["committee_a1"], pair, "not_duplicate")
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.NOT_DUPLICATE
    assert AuditEntry.objects.filter(action="person.not_duplicate").count() == 1
    with pytest.raises(InvalidInput):
        merging.decide_pair(city.users["committee_a1"], pair, "not_duplicate")


def test_a_worker_cannot_merge_records_outside_their_area(city: City) -> None:
    from gridguard.core.errors import OutOfScope

    keep = factories.person(city["compound_b1"], name="王芳")
    gone = factories.person(city["compound_b1"], id_type="passport", id_number="E7654321")
    with pytest.raises(OutOfScope):
        merging.merge(city.users["committee_a1"], (keep, gone))
    assert not PersonMerge.objects.exists()
