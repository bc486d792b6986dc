"""Issuing, signing, revoking passes and rotating or withdrawing street keys (A1)."""

from __future__ import annotations

import datetime as dt

import pytest

from gridguard.access import credential
from gridguard.access.models import EntryPass, PassStatus, SigningKey
from gridguard.access.services import keys, passes
from gridguard.accounts import services as accounts
from gridguard.core import clock
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from tests import factories
from tests.conftest import PASSWORD, City


def _trust() -> credential.TrustList:
    return keys.trust_list()


def _issue(city: City, **extra: object) -> EntryPass:
    now = clock.now()
    fields: dict[str, object] = {
        "kind": "resident",
        "valid_from": now,
        "valid_until": now + dt.timedelta(days=30),
    }
    fields.update(extra)
    compound = city["compound_a1"]
    return passes.issue_pass(
        city.users["committee_a1"], factories.person(compound, "王小芳"), compound, **fields
    )


def _now() -> int:
    return int(clock.now().timestamp())


def test_an_issued_pass_verifies_and_carries_no_id_number(city: City) -> None:
    entry_pass = _issue(city, gates=[city["gate_a1"]])
    assert entry_pass.status == PassStatus.ACTIVE
    assert entry_pass.credential.startswith("GG1:")
    verdict = credential.verify(
        entry_pass.credential,
        _trust(),
        now=_now(),
        compound=city["compound_a1"].code,
        gate=city["gate_a1"].code,
    )
    assert verdict.ok, verdict
    assert verdict.claims is not None
    assert verdict.claims.pass_id == entry_pass.pass_id
    assert verdict.claims.masked_name == "王*芳"
    assert verdict.claims.issuer == city["street_a"].code
    _kid, claims = credential.decode_unverified(entry_pass.credential)
    assert entry_pass.person.id_number not in repr(claims)
    assert AuditEntry.objects.filter(action="access.pass.issue").count() == 1


def test_bad_pass_input_names_the_field_and_writes_nothing(city: City) -> None:
    now = clock.now()
    with pytest.raises(InvalidInput) as caught:
        _issue(city, valid_from=now, valid_until=now - dt.timedelta(hours=1))
    assert caught.value.by_field().keys() >= {"valid_until"}
    with pytest.raises(InvalidInput) as caught:
        _issue(city, kind="visitor", valid_until=now + dt.timedelta(days=30))
    assert "valid_until" in caught.value.by_field()
    with pytest.raises(InvalidInput) as caught:
        _issue(city, kind="tourist")
    assert "kind" in caught.value.by_field()
    with pytest.raises(InvalidInput) as caught:
        _issue(city, gates=[city["gate_b1"]])
    assert "gates" in caught.value.by_field()
    assert EntryPass.objects.count() == 0


def test_only_committee_workers_of_the_area_issue_passes(city: City) -> None:
    now = clock.now()
    compound = city["compound_a1"]
    person = factories.person(compound)
    window = {"kind": "resident", "valid_from": now, "valid_until": now + dt.timedelta(days=3)}
    with pytest.raises(OutOfScope):
        passes.issue_pass(city.users["committee_b1"], person, compound, **window)
    with pytest.raises(NotPermitted):
        passes.issue_pass(city.users["volunteer_a1"], person, compound, **window)
    assert EntryPass.objects.count() == 0


def test_revoked_pass_is_marked_and_audited_once(city: City) -> None:
    entry_pass = _issue(city)
    with pytest.raises(InvalidInput):
        passes.revoke_pass(city.users["committee_a1"], entry_pass, " ")
    done = passes.revoke_pass(city.users["committee_a1"], entry_pass, "moved out")
    again = passes.revoke_pass(city.users["committee_a1"], entry_pass, "moved out")
    assert done.status == again.status == PassStatus.REVOKED
    assert AuditEntry.objects.filter(action="access.pass.revoke").count() == 1
    verdict = credential.verify(
        entry_pass.credential, _trust(), now=_now(), revoked={entry_pass.pass_id}
    )
    assert verdict.reason == "revoked"


def test_rotation_keeps_old_passes_valid_and_signs_new_ones_with_the_new_key(
    city: City,
) -> None:
    old_pass = _issue(city)
    old_key = keys.active_key(city["street_a"])
    new_key = keys.rotate_key(city.users["admin"], city["street_a"])
    assert new_key.kid != old_key.kid
    new_pass = _issue(city)
    assert new_pass.signing_key == new_key
    trust = _trust()
    assert credential.verify(old_pass.credential, trust, now=_now()).ok
    assert credential.verify(new_pass.credential, trust, now=_now()).ok
    # Once the old key's last pass has ended, it leaves the trust list.
    later = old_pass.valid_until + dt.timedelta(minutes=1)
    assert old_key.kid not in {k.kid for k in keys.trusted_keys(later)}


def test_a_withdrawn_key_leaves_the_trust_list_and_its_passes_are_signed_again(
    city: City,
) -> None:
    entry_pass = _issue(city)
    stolen = keys.active_key(city["street_a"])
    before = entry_pass.credential
    with pytest.raises(InvalidInput):
        keys.withdraw_key(city.users["admin"], stolen, "")
    keys.withdraw_key(city.users["admin"], stolen, "scanner stolen with the key")
    trust = _trust()
    assert credential.verify(before, trust, now=_now()).reason == "unknown_key"
    entry_pass.refresh_from_db()
    assert entry_pass.credential != before
    assert credential.verify(entry_pass.credential, trust, now=_now()).ok
    assert SigningKey.objects.get(pk=stolen.pk).withdrawn_at is not None


def test_the_private_key_is_sealed_in_the_database(city: City) -> None:
    key = keys.active_key(city["street_a"])
    sealed = bytes(key.private_key_sealed)
    raw = keys.private_key(key).private_bytes_raw()
    assert raw not in sealed and len(raw) == 32


def test_key_management_needs_the_permission(city: City) -> None:
    with pytest.raises(NotPermitted):
        keys.rotate_key(city.users["operator_a"], city["street_a"])
    admin_b = accounts.create_user(
        SYSTEM,
        username="admin_street_b",
        password=PASSWORD,
        bindings=[("system_admin", city["street_b"])],
        validate=False,
    )
    with pytest.raises(OutOfScope):
        keys.rotate_key(admin_b, city["street_a"])


def test_a_pass_too_long_for_its_qr_code_is_refused_on_the_gates_field(city: City) -> None:
    from gridguard.core.scoping import SYSTEM as system
    from gridguard.territory import services as territory

    compound = city["compound_a1"]
    gates = [city["gate_a1"]] + [
        territory.create_area(
            system, code=f"{compound.code}G{n:02d}", name=f"门{n}", kind="gate", parent=compound
        )
        for n in range(2, 12)
    ]
    with pytest.raises(InvalidInput) as caught:
        _issue(city, gates=gates)
    assert "gates" in caught.value.by_field()
    assert EntryPass.objects.count() == 0
    fine = _issue(city, gates=gates[:3])  # three named gates fit easily
    assert len(fine.credential) <= credential.QR_CAPACITY
