"""Entry passes: issue, request and decide, sign, revoke, and the phone's rotating display (A1).

Every write is one transaction with its audit row; bad input raises InvalidInput naming the
field and writes nothing. Decision 0007 (format and keys), 0008 (display credentials).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from gridguard.access import credential
from gridguard.access.models import EntryPass, PassKind, PassStatus
from gridguard.access.services.keys import active_key, private_key
from gridguard.core import audit, clock, masking
from gridguard.core.errors import FieldError, InvalidInput
from gridguard.core.scoping import require_permission, require_permission_at
from gridguard.people.models import Person
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area

# Unambiguous letters and digits (no 0/O, 1/I): read aloud at a gate without mistakes.
_SERIAL_CHARS = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
MAX_DAYS = {PassKind.RESIDENT: 366, PassKind.WORKER: 92, PassKind.VISITOR: 3}
# How far ahead a pass may start: passes are planned weeks ahead, not years (and a far-future
# start is nearly always a typing mistake in the year).
MAX_START_AHEAD = dt.timedelta(days=366)
MAX_REASON = 255


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
    if valid_from > clock.now() + MAX_START_AHEAD:
        errors.append(
            FieldError(
                "valid_from",
                "too_far",
                _("A pass may start at most %(days)d days from now.")
                % {"days": MAX_START_AHEAD.days},
            )
        )
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


def _claims(
    entry_pass: EntryPass, issuer: str, *, issued_at: int, not_before: int, expires_at: int
) -> credential.PassClaims:
    return credential.PassClaims(
        pass_id=entry_pass.pass_id,
        compound=entry_pass.area.code,
        gates=tuple(sorted(g.code for g in entry_pass.gates.all())),
        masked_name=masking.mask_name(entry_pass.person.name),
        kind=entry_pass.kind,
        issuer=issuer,
        issued_at=issued_at,
        not_before=not_before,
        expires_at=expires_at,
    )


def sign_pass(entry_pass: EntryPass) -> EntryPass:
    """(Re)sign the pass with its street's active key and keep the credential text."""
    key = active_key(entry_pass.area)
    claims = _claims(
        entry_pass,
        key.area.code,
        issued_at=int(clock.now().timestamp()),
        not_before=int(entry_pass.valid_from.timestamp()),
        expires_at=int(entry_pass.valid_until.timestamp()),
    )
    text = credential.sign(claims, private_key(key))
    if len(text) > credential.QR_CAPACITY:
        # Only a long list of gates makes a pass this long (decision 0007): the QR must stay
        # readable by cheap phone cameras at version 10, level M.
        raise InvalidInput.one(
            "gates",
            "too_many",
            _("Too many gates for one pass: choose fewer, or none for every gate."),
        )
    entry_pass.credential = text
    entry_pass.signing_key = key
    entry_pass.save(update_fields=["credential", "signing_key"])
    return entry_pass


def display_refresh_seconds() -> int:
    """How often a phone asks for a new display credential: 30 s, well inside its 120 s life
    (``GRIDGUARD_PASS_DISPLAY_REFRESH_S`` changes it, e.g. in tests)."""
    return int(getattr(settings, "GRIDGUARD_PASS_DISPLAY_REFRESH_S", 30))


def display_credential(entry_pass: EntryPass, now: dt.datetime | None = None) -> str:
    """A short-lived credential for the holder's phone screen (the "30 s rotating display").

    Same GG1 format and pass number as the stored credential, signed now with the street's
    active key, valid from ``max(valid_from, now)`` to ``min(valid_until, now +
    DISPLAY_LIFETIME)``. Scanners give such a credential only ``DISPLAY_SKEW`` of grace past
    its end, so a screenshot stops working within about 2½ minutes (decision 0008). Nothing is
    written. InvalidInput ("pass") unless the pass is active and can be shown now.
    """
    at = now or clock.now()
    if entry_pass.status != PassStatus.ACTIVE:
        raise InvalidInput.one("pass", "not_active", _("This pass is not active."))
    if entry_pass.valid_until <= at:
        raise InvalidInput.one("pass", "expired", _("This pass has expired."))
    stamp = int(at.timestamp())
    not_before = max(int(entry_pass.valid_from.timestamp()), stamp)
    expires_at = min(int(entry_pass.valid_until.timestamp()), stamp + credential.DISPLAY_LIFETIME)
    if expires_at <= not_before:
        # The pass starts later than a display credential made now would live.
        raise InvalidInput.one("pass", "not_yet_valid", _("This pass is not valid yet."))
    key = active_key(entry_pass.area)
    claims = _claims(
        entry_pass, key.area.code, issued_at=stamp, not_before=not_before, expires_at=expires_at
    )
    return credential.sign(claims, private_key(key))


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
    if len(reason.strip()) > MAX_REASON:
        raise InvalidInput.one(
            "reason", "too_long", _("At most %(n)d characters.") % {"n": MAX_REASON}
        )
    _name, label = audit.describe_actor(actor)
    with transaction.atomic():
        entry_pass = EntryPass.objects.select_for_update().get(pk=entry_pass.pk)
        if entry_pass.status in (PassStatus.REQUESTED, PassStatus.REFUSED):
            # A request is refused, not revoked: it never had a credential to withdraw.
            raise InvalidInput.one("status", "not_active", _("Only an active pass can be revoked."))
        if entry_pass.status != PassStatus.REVOKED:
            entry_pass.status = PassStatus.REVOKED
            entry_pass.revoked_at = clock.now()
            entry_pass.revoked_by = label[:150]
            entry_pass.revoke_reason = reason.strip()[:255]
            entry_pass.save(update_fields=["status", "revoked_at", "revoked_by", "revoke_reason"])
            audit.record(
                actor, "access.pass.revoke", entry_pass, detail={"reason": entry_pass.revoke_reason}
            )
    return entry_pass


