"""Entry passes: issue, request and decide, sign, revoke (A1)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from gridguard.access import credential
from gridguard.access.models import EntryPass, PassKind, PassStatus
from gridguard.access.services.keys import active_key, private_key
from gridguard.core import audit, clock, masking
from gridguard.core.errors import FieldError, InvalidInput
from gridguard.core.scoping import require_permission_at
from gridguard.people.models import Person
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area

# Unambiguous letters and digits (no 0/O, 1/I): read aloud at a gate without mistakes.
_SERIAL_CHARS = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
MAX_DAYS = {PassKind.RESIDENT: 366, PassKind.WORKER: 92, PassKind.VISITOR: 3}


def _pass_id() -> str:
    return "".join(secrets.choice(_SERIAL_CHARS) for _ in range(10))


def _check(
    compound: Area, kind: str, valid_from: dt.datetime, valid_until: dt.datetime, gates: list[Area]
) -> None:
    errors: list[FieldError] = []
    if compound.kind != AreaKind.COMPOUND:
        errors.append(FieldError("compound", "not_compound", _("Choose a compound.")))
    if kind not in PassKind.values:
        errors.append(FieldError("kind", "invalid", _("Unknown kind of pass.")))
    if valid_until <= valid_from:
        errors.append(
            FieldError("valid_until", "before_start", _("The pass must end after it starts."))
        )
    elif kind in PassKind.values and valid_until - valid_from > dt.timedelta(
        days=MAX_DAYS[PassKind(kind)]
    ):
        errors.append(
            FieldError(
                "valid_until",
                "too_long",
                _("A pass of this kind lasts at most %(days)d days.")
                % {"days": MAX_DAYS[PassKind(kind)]},
            )
        )
    if valid_until <= clock.now():
        errors.append(FieldError("valid_until", "in_past", _("This end is in the past.")))
    for gate in gates:
        if gate.kind != AreaKind.GATE or gate.parent_id != compound.pk:
            errors.append(
                FieldError(
                    "gates",
                    "not_a_gate",
                    _("%(code)s is not a gate of this compound.") % {"code": gate.code},
                )
            )
    if errors:
        raise InvalidInput(errors)


def sign_pass(entry_pass: EntryPass) -> EntryPass:
    """(Re)sign the pass with its street's active key and keep the credential text."""
    key = active_key(entry_pass.area)
    claims = credential.PassClaims(
        pass_id=entry_pass.pass_id,
        compound=entry_pass.area.code,
        gates=tuple(sorted(g.code for g in entry_pass.gates.all())),
        masked_name=masking.mask_name(entry_pass.person.name),
        kind=entry_pass.kind,
        issuer=key.area.code,
        issued_at=int(clock.now().timestamp()),
        not_before=int(entry_pass.valid_from.timestamp()),
        expires_at=int(entry_pass.valid_until.timestamp()),
    )
    entry_pass.credential = credential.sign(claims, private_key(key))
    entry_pass.signing_key = key
    entry_pass.save(update_fields=["credential", "signing_key"])
    return entry_pass


def issue_pass(
    actor: Any,
    person: Person,
    compound: Area,
    *,
    kind: str,
    valid_from: dt.datetime,
    valid_until: dt.datetime,
    gates: Iterable[Area] = (),
    reason: str = "",
) -> EntryPass:
    """Issue an active pass for `person` at `compound` (committee worker)."""
    require_permission_at(actor, "passes.issue", compound)
    gate_list = list(gates)
    _check(compound, kind, valid_from, valid_until, gate_list)
    _name, label = audit.describe_actor(actor)
    with transaction.atomic():
        entry_pass = EntryPass.objects.create(
            area=compound,
            person=person,
            kind=kind,
            status=PassStatus.ACTIVE,
            pass_id=_pass_id(),
            valid_from=valid_from,
            valid_until=valid_until,
            reason=reason.strip()[:255],
            requested_by_id=getattr(actor, "pk", None),
            decided_at=clock.now(),
            decided_by=label[:150],
        )
        entry_pass.gates.set(gate_list)
        sign_pass(entry_pass)
        audit.record(actor, "access.pass.issue", entry_pass, detail={"kind": kind})
    return entry_pass


def revoke_pass(actor: Any, entry_pass: EntryPass, reason: str) -> EntryPass:
    """Revoke a pass: scanners refuse it once they have the new revocation list."""
    require_permission_at(actor, "passes.issue", entry_pass.area)
    if not reason.strip():
        raise InvalidInput.one("reason", "required", _("Say why the pass is revoked."))
    _name, label = audit.describe_actor(actor)
    with transaction.atomic():
        entry_pass = EntryPass.objects.select_for_update().get(pk=entry_pass.pk)
        if entry_pass.status != PassStatus.REVOKED:
            entry_pass.status = PassStatus.REVOKED
            entry_pass.revoked_at = clock.now()
            entry_pass.revoked_by = label[:150]
            entry_pass.revoke_reason = reason.strip()[:255]
            entry_pass.save(update_fields=["status", "revoked_at", "revoked_by", "revoke_reason"])
            audit.record(actor, "access.pass.revoke", entry_pass, detail={"reason": reason})
    return entry_pass
