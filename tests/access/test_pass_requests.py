"""Pass requests by residents, the committee's decision, and the phone's rotating display
credential (A1, decisions 0007 and 0008)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gridguard.access import credential
from gridguard.access.models import EntryPass, PassStatus
from gridguard.access.services import keys, passes
from gridguard.core import clock
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.core.models import AuditEntry
from gridguard.people.models import Person
from tests import factories
from tests.conftest import City

T0 = dt.datetime(2020, 2, 10, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def resident(city: City) -> Person:
    """resident_a1's person record, living in a building of compound A1."""
    return factories.person(city["building_a1"], "王小芳", user=city.users["resident_a1"])


def _ask(city: City, **extra: Any) -> EntryPass:
    now = clock.now()
    fields: dict[str, Any] = {
        "kind": "worker",
        "valid_from": now,
        "valid_until": now + dt.timedelta(days=14),
        "reason": "back to work at the supermarket",
    }
    fields.update(extra)
    compound = fields.pop("compound", city["compound_a1"])
    return passes.request_pass(city.users["resident_a1"], compound, **fields)


def _state() -> tuple[list[tuple[str, str, str]], int]:
    """Everything a refused call must leave as it was: the passes and the audit trail."""
    rows = list(EntryPass.objects.order_by("pk").values_list("pass_id", "status", "credential"))
    return rows, AuditEntry.objects.count()


def test_a_resident_asks_and_a_committee_worker_approves(city: City, resident: Person) -> None:
    asked = _ask(city)
    assert asked.status == PassStatus.REQUESTED
    assert asked.credential == "" and asked.signing_key is None
    assert asked.person == resident and asked.area == city["compound_a1"]
    assert asked.requested_by_id == city.users["resident_a1"].pk
    assert AuditEntry.objects.filter(action="access.pass.request").count() == 1

    done = passes.decide_request(city.users["committee_a1"], asked, approve=True)
    assert done.status == PassStatus.ACTIVE
    assert done.decided_by == "committee_a1" and done.decided_at is not None
    verdict = credential.verify(
        done.credential,
        keys.trust_list(),
        now=int(clock.now().timestamp()),
        compound=city["compound_a1"].code,
    )
    assert verdict.ok, verdict
    assert verdict.claims is not None and verdict.claims.kind == "worker"
    assert AuditEntry.objects.filter(action="access.pass.approve").count() == 1


def test_refusing_needs_a_reason_and_deciding_twice_is_refused(
    city: City, resident: Person
) -> None:
    asked = _ask(city)
    worker = city.users["committee_a1"]
    before = _state()
    with pytest.raises(InvalidInput) as caught:
        passes.decide_request(worker, asked, approve=False, refuse_reason="  ")
    assert "refuse_reason" in caught.value.by_field()
    assert _state() == before

    refused = passes.decide_request(worker, asked, approve=False, refuse_reason="not a resident")
    assert refused.status == PassStatus.REFUSED and refused.refuse_reason == "not a resident"
    assert refused.credential == ""
    before = _state()
    for approve in (True, False):
        with pytest.raises(InvalidInput) as caught:
            passes.decide_request(worker, asked, approve=approve, refuse_reason="again")
        assert caught.value.errors[0].code == "decided"
        assert "status" in caught.value.by_field()
    assert _state() == before
    assert AuditEntry.objects.filter(action="access.pass.refuse").count() == 1


def test_a_second_open_request_for_the_same_compound_is_refused(
    city: City, resident: Person
) -> None:
    first = _ask(city)
    before = _state()
    with pytest.raises(InvalidInput) as caught:
        _ask(city)
    assert caught.value.errors[0].code == "open_request"
    assert "compound" in caught.value.by_field()
    assert _state() == before
    # Once the first one is decided, the resident may ask again.
    passes.decide_request(city.users["committee_a1"], first, approve=False, refuse_reason="no")
    assert _ask(city).status == PassStatus.REQUESTED


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "tourist"}, "kind"),
        ({"valid_until": T0 - dt.timedelta(days=1)}, "valid_until"),  # end before start
        ({"kind": "visitor"}, "valid_until"),  # 14 days is too long for a visitor
        ({"reason": " "}, "reason"),
        ({"reason": "x" * 256}, "reason"),
    ],
)
def test_bad_requests_name_the_field_and_write_nothing(
    city: City, resident: Person, change: dict[str, Any], field: str
) -> None:
    before = _state()
    with clock.frozen(T0), pytest.raises(InvalidInput) as caught:
        _ask(city, **change)
    assert field in caught.value.by_field()
    assert _state() == before


def test_requests_only_at_ones_own_compound_and_only_by_residents(
    city: City, resident: Person
) -> None:
    before = _state()
    with pytest.raises(InvalidInput) as caught:
        _ask(city, compound=city["compound_b1"])
    assert caught.value.errors[0].code == "not_yours"
    with pytest.raises(InvalidInput) as caught:
        _ask(city, compound=city["committee_a1"])
    assert "compound" in caught.value.by_field()
    now = clock.now()
    with pytest.raises(NotPermitted):
        passes.request_pass(
            city.users["committee_a1"],
            city["compound_a1"],
            kind="resident",
            valid_from=now,
            valid_until=now + dt.timedelta(days=3),
            reason="x",
        )
    assert _state() == before


def test_a_login_without_a_person_cannot_ask(city: City) -> None:
    with pytest.raises(InvalidInput) as caught:
        _ask(city)
    assert "person" in caught.value.by_field()
    assert not EntryPass.objects.exists()