def request_pass(
    user: Any,
    compound: Area,
    *,
    kind: str,
    valid_from: dt.datetime,
    valid_until: dt.datetime,
    reason: str,
) -> EntryPass:
    """A resident asks for a pass at their own compound; a committee worker decides it.

    The login must be linked to a person (``Person.user``) who lives in `compound`, or the
    resident's role must be bound to it. The pass is ``requested`` and carries no credential
    until approved. A second open request for the same compound is refused.
    """
    require_permission(user, "passes.request")
    person = Person.objects.select_related("area").filter(user=user).first()
    if person is None:
        raise InvalidInput.one(
            "person",
            "not_linked",
            _(
                "Your login is not linked to a person record yet. Ask your neighbourhood "
                "committee to link it."
            ),
        )
    own = person.area.path.startswith(compound.path) or user.can_at("passes.request", compound.path)
    errors: list[FieldError] = []
    if compound.kind == AreaKind.COMPOUND and not own:
        errors.append(
            FieldError(
                "compound", "not_yours", _("You can ask for a pass only at your own compound.")
            )
        )
    text = (reason or "").strip()
    if not text:
        errors.append(
            FieldError("reason", "required", _("Say why you need the pass (e.g. your work)."))
        )
    elif len(text) > MAX_REASON:
        errors.append(
            FieldError(
                "reason",
                "too_long",
                _("At most %(n)d characters.") % {"n": MAX_REASON},
            )
        )
    try:
        _check(compound, kind, valid_from, valid_until, [])
    except InvalidInput as exc:
        errors = exc.errors + errors
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        # Lock the person: two requests sent at once (a double tap) must not both pass the
        # "no open request" check.
        Person.objects.select_for_update().filter(pk=person.pk).first()
        if EntryPass.objects.filter(
            person=person, area=compound, status=PassStatus.REQUESTED
        ).exists():
            raise InvalidInput.one(
                "compound",
                "open_request",
                _(
                    "You already have a request for this compound waiting for a decision. "
                    "Wait for it, or ask your committee."
                ),
            )
        entry_pass = EntryPass.objects.create(
            area=compound,
            person=person,
            kind=kind,
            status=PassStatus.REQUESTED,
            pass_id=_pass_id(),
            valid_from=valid_from,
            valid_until=valid_until,
            reason=text,
            requested_at=clock.now(),
            requested_by_id=getattr(user, "pk", None),
        )
        audit.record(user, "access.pass.request", entry_pass, detail={"kind": kind})
    return entry_pass


def decide_request(
    actor: Any, entry_pass: EntryPass, *, approve: bool, refuse_reason: str = ""
) -> EntryPass:
    """Approve a requested pass (it becomes active and is signed) or refuse it with a reason.

    Committee workers only ("passes.issue" at the compound). A request decided already, or
    one whose dates no longer make a valid pass, is refused with InvalidInput.
    """
    require_permission_at(actor, "passes.issue", entry_pass.area)
    _name, label = audit.describe_actor(actor)
    text = (refuse_reason or "").strip()
    with transaction.atomic():
        entry_pass = (
            EntryPass.objects.select_for_update()
            .select_related("person", "area")
            .get(pk=entry_pass.pk)
        )
        if entry_pass.status != PassStatus.REQUESTED:
            raise InvalidInput.one(
                "status",
                "decided",
                _("This request has been decided already (%(status)s).")
                % {"status": entry_pass.get_status_display()},
            )
        if approve:
            _check(
                entry_pass.area,
                entry_pass.kind,
                entry_pass.valid_from,
                entry_pass.valid_until,
                list(entry_pass.gates.all()),
            )
            entry_pass.status = PassStatus.ACTIVE
        else:
            if not text:
                raise InvalidInput.one(
                    "refuse_reason", "required", _("Say why the request is refused.")
                )
            if len(text) > MAX_REASON:
                raise InvalidInput.one(
                    "refuse_reason", "too_long", _("At most %(n)d characters.") % {"n": MAX_REASON}
                )
            entry_pass.status = PassStatus.REFUSED
            entry_pass.refuse_reason = text
        entry_pass.decided_at = clock.now()
        entry_pass.decided_by = label[:150]
        entry_pass.save(update_fields=["status", "refuse_reason", "decided_at", "decided_by"])
        if approve:
            sign_pass(entry_pass)
            audit.record(actor, "access.pass.approve", entry_pass, detail={"kind": entry_pass.kind})
        else:
            audit.record(actor, "access.pass.refuse", entry_pass, detail={"reason": text})
    return entry_pass