def test_only_committee_workers_of_the_compound_decide(city: City, resident: Person) -> None:
    asked = _ask(city)
    before = _state()
    with pytest.raises(OutOfScope):
        passes.decide_request(city.users["committee_b1"], asked, approve=True)
    with pytest.raises(NotPermitted):
        passes.decide_request(city.users["operator_a"], asked, approve=True)
    with pytest.raises(OutOfScope):  # a resident's binding opens nothing of the territory
        passes.decide_request(city.users["resident_a1"], asked, approve=True)
    assert _state() == before


def test_a_request_whose_end_has_passed_cannot_be_approved(city: City, resident: Person) -> None:
    with clock.frozen(T0):
        asked = _ask(city, valid_from=T0, valid_until=T0 + dt.timedelta(days=2))
    before = _state()
    with clock.frozen(T0 + dt.timedelta(days=3)), pytest.raises(InvalidInput) as caught:
        passes.decide_request(city.users["committee_a1"], asked, approve=True)
    assert "valid_until" in caught.value.by_field()
    assert _state() == before


def test_a_request_cannot_be_revoked_only_refused(city: City, resident: Person) -> None:
    asked = _ask(city)
    before = _state()
    with pytest.raises(InvalidInput) as caught:
        passes.revoke_pass(city.users["committee_a1"], asked, "moved out")
    assert "status" in caught.value.by_field()
    assert _state() == before


# --------------------------------------------------------------------------- display credential


def _active(city: City, resident: Person, **extra: Any) -> EntryPass:
    fields: dict[str, Any] = {
        "kind": "resident",
        "valid_from": clock.now() - dt.timedelta(days=1),
        "valid_until": clock.now() + dt.timedelta(days=30),
        "gates": [city["gate_a1"]],
    }
    fields.update(extra)
    return passes.issue_pass(city.users["committee_a1"], resident, city["compound_a1"], **fields)


def test_the_display_credential_is_short_lived_and_verifies(city: City, resident: Person) -> None:
    entry_pass = _active(city, resident)
    now = clock.now().replace(microsecond=0)
    text = passes.display_credential(entry_pass, now)
    stamp = int(now.timestamp())
    verdict = credential.verify(
        text, keys.trust_list(), now=stamp, compound=city["compound_a1"].code
    )
    assert verdict.ok, verdict
    claims = verdict.claims
    assert claims is not None
    assert claims.pass_id == entry_pass.pass_id and claims.gates == (city["gate_a1"].code,)
    assert claims.issued_at == claims.not_before == stamp
    assert claims.expires_at == stamp + credential.DISPLAY_LIFETIME
    assert claims.masked_name == "王*芳"
    assert text != entry_pass.credential
    # 30 s later the display is another text; the first one dies soon after its 120 s.
    assert passes.display_credential(entry_pass, now + dt.timedelta(seconds=30)) != text
    late = stamp + credential.DISPLAY_LIFETIME + credential.DISPLAY_SKEW
    assert credential.verify(text, keys.trust_list(), now=late).reason == "expired"
    # The stored card credential is still good then (it lives as long as the pass).
    assert credential.verify(entry_pass.credential, keys.trust_list(), now=late).ok


def test_the_display_credential_ends_with_the_pass_and_is_revocable(
    city: City, resident: Person
) -> None:
    now = clock.now().replace(microsecond=0)
    entry_pass = _active(city, resident, valid_until=now + dt.timedelta(seconds=50))
    _kid, claims = credential.decode_unverified(passes.display_credential(entry_pass, now))
    assert claims.expires_at == int(entry_pass.valid_until.timestamp())
    text = passes.display_credential(entry_pass, now)
    verdict = credential.verify(
        text, keys.trust_list(), now=int(now.timestamp()), revoked={entry_pass.pass_id}
    )
    assert verdict.reason == "revoked"


def test_a_pass_starting_later_shows_from_its_start(city: City, resident: Person) -> None:
    now = clock.now().replace(microsecond=0)
    soon = _active(city, resident, valid_from=now + dt.timedelta(seconds=60))
    _kid, claims = credential.decode_unverified(passes.display_credential(soon, now))
    assert claims.not_before == int(now.timestamp()) + 60
    later = _active(city, resident, valid_from=now + dt.timedelta(days=2))
    with pytest.raises(InvalidInput) as caught:
        passes.display_credential(later, now)
    assert caught.value.errors[0].code == "not_yet_valid"


def test_no_display_for_a_pass_that_is_not_active(city: City, resident: Person) -> None:
    entry_pass = _active(city, resident)
    with pytest.raises(InvalidInput) as caught:
        passes.display_credential(entry_pass, entry_pass.valid_until)
    assert caught.value.errors[0].code == "expired"
    passes.revoke_pass(city.users["committee_a1"], entry_pass, "moved out")
    entry_pass.refresh_from_db()
    with pytest.raises(InvalidInput) as caught:
        passes.display_credential(entry_pass)
    assert caught.value.errors[0].code == "not_active" and "pass" in caught.value.by_field()
    asked = _ask(city)
    with pytest.raises(InvalidInput):
        passes.display_credential(asked)


def test_the_display_uses_the_streets_current_key(city: City, resident: Person) -> None:
    entry_pass = _active(city, resident)
    old = keys.active_key(city["street_a"])
    new = keys.rotate_key(city.users["admin"], city["street_a"])
    kid, _claims = credential.decode_unverified(passes.display_credential(entry_pass))
    assert kid.hex() == new.kid != old.kid


def test_a_pass_may_not_start_years_ahead(city: City, resident: Person) -> None:
    far = clock.now() + dt.timedelta(days=400)
    with pytest.raises(InvalidInput) as caught:
        _active(city, resident, valid_from=far, valid_until=far + dt.timedelta(days=1))
    assert "valid_from" in caught.value.by_field()
    assert not EntryPass.objects.exists()
